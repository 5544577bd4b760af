{#- A model's SELECT of one output (materialized table or view). -#}
{% macro default__select_output(name, inputs, params, output) %}
  {%- set sql -%}
with terraplan_call as (
  select {{ adapter.dispatch('call_expression', 'terraplan')(name, inputs, params) }} as doc
)
{{ adapter.dispatch('unpack', 'terraplan')(name, output, params, 'terraplan_call') }}
  {%- endset -%}
  {{ return(sql) }}
{% endmacro %}

{% macro snowflake__select_output(name, inputs, params, output) %}
  {{ exceptions.raise_compiler_error("terraplan." ~ name ~ " on Snowflake runs as the stored procedure that "
     ~ "`terraplan deploy snowflake` creates, which writes tables: use config(materialized='terraplan_alignment') "
     ~ "for this model") }}
{% endmacro %}


{#- What a terraplan_alignment model compiles to: blocks the materialization runs in
    turn, each opened by a line `-- terraplan:<kind>`:
      component  the component and output (for the run log)
      input      a statement run first (Snowflake: a view over a subquery input)
      solve      the solve: a SELECT of one `doc` column (packed-JSON warehouses) or a CALL
      unpack     the output's rows from the staged answer (__terraplan_doc__)
    so `dbt compile` shows exactly what will run. -#}
{% macro solve_sql(name, inputs, params, output, fingerprint=none) %}
  {%- set sql = adapter.dispatch('solve_sql', 'terraplan')(name, inputs, params, output) -%}
  {%- if fingerprint is not none -%}
    {%- set sql = sql ~ '\n-- terraplan:fingerprint\n' ~ fingerprint -%}
  {%- endif -%}
  {{ return(sql) }}
{% endmacro %}


{#- One text that changes when an input table's rows or the call change: a row count and
    an order-independent hash per input (the original tables, before the previous version
    is joined in), then the parameters and the rebalance settings. A terraplan_alignment
    model whose fingerprint equals its last published one is not solved again. -#}
{% macro fingerprint_sql(name, inputs, params) %}
  {%- set parts = [] -%}
  {%- for t in terraplan.component_spec(name).inputs -%}
    {%- if inputs.get(t.name) is none -%}{%- do parts.append("'-'") -%}
    {%- else -%}{%- do parts.append(adapter.dispatch('table_hash', 'terraplan')(inputs[t.name])) -%}{%- endif -%}
  {%- endfor -%}
  {%- do parts.append(terraplan.params_literal(params)) -%}
  {%- do parts.append(terraplan.string_literal(tojson(config.get('rebalance', {}), sort_keys=true))) -%}
  {{ return('select ' ~ parts | join(" || '|' || ") ~ ' as fingerprint') }}
{% endmacro %}

{% macro duckdb__table_hash(relation) %}
  {{ return("(select cast(count(*) as varchar) || ':' || cast(coalesce(sum(hash(t)), 0) as varchar) from " ~ relation ~ " as t)") }}
{% endmacro %}
{% macro snowflake__table_hash(relation) %}
  {{ return("(select to_varchar(count(*)) || ':' || to_varchar(hash_agg(*)) from " ~ relation ~ ")") }}
{% endmacro %}
{% macro bigquery__table_hash(relation) %}
  {{ return("(select format('%d:%d', count(*), coalesce(bit_xor(farm_fingerprint(to_json_string(t))), 0)) from " ~ relation ~ " as t)") }}
{% endmacro %}
{% macro databricks__table_hash(relation) %}
  {{ return("(select concat(cast(count(*) as string), ':', cast(coalesce(bit_xor(xxhash64(struct(t.*))), 0) as string)) from " ~ relation ~ " as t)") }}
{% endmacro %}
{% macro spark__table_hash(relation) %}{{ return(terraplan.databricks__table_hash(relation)) }}{% endmacro %}
{#- Redshift packs at most 64 KB per table anyway: the packed text's md5 (row order
    may change it, which only costs a solve that was not needed). -#}
{% macro redshift__table_hash(relation) %}
  {{ return('md5(' ~ terraplan.redshift__pack(relation) ~ ')') }}
{% endmacro %}

{% macro default__solve_sql(name, inputs, params, output) %}
  {%- set sql -%}
-- terraplan:component {{ name }} {{ output }}
-- terraplan:solve
select {{ adapter.dispatch('call_expression', 'terraplan')(name, inputs, params) }} as doc
-- terraplan:unpack
{{ adapter.dispatch('unpack', 'terraplan')(name, output, params, '__terraplan_doc__') }}
  {%- endset -%}
  {{ return(sql) }}
{% endmacro %}


{#- Snowflake: CALL <schema>.<COMPONENT>('<input>', ..., '<output stage>', NULL, ...,
    PARSE_JSON('<params>')); the procedure reads the tables by name, so an input given as
    a subquery (the previous version joined in) becomes a view first. -#}
{% macro snowflake__solve_sql(name, inputs, params, output) %}
  {%- set comp = terraplan.component_spec(name) -%}
  {%- set views = [] -%}
  {%- set args = [] -%}
  {%- for t in comp.inputs -%}
    {%- set rel = inputs.get(t.name) -%}
    {%- if rel is none -%}
      {%- do args.append('NULL') -%}
    {%- else -%}
      {%- set text = rel | string | trim -%}
      {%- if text.startswith('(') -%}
        {%- set view = this.incorporate(path={'identifier': this.identifier ~ '__terraplan_' ~ t.name}, type='view') -%}
        {%- do views.append('create or replace temporary view ' ~ view ~ ' as ' ~ text[1:-1]) -%}
        {%- set text = view | string -%}
      {%- endif -%}
      {%- do args.append(terraplan.string_literal(text)) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- for o in comp.outputs -%}
    {%- do args.append('__terraplan_stage__' if o.name == output else 'NULL') -%}
  {%- endfor -%}
  {%- do args.append('parse_json(' ~ terraplan.params_literal(params) ~ ')') -%}
  {%- set sql -%}
-- terraplan:component {{ name }} {{ output }}
{%- for v in views %}
-- terraplan:input
{{ v }}
{%- endfor %}
-- terraplan:solve
call {{ terraplan.deployed(name.upper(), 'TERRAPLAN') }}(
    {{ args | join(',\n    ') }})
  {%- endset -%}
  {{ return(sql) }}
{% endmacro %}


{#- The staged answer's error text, status and report (one row), per warehouse. -#}
{% macro doc_summary_sql(doc) %}{{ return(adapter.dispatch('doc_summary_sql', 'terraplan')(doc)) }}{% endmacro %}

{% macro duckdb__doc_summary_sql(doc) %}
  {{ return("select json_extract_string(doc, '$.error') as error, json_extract_string(doc, '$.report.status') as status, "
            ~ "json_extract(doc, '$.report')::varchar as report from " ~ doc) }}
{% endmacro %}

{% macro bigquery__doc_summary_sql(doc) %}
  {{ return("select json_value(doc, '$.error') as error, json_value(doc, '$.report.status') as status, "
            ~ "to_json_string(json_query(doc, '$.report')) as report from " ~ doc) }}
{% endmacro %}

{% macro databricks__doc_summary_sql(doc) %}
  {{ return("select get_json_object(doc, '$.error') as error, get_json_object(doc, '$.report.status') as status, "
            ~ "get_json_object(doc, '$.report') as report from " ~ doc) }}
{% endmacro %}
{% macro spark__doc_summary_sql(doc) %}{{ return(terraplan.databricks__doc_summary_sql(doc)) }}{% endmacro %}

{% macro redshift__doc_summary_sql(doc) %}
  {{ return("select c.doc.error::varchar as error, c.doc.report.status::varchar as status, "
            ~ "json_serialize(c.doc.report) as report from " ~ doc ~ " as c") }}
{% endmacro %}

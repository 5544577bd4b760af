{#- Databricks SQL: the Unity Catalog Python function <catalog>.<schema>.<component> that
    `terraplan deploy databricks` creates (udfs/spark/ddl.py): packed JSON in and out. -#}

{% macro databricks__pack(relation) %}{{ return('(select to_json(collect_list(struct(t.*))) from ' ~ relation ~ ' as t)') }}{% endmacro %}

{% macro databricks__call_expression(name, inputs, params) %}
  {%- set fn = terraplan.deployed(name, 'terraplan', 'main') -%}
  {{ return(fn ~ '(\n    ' ~ terraplan.call_arguments(name, inputs, params, terraplan.databricks__pack) ~ ')') }}
{% endmacro %}

{% macro databricks__unpack(name, output, params, source) %}
  {%- set types = {'string': 'string', 'double': 'double', 'bigint': 'bigint', 'boolean': 'boolean'} -%}
  {%- set fields = [] -%}
  {%- set cols = [] -%}
  {%- for column, kind in terraplan.output_columns(name, output, params) -%}
    {%- do fields.append(terraplan.quote(column) ~ ': ' ~ types[kind]) -%}
    {%- do cols.append('r.' ~ terraplan.quote(column)) -%}
  {%- endfor -%}
  {%- set sql -%}
select {{ cols | join(', ') }}
from (
  select explode(from_json(get_json_object(doc, {{ terraplan.string_literal('$.tables.' ~ output) }}),
                           {{ terraplan.string_literal('array<struct<' ~ fields | join(', ') ~ '>>') }})) as r
  from {{ source }}
  where case when get_json_object(doc, '$.error') is null then true
        else cast(raise_error(concat({{ terraplan.string_literal('terraplan ' ~ name ~ ': ') }}, get_json_object(doc, '$.error'))) as boolean) end
)
  {%- endset -%}
  {{ return(sql) }}
{% endmacro %}

{% macro spark__pack(relation) %}{{ return(terraplan.databricks__pack(relation)) }}{% endmacro %}
{% macro spark__call_expression(name, inputs, params) %}{{ return(terraplan.databricks__call_expression(name, inputs, params)) }}{% endmacro %}
{% macro spark__unpack(name, output, params, source) %}{{ return(terraplan.databricks__unpack(name, output, params, source)) }}{% endmacro %}

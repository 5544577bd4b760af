{#- BigQuery: the remote function `terraplan_<component>` that `terraplan deploy bigquery`
    creates (packed mode: each input as TO_JSON_STRING(ARRAY_AGG(t)), up to BigQuery's
    ~5 MB per argument; larger problems go through the CALLable procedure). -#}

{% macro bigquery__pack(relation) %}{{ return('(select to_json_string(array_agg(t)) from ' ~ relation ~ ' as t)') }}{% endmacro %}

{% macro bigquery__call_expression(name, inputs, params) %}
  {%- set fn = terraplan.deployed('terraplan_' ~ name, 'terraplan', target.get('project')) -%}
  {{ return('parse_json(' ~ fn ~ '(\n    ' ~ terraplan.call_arguments(name, inputs, params, terraplan.bigquery__pack)
            ~ '), wide_number_mode => \'round\')') }}
{% endmacro %}

{% macro bigquery__unpack(name, output, params, source) %}
  {%- set lax = {'string': 'lax_string', 'double': 'lax_float64', 'bigint': 'lax_int64', 'boolean': 'lax_bool'} -%}
  {%- set cols = [] -%}
  {%- for column, kind in terraplan.output_columns(name, output, params) -%}
    {%- do cols.append(lax[kind] ~ '(r[' ~ terraplan.string_literal(column) ~ ']) as ' ~ terraplan.quote(column)) -%}
  {%- endfor -%}
  {%- set sql -%}
select {{ cols | join(', ') }}
from {{ source }}, unnest(json_query_array(doc, {{ terraplan.string_literal('$.tables.' ~ output) }})) as r
where if(json_value(doc, '$.error') is null, true,
         error(concat({{ terraplan.string_literal('terraplan ' ~ name ~ ': ') }}, json_value(doc, '$.error'))))
  {%- endset -%}
  {{ return(sql) }}
{% endmacro %}

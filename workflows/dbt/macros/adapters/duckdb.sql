{#- DuckDB: terraplan_<component>(packed tables..., params) is a Python function on the
    connection (register it with the dbt-duckdb plugin udfs.duckdb_dbt, see the README);
    each input goes in as to_json(list(t)), the answer comes back as
    {"tables": {...}, "report": {...}} or {"error": ..., "kind": ...}. -#}

{% macro duckdb__pack(relation) %}{{ return('(select to_json(list(t)) from ' ~ relation ~ ' as t)') }}{% endmacro %}

{% macro duckdb__call_expression(name, inputs, params) %}
  {{ return('terraplan_' ~ name ~ '(\n    ' ~ terraplan.call_arguments(name, inputs, params, terraplan.duckdb__pack) ~ ')') }}
{% endmacro %}

{% macro duckdb__logical_type(kind) %}
  {{ return({'string': 'VARCHAR', 'double': 'DOUBLE', 'bigint': 'BIGINT', 'boolean': 'BOOLEAN'}[kind]) }}
{% endmacro %}

{#- One output's rows: from_json with the structure the spec gives (a constant, as
    from_json needs), unnested into typed columns; a bad input stops the query with the
    component's own message. -#}
{% macro duckdb__unpack(name, output, params, source) %}
  {%- set structure = {} -%}
  {%- set names = [] -%}
  {%- for column, kind in terraplan.output_columns(name, output, params) -%}
    {%- do structure.update({column: terraplan.duckdb__logical_type(kind)}) -%}
    {%- do names.append('r.' ~ terraplan.quote(column)) -%}
  {%- endfor -%}
  {%- set sql -%}
select {{ names | join(', ') }}
from (
  select unnest(from_json(json_extract(doc, {{ terraplan.string_literal('$.tables.' ~ output) }}),
                          {{ terraplan.string_literal('[' ~ tojson(structure) ~ ']') }})) as r
  from {{ source }}
  where case when json_extract_string(doc, '$.error') is null then true
        else error({{ terraplan.string_literal('terraplan ' ~ name ~ ': ') }} || json_extract_string(doc, '$.error')) end
)
  {%- endset -%}
  {{ return(sql) }}
{% endmacro %}

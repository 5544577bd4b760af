{#- Redshift: the Lambda external function <schema>.f_<component> that `terraplan deploy
    redshift` creates. Redshift has no row-to-JSON for a whole row, so each input is
    packed from its columns (read with adapter.get_columns_in_relation) with OBJECT and
    JSON_SERIALIZE, joined by LISTAGG: 64 KB per table and per answer (VARCHAR's limit),
    regional problems of a few hundred units. -#}

{% macro redshift__pack(relation) %}
  {%- set parts = [] -%}
  {%- if relation is mapping -%}{#- a subquery with its columns (redshift__current_input) -#}
    {%- set names = relation.columns -%}
    {%- set relation = relation.sql -%}
  {%- else -%}
    {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
  {%- endif -%}
  {%- for name in names -%}
    {%- do parts.append(terraplan.string_literal(name) ~ ', t.' ~ terraplan.quote(name)) -%}
  {%- endfor -%}
  {%- if not parts and execute -%}
    {{ exceptions.raise_compiler_error("terraplan: " ~ relation ~ " has no columns (or does not exist)") }}
  {%- endif -%}
  {{ return("(select '[' || listagg(json_serialize(object(" ~ parts | join(', ') ~ ")), ',') || ']' from "
            ~ relation ~ " as t)") }}
{% endmacro %}

{% macro redshift__call_expression(name, inputs, params) %}
  {%- set fn = terraplan.deployed('f_' ~ name, 'terraplan') -%}
  {{ return('json_parse(' ~ fn ~ '(\n    ' ~ terraplan.call_arguments(name, inputs, params, terraplan.redshift__pack) ~ '))') }}
{% endmacro %}

{#- PartiQL over the answer; a bad input leaves no rows here: the terraplan_alignment
    materialization reads $.error and fails the node with it. -#}
{% macro redshift__unpack(name, output, params, source) %}
  {%- set types = {'string': 'varchar(65535)', 'double': 'double precision', 'bigint': 'bigint', 'boolean': 'boolean'} -%}
  {%- set cols = [] -%}
  {%- for column, kind in terraplan.output_columns(name, output, params) -%}
    {%- do cols.append('r.' ~ terraplan.quote(column) ~ '::' ~ types[kind] ~ ' as ' ~ terraplan.quote(column)) -%}
  {%- endfor -%}
  {%- set sql -%}
select {{ cols | join(', ') }}
from {{ source }} as c, c.doc.tables.{{ terraplan.quote(output) }} as r
  {%- endset -%}
  {{ return(sql) }}
{% endmacro %}

{#- The previous version joined in, with its column list (for the packing above). -#}
{% macro redshift__current_input(relation, previous, id, column) %}
  {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
  {{ return({'sql': terraplan.default__current_input(relation, previous, id, column), 'columns': names + [column]}) }}
{% endmacro %}

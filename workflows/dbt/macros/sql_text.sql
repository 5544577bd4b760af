{#- Names and literals, per warehouse: every user-supplied identifier or text that reaches
    SQL goes through one of these (the same rules sqlglot applies when it renders for the
    dialect; the golden tests parse the output back with sqlglot). -#}

{% macro quote(name) %}{{ return(adapter.dispatch('quote', 'terraplan')(name ~ '')) }}{% endmacro %}

{% macro default__quote(name) %}{{ return('"' ~ name.replace('"', '""') ~ '"') }}{% endmacro %}

{#- Snowflake stores unquoted names upper case, and terraplan's procedures write their
    lower-case output columns that way (udfs/snowflake/names.py): "id" is ID there. -#}
{% macro snowflake__quote(name) %}
  {%- if modules.re.match('^[a-z_][a-z0-9_$]*$', name) -%}{%- set name = name.upper() -%}{%- endif -%}
  {{ return('"' ~ name.replace('"', '""') ~ '"') }}
{% endmacro %}

{% macro bigquery__quote(name) %}{{ return(terraplan.databricks__quote(name)) }}{% endmacro %}

{% macro databricks__quote(name) %}{{ return('`' ~ name.replace('`', '``') ~ '`') }}{% endmacro %}

{% macro spark__quote(name) %}{{ return(terraplan.databricks__quote(name)) }}{% endmacro %}


{% macro string_literal(text) %}{{ return(adapter.dispatch('string_literal', 'terraplan')(text ~ '')) }}{% endmacro %}

{#- DuckDB reads a backslash literally; the others take it as an escape. -#}
{% macro default__string_literal(text) %}{{ return("'" ~ text.replace('\\', '\\\\').replace("'", "\\'") ~ "'") }}{% endmacro %}

{% macro duckdb__string_literal(text) %}{{ return("'" ~ text.replace("'", "''") ~ "'") }}{% endmacro %}


{% macro string_type() %}{{ return(adapter.dispatch('string_type', 'terraplan')()) }}{% endmacro %}
{% macro default__string_type() %}{{ return('varchar') }}{% endmacro %}
{% macro bigquery__string_type() %}{{ return('string') }}{% endmacro %}
{% macro databricks__string_type() %}{{ return('string') }}{% endmacro %}
{% macro spark__string_type() %}{{ return('string') }}{% endmacro %}
{% macro redshift__string_type() %}{{ return('varchar(65535)') }}{% endmacro %}


{#- Where `terraplan deploy <warehouse>` put the functions: var('terraplan_schema') and,
    where the warehouse has one more level, var('terraplan_database'). -#}
{% macro deployed(name, schema_default, database_default=none) %}
  {%- set parts = [] -%}
  {%- set database = var('terraplan_database', database_default) -%}
  {%- if database -%}{%- do parts.append(terraplan.quote(database)) -%}{%- endif -%}
  {%- do parts.append(terraplan.quote(var('terraplan_schema', schema_default))) -%}
  {%- do parts.append(terraplan.quote(name)) -%}
  {{ return(parts | join('.')) }}
{% endmacro %}


{#- The component's function call with every input of the spec in order (NULL for one not
    given) and the parameters last: the contract of udfs/protocol.py. -#}
{% macro call_arguments(name, inputs, params, pack) %}
  {%- set args = [] -%}
  {%- for t in terraplan.component_spec(name).inputs -%}
    {%- if inputs.get(t.name) is not none -%}{%- do args.append(pack(inputs[t.name])) -%}
    {%- else -%}{%- do args.append('NULL') -%}{%- endif -%}
  {%- endfor -%}
  {%- do args.append(terraplan.params_literal(params)) -%}
  {{ return(args | join(',\n    ')) }}
{% endmacro %}

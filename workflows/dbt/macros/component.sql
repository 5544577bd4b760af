{#- The one entry point behind every generated component macro
    (terraplan.territory_balancing(...), terraplan.location_allocation(...), ...).

    In a plain model (materialized table/view) it returns a SELECT of one output table
    of the component, solved by what terraplan deploys on the warehouse (dispatched:
    duckdb, bigquery, databricks, redshift; snowflake has stored procedures only, so it
    needs the terraplan_alignment materialization).
    In a terraplan_alignment model it returns the solve itself (terraplan.solve_sql),
    which the materialization stages, checks and publishes. -#}
{% macro component(name, inputs, params={}, output=none) %}
  {%- set comp = terraplan.component_spec(name) -%}
  {%- set params = terraplan.check_params(name, params) -%}
  {%- set given = {} -%}
  {%- for t in comp.inputs -%}
    {%- set rel = inputs.get(t.name) -%}
    {%- if rel is none and t.required -%}
      {{ exceptions.raise_compiler_error("terraplan." ~ name ~ ": the '" ~ t.name ~ "' input is required; pass "
         ~ t.name ~ "=ref('...')") }}
    {%- elif rel is not none -%}
      {%- do given.update({t.name: rel}) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- set output = terraplan.check_output(name, output) -%}
  {%- if config.get('materialized') == 'terraplan_alignment' -%}
    {%- set fingerprint = terraplan.fingerprint_sql(name, given, params) -%}
    {%- set given, params = terraplan.with_current(name, given, params) -%}
    {{ return(terraplan.solve_sql(name, given, params, output, fingerprint)) }}
  {%- endif -%}
  {{ return(adapter.dispatch('select_output', 'terraplan')(name, given, params, output)) }}
{% endmacro %}


{% macro component_spec(name) %}
  {%- set specs = terraplan.spec() -%}
  {%- if name not in specs -%}
    {{ exceptions.raise_compiler_error("terraplan: unknown component '" ~ name ~ "' (components: "
       ~ (specs.keys() | list | join(', ')) ~ ")") }}
  {%- endif -%}
  {{ return(specs[name]) }}
{% endmacro %}


{#- The output to select: the spec's first one unless named. -#}
{% macro check_output(name, output) %}
  {%- set names = terraplan.component_spec(name).outputs | map(attribute='name') | list -%}
  {%- if output is none -%}{{ return(names[0]) }}{%- endif -%}
  {%- if output not in names -%}
    {{ exceptions.raise_compiler_error("terraplan." ~ name ~ ": output '" ~ output ~ "' does not exist; outputs: "
       ~ names | join(', ')) }}
  {%- endif -%}
  {{ return(output) }}
{% endmacro %}


{#- Parameters checked against the component's spec when the model compiles: unknown
    names, required ones, types, choices and ranges fail with the parameter's name, what
    it takes and what was given (the solver checks them again when it runs). -#}
{% macro check_params(name, params) %}
  {%- set known = terraplan.component_spec(name).params -%}
  {%- if params is not mapping -%}
    {{ exceptions.raise_compiler_error("terraplan." ~ name ~ ": params must be a dict, e.g. "
       ~ "params={'territories': 8, 'metrics': ['population']}; got " ~ params) }}
  {%- endif -%}
  {%- for key, value in params.items() -%}
    {%- if key not in known -%}
      {{ exceptions.raise_compiler_error("terraplan." ~ name ~ ": no parameter '" ~ key ~ "' (parameters: "
         ~ (known.keys() | list | sort | join(', ')) ~ ")") }}
    {%- endif -%}
    {%- set p = known[key] -%}
    {%- set bad = terraplan.bad_value(p, value) -%}
    {%- if value is not none and bad -%}
      {{ exceptions.raise_compiler_error("terraplan." ~ name ~ ": parameter '" ~ key ~ "' must be "
         ~ p.range ~ "; got " ~ tojson(value)) }}
    {%- endif -%}
  {%- endfor -%}
  {%- for key, p in known.items() -%}
    {%- if p.required and params.get(key) is none -%}
      {{ exceptions.raise_compiler_error("terraplan." ~ name ~ ": parameter '" ~ key ~ "' is required ("
         ~ p.help ~ ")") }}
    {%- endif -%}
  {%- endfor -%}
  {{ return(params) }}
{% endmacro %}


{% macro bad_value(p, value) %}
  {%- if value is none -%}{{ return(false) }}{%- endif -%}
  {%- set values = value if (p.type == 'list[str]' and value is sequence and value is not string) else [value] -%}
  {%- if p.type == 'list[str]' and values | length == 0 -%}{{ return(true) }}{%- endif -%}
  {%- for v in values -%}
    {%- if p.type in ('int', 'float') -%}
      {%- if v is boolean or v is not number -%}{{ return(true) }}{%- endif -%}
      {%- if p.type == 'int' and v is not integer and v != (v | int) -%}{{ return(true) }}{%- endif -%}
      {%- if p.minimum is defined and p.minimum is not none -%}
        {%- if v < p.minimum or (p.exclusive_minimum and v == p.minimum) -%}{{ return(true) }}{%- endif -%}
      {%- endif -%}
      {%- if p.maximum is defined and p.maximum is not none and v > p.maximum -%}{{ return(true) }}{%- endif -%}
    {%- elif p.type == 'bool' -%}
      {%- if v is not boolean -%}{{ return(true) }}{%- endif -%}
    {%- elif p.type in ('str', 'list[str]') -%}
      {%- if v is not string and (v is not number or v is boolean) -%}{{ return(true) }}{%- endif -%}
      {%- if p.choices is defined and p.choices and v not in p.choices -%}{{ return(true) }}{%- endif -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(false) }}
{% endmacro %}


{#- Output columns as [name, logical type], expanded the way udfs.base.output_columns
    expands the spec's templates: <coords>, <metrics>, <metric>, and columns written
    only when a parameter is set. -#}
{% macro output_columns(name, output, params) %}
  {%- set table = terraplan.component_spec(name).outputs | selectattr('name', 'equalto', output) | first -%}
  {%- set metrics = params.get('metrics') or params.get('metric') or [] -%}
  {%- if metrics is string -%}{%- set metrics = metrics.split(',') | map('trim') | reject('equalto', '') | list -%}{%- endif -%}
  {%- set out = [] -%}
  {%- for column, kind, needs in table.columns -%}
    {%- if column == '<coords>' -%}
      {%- set lonlat = params.get('lon') is not none and params.get('x') is none -%}
      {%- for c in (['lon', 'lat'] if lonlat else ['x', 'y']) -%}{%- do out.append([c, 'double']) -%}{%- endfor -%}
    {%- elif column == '<metrics>' -%}
      {%- for m in metrics -%}{%- do out.append([m ~ '', 'double']) -%}{%- endfor -%}
    {%- elif '<metric>' in column -%}
      {%- for m in metrics -%}{%- do out.append([column.replace('<metric>', m ~ ''), 'double']) -%}{%- endfor -%}
    {%- elif needs is none or params.get(needs) is not none -%}
      {%- do out.append([column, kind]) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(out) }}
{% endmacro %}


{#- A terraplan_alignment model is solved again from its own previous version: for a
    component with a `current` parameter (territory_balancing), the first input gets the
    previous territory of each unit as a column and the rebalance settings become
    parameters (disruption_weight, max_moved), so a rebalance moves few units. Off with
    config(rebalance=false), `dbt build --full-refresh` or var('terraplan_fresh'). -#}
{% macro with_current(name, inputs, params) %}
  {%- set comp = terraplan.component_spec(name) -%}
  {%- set rebalance = config.get('rebalance', {}) -%}
  {%- if rebalance is none or rebalance is sameas false or 'current' not in comp.params
        or params.get('current') is not none or flags.FULL_REFRESH or var('terraplan_fresh', false) -%}
    {{ return((inputs, params)) }}
  {%- endif -%}
  {%- set previous = terraplan.previous_version() -%}
  {%- if previous is none -%}{{ return((inputs, params)) }}{%- endif -%}
  {%- set rebalance = {} if rebalance is sameas true else rebalance -%}
  {%- set first = comp.inputs[0].name -%}
  {%- set id = params.get('id') or 'id' -%}
  {%- set column = 'terraplan_current' -%}
  {%- set current = terraplan.current_input(inputs[first], previous, id, column) -%}
  {%- set new_inputs = {} -%}{%- do new_inputs.update(inputs) -%}{%- do new_inputs.update({first: current}) -%}
  {%- set new_params = {} -%}{%- do new_params.update(params) -%}
  {%- do new_params.update({'current': column,
        'disruption_weight': rebalance.get('disruption_weight', 10)}) -%}
  {%- if rebalance.get('max_moved') is not none -%}{%- do new_params.update({'max_moved': rebalance.max_moved}) -%}{%- endif -%}
  {%- set new_params = terraplan.check_params(name, new_params) -%}
  {{ return((new_inputs, new_params)) }}
{% endmacro %}


{#- The model's published version (its own table), or none on the first build. -#}
{% macro previous_version() %}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {{ return(adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier)) }}
{% endmacro %}


{#- The first input with the previous version's territory of each unit as `column`
    (NULL for units that are new). A subquery on warehouses whose function takes packed
    rows; Snowflake's procedure reads a table, so it gets a view (see snowflake.sql). -#}
{% macro current_input(relation, previous, id, column) %}
  {{ return(adapter.dispatch('current_input', 'terraplan')(relation, previous, id, column)) }}
{% endmacro %}

{% macro default__current_input(relation, previous, id, column) %}
  {%- set sql -%}
(select s.*, coalesce(p.{{ terraplan.quote('territory') }}, '(new)') as {{ terraplan.quote(column) }} from {{ relation }} as s left join {{ previous }} as p on cast(s.{{ terraplan.quote(id) }} as {{ terraplan.string_type() }}) = p.{{ terraplan.quote('id') }})
  {%- endset -%}
  {{ return(sql) }}
{% endmacro %}


{#- The parameters as one JSON text literal (sorted keys: the same call compiles to the
    same text). -#}
{% macro params_literal(params) %}
  {{ return(terraplan.string_literal(tojson(params, sort_keys=true))) }}
{% endmacro %}

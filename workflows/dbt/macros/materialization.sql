{#- terraplan_alignment: a versioned, low-disruption alignment.

    {{ config(materialized='terraplan_alignment',
              rebalance={'disruption_weight': 10, 'max_moved': 0.2},   -- or false
              accept_infeasible=false) }}
    {{ terraplan.territory_balancing(scus=ref('scus'), edges=ref('scu_edges'),
                                     params={'territories': 8, 'metrics': ['accounts']}) }}

  Each build solves into a staging table; only an answer without error whose status is
  not one of the infeasible ones (tolerance_not_met, constraint_violated, infeasible,
  no_feasible_found) replaces the model, and every published version is appended to
  <model>__history with run_id (dbt's invocation id) and run_at. Every attempt, published
  or not, is a row of <model>__runs (status, published, error, report). A failed or
  infeasible solve leaves the previous version in place and fails the node with the
  reason, unless accept_infeasible=true publishes an infeasible answer.
  From the second build on, the previous version is fed in as the current alignment
  (see terraplan.with_current). -#}
{% materialization terraplan_alignment, default %}
  {%- set target = this.incorporate(type='table') -%}
  {%- set stage = terraplan.sibling('__terraplan_stage') -%}
  {%- set doc = terraplan.sibling('__terraplan_doc') -%}
  {%- set history = terraplan.sibling('__history') -%}
  {%- set runs = terraplan.sibling('__runs') -%}
  {%- set blocks = terraplan.parse_blocks(sql) -%}
  {%- set run_at = run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') -%}
  {%- set meta = terraplan.string_literal(invocation_id) ~ ' as ' ~ terraplan.quote('run_id') ~ ', cast('
        ~ terraplan.string_literal(run_at) ~ ' as timestamp) as ' ~ terraplan.quote('run_at') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {%- for rel in [stage, doc] -%}{%- do adapter.drop_relation(rel) -%}{%- endfor -%}
  {%- set previous = load_cached_relation(this) -%}

  {#- sources unchanged since the last published version: nothing to solve -#}
  {%- set fingerprint = run_query(blocks.fingerprint).rows[0][0] if blocks.fingerprint else none -%}
  {%- if previous is not none and fingerprint is not none and not should_full_refresh()
        and not var('terraplan_fresh', false) and fingerprint == terraplan.last_fingerprint(runs) -%}
    {%- do terraplan.log_attempt(runs, blocks, {'status': 'unchanged', 'error': none, 'report': none}, false, run_at, fingerprint) -%}
    {% call statement('main') -%}
      select 0 as terraplan_published
    {%- endcall %}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {%- do adapter.commit() -%}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [target]}) }}
  {%- endif -%}

  {%- set outcome = adapter.dispatch('solve_into', 'terraplan')(blocks, stage, doc, meta) -%}
  {%- set infeasible = outcome.status in ('tolerance_not_met', 'constraint_violated', 'infeasible', 'no_feasible_found') -%}
  {%- set publish = outcome.error is none and (not infeasible or config.get('accept_infeasible', false)) -%}

  {%- if publish -%}
    {%- if previous is not none -%}{%- do adapter.drop_relation(previous) -%}{%- endif -%}
    {%- do adapter.rename_relation(stage, target) -%}
    {%- do terraplan.append_history(target, history) -%}
  {%- endif -%}
  {%- do terraplan.log_attempt(runs, blocks, outcome, publish, run_at, fingerprint) -%}
  {%- do adapter.drop_relation(doc) -%}
  {%- if not publish -%}{%- do adapter.drop_relation(stage) -%}{%- endif -%}

  {% call statement('main') -%}
    select 1 as terraplan_published
  {%- endcall %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {%- do adapter.commit() -%}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {%- if not publish -%}
    {%- set kept = ('the previous version stays in ' ~ this) if previous is not none else ('nothing was published to ' ~ this) -%}
    {%- if outcome.error is not none -%}
      {{ exceptions.raise_compiler_error("terraplan " ~ blocks.component ~ " failed: " ~ outcome.error ~ "; " ~ kept
         ~ " (attempt logged in " ~ runs ~ ")") }}
    {%- else -%}
      {{ exceptions.raise_compiler_error("terraplan " ~ blocks.component ~ " answered status '" ~ outcome.status
         ~ "' (a bound is missed: see the report in " ~ runs ~ "); " ~ kept
         ~ "; set config(accept_infeasible=true) to publish such an answer") }}
    {%- endif -%}
  {%- endif -%}
  {{ return({'relations': [target]}) }}
{% endmaterialization %}


{% macro sibling(suffix) %}
  {{ return(this.incorporate(path={'identifier': this.identifier ~ suffix}, type='table')) }}
{% endmacro %}


{#- The compiled model cut into its `-- terraplan:<kind>` blocks (see solve_sql). -#}
{% macro parse_blocks(sql) %}
  {%- set out = {'component': none, 'output': none, 'input': [], 'solve': none, 'unpack': none,
                 'fingerprint': none} -%}
  {%- for chunk in ('\n' ~ sql).split('\n-- terraplan:')[1:] -%}
    {%- set lines = chunk.split('\n') -%}
    {%- set head = lines[0].strip().split(' ') -%}
    {%- set body = lines[1:] | join('\n') | trim -%}
    {%- if head[0] == 'component' -%}
      {%- do out.update({'component': head[1], 'output': head[2]}) -%}
    {%- elif head[0] == 'input' -%}
      {%- do out.input.append(body) -%}
    {%- elif head[0] in ('solve', 'unpack', 'fingerprint') -%}
      {%- do out.update({head[0]: body}) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if out.solve is none or out.component is none -%}
    {{ exceptions.raise_compiler_error("a terraplan_alignment model is one terraplan component call, e.g. "
       ~ "{{ terraplan.territory_balancing(scus=ref('scus'), params={...}) }}; " ~ this ~ " compiled to something else") }}
  {%- endif -%}
  {{ return(out) }}
{% endmacro %}


{#- Packed-JSON warehouses: the answer is staged as one `doc` row, read for its error and
    status, and only an answer without error is unpacked into the staging table. -#}
{% macro default__solve_into(blocks, stage, doc, meta) %}
  {%- for statement_sql in blocks.input -%}{%- do run_query(statement_sql) -%}{%- endfor -%}
  {% call statement('terraplan_solve') -%}
    {{ get_create_table_as_sql(False, doc, blocks.solve) }}
  {%- endcall %}
  {%- set row = run_query(terraplan.doc_summary_sql(doc)).rows[0] -%}
  {%- set outcome = {'error': row[0], 'status': row[1], 'report': row[2]} -%}
  {%- if row[0] is none -%}
    {% call statement('terraplan_unpack') -%}
      {{ get_create_table_as_sql(False, stage, 'select ' ~ meta ~ ', u.* from (\n'
         ~ blocks.unpack.replace('__terraplan_doc__', doc | string) ~ '\n) as u') }}
    {%- endcall %}
  {%- endif -%}
  {{ return(outcome) }}
{% endmacro %}


{#- Snowflake: the procedure writes the output itself (stamped with its own RUN_ID) and
    returns a summary; a bad input raises inside the CALL, which fails the node before
    anything is replaced. -#}
{% macro snowflake__solve_into(blocks, stage, doc, meta) %}
  {%- for statement_sql in blocks.input -%}{%- do run_query(statement_sql) -%}{%- endfor -%}
  {%- set raw = terraplan.sibling('__terraplan_raw') -%}
  {%- set result = run_query(blocks.solve.replace('__terraplan_stage__', terraplan.string_literal(raw | string))) -%}
  {%- set summary = result.rows[0][0] -%}
  {%- set summary = fromjson(summary) if summary is string else summary -%}
  {%- set report = summary.get('report', {}) -%}
  {% call statement('terraplan_unpack') -%}
    {{ get_create_table_as_sql(False, stage, 'select ' ~ meta ~ ', r.* exclude ("RUN_ID") from ' ~ raw ~ ' as r') }}
  {%- endcall %}
  {%- do adapter.drop_relation(raw) -%}
  {{ return({'error': none, 'status': report.get('status'), 'report': tojson(report)}) }}
{% endmacro %}


{#- Every published version, in order: the history grows any new column (a metric added
    later) and keeps old ones. -#}
{% macro append_history(target, history) %}
  {%- set existing = load_cached_relation(history) or adapter.get_relation(history.database, history.schema, history.identifier) -%}
  {%- if existing is none -%}
    {% call statement('terraplan_history') -%}
      {{ get_create_table_as_sql(False, history, 'select * from ' ~ target) }}
    {%- endcall %}
    {{ return(none) }}
  {%- endif -%}
  {%- set have = adapter.get_columns_in_relation(existing) | map(attribute='name') | map('lower') | list -%}
  {%- set columns = adapter.get_columns_in_relation(target) -%}
  {%- set add = [] -%}
  {%- for c in columns -%}{%- if c.name | lower not in have -%}{%- do add.append(c) -%}{%- endif -%}{%- endfor -%}
  {%- if add -%}{%- do alter_relation_add_remove_columns(existing, add, none) -%}{%- endif -%}
  {%- set names = [] -%}
  {%- for c in columns -%}{%- do names.append(adapter.quote(c.name)) -%}{%- endfor -%}
  {% call statement('terraplan_history') -%}
    insert into {{ existing }} ({{ names | join(', ') }}) select {{ names | join(', ') }} from {{ target }}
  {%- endcall %}
{% endmacro %}


{% macro log_attempt(runs, blocks, outcome, published, run_at, fingerprint=none) %}
  {%- set text = terraplan.string_type() -%}
  {%- set existing = adapter.get_relation(runs.database, runs.schema, runs.identifier) -%}
  {%- if existing is none -%}
    {% call statement('terraplan_runs_create') -%}
      create table {{ runs }} ({{ terraplan.quote('run_id') }} {{ text }}, {{ terraplan.quote('run_at') }} timestamp,
        {{ terraplan.quote('component') }} {{ text }}, {{ terraplan.quote('output') }} {{ text }},
        {{ terraplan.quote('status') }} {{ text }}, {{ terraplan.quote('published') }} boolean,
        {{ terraplan.quote('error') }} {{ text }}, {{ terraplan.quote('report') }} {{ text }},
        {{ terraplan.quote('fingerprint') }} {{ text }})
    {%- endcall %}
  {%- endif -%}
  {% call statement('terraplan_runs') -%}
    insert into {{ runs }} values ({{ terraplan.string_literal(invocation_id) }}, cast({{ terraplan.string_literal(run_at) }} as timestamp),
      {{ terraplan.string_literal(blocks.component) }}, {{ terraplan.string_literal(blocks.output) }},
      {{ terraplan.string_literal(outcome.status) if outcome.status is not none else 'null' }}, {{ 'true' if published else 'false' }},
      {{ terraplan.string_literal(outcome.error) if outcome.error is not none else 'null' }},
      {{ terraplan.string_literal(outcome.report) if outcome.report is not none else 'null' }},
      {{ terraplan.string_literal(fingerprint) if fingerprint is not none else 'null' }})
  {%- endcall %}
{% endmacro %}


{#- The fingerprint of the last published version, or none. -#}
{% macro last_fingerprint(runs) %}
  {%- if adapter.get_relation(runs.database, runs.schema, runs.identifier) is none -%}{{ return(none) }}{%- endif -%}
  {%- set rows = run_query('select ' ~ terraplan.quote('fingerprint') ~ ' from ' ~ runs ~ ' where '
        ~ terraplan.quote('published') ~ ' order by ' ~ terraplan.quote('run_at') ~ ' desc limit 1').rows -%}
  {{ return(rows[0][0] if rows else none) }}
{% endmacro %}

{#- Generic tests for an alignment (any table with a unit id and its territory). Each
    returns the failing rows, one per problem, with a `problem` column saying what is wrong.

    models:
      - name: territory_alignment
        data_tests:
          - terraplan.assigned_once: {units: ref('scus')}
          - terraplan.balanced: {units: ref('scus'), metrics: [population, accounts], tolerance: 0.05}
          - terraplan.contiguous: {edges: ref('scu_edges')}
-#}

{#- Every unit of `units` in exactly one territory, and nothing else assigned. -#}
{% test assigned_once(model, units, unit_id='id', id='id', territory='territory') %}
{%- set s = terraplan.string_type() -%}
with units as (
  select cast({{ terraplan.quote(unit_id) }} as {{ s }}) as unit from {{ units }}
),
assigned as (
  select cast({{ terraplan.quote(id) }} as {{ s }}) as unit, cast({{ terraplan.quote(territory) }} as {{ s }}) as territory from {{ model }}
),
counts as (
  select u.unit, count(a.unit) as n from units as u left join assigned as a on a.unit = u.unit group by u.unit
)
select unit, n as times_assigned, 'assigned ' || cast(n as {{ s }}) || ' times' as problem from counts where n <> 1
union all
select a.unit, 1 as times_assigned, 'not a unit of {{ units | replace("'", "") }}' as problem
from assigned as a left join units as u on u.unit = a.unit where u.unit is null
union all
select unit, 1 as times_assigned, 'no territory' as problem from assigned where territory is null
{% endtest %}


{#- Each territory's total of each metric within (1 ± tolerance) × the mean territory's
    (total / number of territories; `territories` counts empty ones too). `tolerance` is a
    number or {metric: number}. -#}
{% test balanced(model, units, metrics, tolerance=0.05, unit_id='id', id='id', territory='territory', territories=none) %}
{%- set s = terraplan.string_type() -%}
{%- set metrics = [metrics] if metrics is string else metrics -%}
with joined as (
  select cast(a.{{ terraplan.quote(territory) }} as {{ s }}) as territory
    {%- for m in metrics %}, cast(u.{{ terraplan.quote(m) }} as double precision) as m{{ loop.index }}{% endfor %}
  from {{ model }} as a
  join {{ units }} as u on cast(u.{{ terraplan.quote(unit_id) }} as {{ s }}) = cast(a.{{ terraplan.quote(id) }} as {{ s }})
),
totals as (
  select territory{% for m in metrics %}, sum(m{{ loop.index }}) as m{{ loop.index }}{% endfor %}
  from joined group by territory
),
overall as (
  select {{ territories if territories is not none else 'count(*)' }} as k
    {%- for m in metrics %}, sum(m{{ loop.index }}) as m{{ loop.index }}{% endfor %}
  from totals
)
{%- for m in metrics %}
{%- set tol = tolerance.get(m, 0.05) if tolerance is mapping else tolerance %}
{% if not loop.first %}union all
{% endif -%}
select t.territory, {{ terraplan.string_literal(m) }} as metric, t.m{{ loop.index }} as total,
  o.m{{ loop.index }} / o.k as target, t.m{{ loop.index }} / (o.m{{ loop.index }} / o.k) as ratio,
  'outside 1 ± {{ tol }} of the target' as problem
from totals as t cross join overall as o
where o.m{{ loop.index }} > 0 and abs(t.m{{ loop.index }} / (o.m{{ loop.index }} / o.k) - 1) > {{ tol }} + 1e-9
{%- endfor %}
{% endtest %}


{#- Each territory connected over `edges` (unit adjacency: from_id, to_id; both directions
    count): every unit reachable from its territory's first unit through units of the same
    territory. The failing rows are the units cut off. -#}
{% test contiguous(model, edges, id='id', territory='territory', from_id='from_id', to_id='to_id', method=none, max_hops=100) %}
{%- set method = method or adapter.dispatch('contiguity_method', 'terraplan')() -%}
{{ terraplan.contiguity_sql(model, edges, id, territory, from_id, to_id, method, max_hops) }}
{% endtest %}

{#- A recursive CTE with UNION (set semantics: it stops when no new unit is reached) where
    the warehouse has one; Snowflake, BigQuery and Redshift take only UNION ALL in a
    recursive CTE, which would walk every path of a cyclic graph (and Databricks has had
    recursive CTEs only since 2025), so there the
    same reachability is computed by label propagation unrolled `max_hops` times (a
    territory more than max_hops units across fails with "raise max_hops"). -#}
{% macro default__contiguity_method() %}{{ return('labels') }}{% endmacro %}
{% macro duckdb__contiguity_method() %}{{ return('recursive') }}{% endmacro %}
{% macro postgres__contiguity_method() %}{{ return('recursive') }}{% endmacro %}

{% macro contiguity_sql(model, edges, id, territory, from_id, to_id, method, max_hops) %}
{%- set s = terraplan.string_type() -%}
{%- set sql -%}
{{ 'with recursive' if method == 'recursive' else 'with' }} units as (
  select cast({{ terraplan.quote(id) }} as {{ s }}) as unit, cast({{ terraplan.quote(territory) }} as {{ s }}) as territory from {{ model }}
),
links as (
  select distinct a, b from (
    select cast({{ terraplan.quote(from_id) }} as {{ s }}) as a, cast({{ terraplan.quote(to_id) }} as {{ s }}) as b from {{ edges }}
    union all
    select cast({{ terraplan.quote(to_id) }} as {{ s }}) as a, cast({{ terraplan.quote(from_id) }} as {{ s }}) as b from {{ edges }}
  ) as both_ways
),
inner_links as (
  select l.a, l.b from links as l
  join units as ua on ua.unit = l.a
  join units as ub on ub.unit = l.b
  where ua.territory = ub.territory
),
roots as (
  select territory, min(unit) as root from units group by territory
),
{%- if method == 'recursive' %}
reached (unit) as (
  select root as unit from roots
  union
  select il.b as unit from reached as r join inner_links as il on il.a = r.unit
)
select u.territory, u.unit, 'not connected to ' || ro.root || ' within territory ' || u.territory as problem
from units as u
join roots as ro on ro.territory = u.territory
left join reached as r on r.unit = u.unit
where r.unit is null
{%- else %}
steps as (
  select unit as a, unit as b from units
  union all
  select a, b from inner_links
),
labels0 as (select unit, unit as label from units),
{%- for i in range(1, max_hops + 1) %}
labels{{ i }} as (
  select st.a as unit, min(l.label) as label
  from labels{{ i - 1 }} as l join steps as st on st.b = l.unit
  group by st.a
){{ ',' if not loop.last }}
{%- endfor %}
select u.territory, u.unit,
  case when f.label <> p.label then 'not settled after {{ max_hops }} hops: raise max_hops'
       else 'not connected to ' || ro.root || ' within territory ' || u.territory end as problem
from units as u
join roots as ro on ro.territory = u.territory
join labels{{ max_hops }} as f on f.unit = u.unit
join labels{{ max_hops - 1 }} as p on p.unit = u.unit
where f.label <> ro.root or f.label <> p.label
{%- endif %}
{%- endset -%}
{{ return(sql) }}
{% endmacro %}

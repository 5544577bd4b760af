with joined as (
  select cast(a."TERRITORY" as varchar) as territory, cast(u."POPULATION" as double precision) as m1, cast(u."ACCOUNTS" as double precision) as m2
  from "analytics"."sales"."territory_alignment" as a
  join "analytics"."sales"."scus" as u on cast(u."ID" as varchar) = cast(a."ID" as varchar)
),
totals as (
  select territory, sum(m1) as m1, sum(m2) as m2
  from joined group by territory
),
overall as (
  select count(*) as k, sum(m1) as m1, sum(m2) as m2
  from totals
)
select t.territory, 'population' as metric, t.m1 as total,
  o.m1 / o.k as target, t.m1 / (o.m1 / o.k) as ratio,
  'outside 1 ± 0.05 of the target' as problem
from totals as t cross join overall as o
where o.m1 > 0 and abs(t.m1 / (o.m1 / o.k) - 1) > 0.05 + 1e-9
union all
select t.territory, 'accounts' as metric, t.m2 as total,
  o.m2 / o.k as target, t.m2 / (o.m2 / o.k) as ratio,
  'outside 1 ± 0.1 of the target' as problem
from totals as t cross join overall as o
where o.m2 > 0 and abs(t.m2 / (o.m2 / o.k) - 1) > 0.1 + 1e-9

with recursive units as (
  select cast("id" as varchar) as unit, cast("territory" as varchar) as territory from "analytics"."sales"."territory_alignment"
),
links as (
  select distinct a, b from (
    select cast("from_id" as varchar) as a, cast("to_id" as varchar) as b from "analytics"."sales"."scu_edges"
    union all
    select cast("to_id" as varchar) as a, cast("from_id" as varchar) as b from "analytics"."sales"."scu_edges"
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

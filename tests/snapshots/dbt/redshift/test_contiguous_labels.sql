with units as (
  select cast("id" as varchar(65535)) as unit, cast("territory" as varchar(65535)) as territory from "analytics"."sales"."territory_alignment"
),
links as (
  select distinct a, b from (
    select cast("from_id" as varchar(65535)) as a, cast("to_id" as varchar(65535)) as b from "analytics"."sales"."scu_edges"
    union all
    select cast("to_id" as varchar(65535)) as a, cast("from_id" as varchar(65535)) as b from "analytics"."sales"."scu_edges"
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
steps as (
  select unit as a, unit as b from units
  union all
  select a, b from inner_links
),
labels0 as (select unit, unit as label from units),
labels1 as (
  select st.a as unit, min(l.label) as label
  from labels0 as l join steps as st on st.b = l.unit
  group by st.a
),
labels2 as (
  select st.a as unit, min(l.label) as label
  from labels1 as l join steps as st on st.b = l.unit
  group by st.a
),
labels3 as (
  select st.a as unit, min(l.label) as label
  from labels2 as l join steps as st on st.b = l.unit
  group by st.a
)
select u.territory, u.unit,
  case when f.label <> p.label then 'not settled after 3 hops: raise max_hops'
       else 'not connected to ' || ro.root || ' within territory ' || u.territory end as problem
from units as u
join roots as ro on ro.territory = u.territory
join labels3 as f on f.unit = u.unit
join labels2 as p on p.unit = u.unit
where f.label <> ro.root or f.label <> p.label

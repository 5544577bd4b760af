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
),
labels4 as (
  select st.a as unit, min(l.label) as label
  from labels3 as l join steps as st on st.b = l.unit
  group by st.a
),
labels5 as (
  select st.a as unit, min(l.label) as label
  from labels4 as l join steps as st on st.b = l.unit
  group by st.a
),
labels6 as (
  select st.a as unit, min(l.label) as label
  from labels5 as l join steps as st on st.b = l.unit
  group by st.a
),
labels7 as (
  select st.a as unit, min(l.label) as label
  from labels6 as l join steps as st on st.b = l.unit
  group by st.a
),
labels8 as (
  select st.a as unit, min(l.label) as label
  from labels7 as l join steps as st on st.b = l.unit
  group by st.a
),
labels9 as (
  select st.a as unit, min(l.label) as label
  from labels8 as l join steps as st on st.b = l.unit
  group by st.a
),
labels10 as (
  select st.a as unit, min(l.label) as label
  from labels9 as l join steps as st on st.b = l.unit
  group by st.a
),
labels11 as (
  select st.a as unit, min(l.label) as label
  from labels10 as l join steps as st on st.b = l.unit
  group by st.a
),
labels12 as (
  select st.a as unit, min(l.label) as label
  from labels11 as l join steps as st on st.b = l.unit
  group by st.a
),
labels13 as (
  select st.a as unit, min(l.label) as label
  from labels12 as l join steps as st on st.b = l.unit
  group by st.a
),
labels14 as (
  select st.a as unit, min(l.label) as label
  from labels13 as l join steps as st on st.b = l.unit
  group by st.a
),
labels15 as (
  select st.a as unit, min(l.label) as label
  from labels14 as l join steps as st on st.b = l.unit
  group by st.a
),
labels16 as (
  select st.a as unit, min(l.label) as label
  from labels15 as l join steps as st on st.b = l.unit
  group by st.a
),
labels17 as (
  select st.a as unit, min(l.label) as label
  from labels16 as l join steps as st on st.b = l.unit
  group by st.a
),
labels18 as (
  select st.a as unit, min(l.label) as label
  from labels17 as l join steps as st on st.b = l.unit
  group by st.a
),
labels19 as (
  select st.a as unit, min(l.label) as label
  from labels18 as l join steps as st on st.b = l.unit
  group by st.a
),
labels20 as (
  select st.a as unit, min(l.label) as label
  from labels19 as l join steps as st on st.b = l.unit
  group by st.a
),
labels21 as (
  select st.a as unit, min(l.label) as label
  from labels20 as l join steps as st on st.b = l.unit
  group by st.a
),
labels22 as (
  select st.a as unit, min(l.label) as label
  from labels21 as l join steps as st on st.b = l.unit
  group by st.a
),
labels23 as (
  select st.a as unit, min(l.label) as label
  from labels22 as l join steps as st on st.b = l.unit
  group by st.a
),
labels24 as (
  select st.a as unit, min(l.label) as label
  from labels23 as l join steps as st on st.b = l.unit
  group by st.a
),
labels25 as (
  select st.a as unit, min(l.label) as label
  from labels24 as l join steps as st on st.b = l.unit
  group by st.a
),
labels26 as (
  select st.a as unit, min(l.label) as label
  from labels25 as l join steps as st on st.b = l.unit
  group by st.a
),
labels27 as (
  select st.a as unit, min(l.label) as label
  from labels26 as l join steps as st on st.b = l.unit
  group by st.a
),
labels28 as (
  select st.a as unit, min(l.label) as label
  from labels27 as l join steps as st on st.b = l.unit
  group by st.a
),
labels29 as (
  select st.a as unit, min(l.label) as label
  from labels28 as l join steps as st on st.b = l.unit
  group by st.a
),
labels30 as (
  select st.a as unit, min(l.label) as label
  from labels29 as l join steps as st on st.b = l.unit
  group by st.a
),
labels31 as (
  select st.a as unit, min(l.label) as label
  from labels30 as l join steps as st on st.b = l.unit
  group by st.a
),
labels32 as (
  select st.a as unit, min(l.label) as label
  from labels31 as l join steps as st on st.b = l.unit
  group by st.a
),
labels33 as (
  select st.a as unit, min(l.label) as label
  from labels32 as l join steps as st on st.b = l.unit
  group by st.a
),
labels34 as (
  select st.a as unit, min(l.label) as label
  from labels33 as l join steps as st on st.b = l.unit
  group by st.a
),
labels35 as (
  select st.a as unit, min(l.label) as label
  from labels34 as l join steps as st on st.b = l.unit
  group by st.a
),
labels36 as (
  select st.a as unit, min(l.label) as label
  from labels35 as l join steps as st on st.b = l.unit
  group by st.a
),
labels37 as (
  select st.a as unit, min(l.label) as label
  from labels36 as l join steps as st on st.b = l.unit
  group by st.a
),
labels38 as (
  select st.a as unit, min(l.label) as label
  from labels37 as l join steps as st on st.b = l.unit
  group by st.a
),
labels39 as (
  select st.a as unit, min(l.label) as label
  from labels38 as l join steps as st on st.b = l.unit
  group by st.a
),
labels40 as (
  select st.a as unit, min(l.label) as label
  from labels39 as l join steps as st on st.b = l.unit
  group by st.a
),
labels41 as (
  select st.a as unit, min(l.label) as label
  from labels40 as l join steps as st on st.b = l.unit
  group by st.a
),
labels42 as (
  select st.a as unit, min(l.label) as label
  from labels41 as l join steps as st on st.b = l.unit
  group by st.a
),
labels43 as (
  select st.a as unit, min(l.label) as label
  from labels42 as l join steps as st on st.b = l.unit
  group by st.a
),
labels44 as (
  select st.a as unit, min(l.label) as label
  from labels43 as l join steps as st on st.b = l.unit
  group by st.a
),
labels45 as (
  select st.a as unit, min(l.label) as label
  from labels44 as l join steps as st on st.b = l.unit
  group by st.a
),
labels46 as (
  select st.a as unit, min(l.label) as label
  from labels45 as l join steps as st on st.b = l.unit
  group by st.a
),
labels47 as (
  select st.a as unit, min(l.label) as label
  from labels46 as l join steps as st on st.b = l.unit
  group by st.a
),
labels48 as (
  select st.a as unit, min(l.label) as label
  from labels47 as l join steps as st on st.b = l.unit
  group by st.a
),
labels49 as (
  select st.a as unit, min(l.label) as label
  from labels48 as l join steps as st on st.b = l.unit
  group by st.a
),
labels50 as (
  select st.a as unit, min(l.label) as label
  from labels49 as l join steps as st on st.b = l.unit
  group by st.a
),
labels51 as (
  select st.a as unit, min(l.label) as label
  from labels50 as l join steps as st on st.b = l.unit
  group by st.a
),
labels52 as (
  select st.a as unit, min(l.label) as label
  from labels51 as l join steps as st on st.b = l.unit
  group by st.a
),
labels53 as (
  select st.a as unit, min(l.label) as label
  from labels52 as l join steps as st on st.b = l.unit
  group by st.a
),
labels54 as (
  select st.a as unit, min(l.label) as label
  from labels53 as l join steps as st on st.b = l.unit
  group by st.a
),
labels55 as (
  select st.a as unit, min(l.label) as label
  from labels54 as l join steps as st on st.b = l.unit
  group by st.a
),
labels56 as (
  select st.a as unit, min(l.label) as label
  from labels55 as l join steps as st on st.b = l.unit
  group by st.a
),
labels57 as (
  select st.a as unit, min(l.label) as label
  from labels56 as l join steps as st on st.b = l.unit
  group by st.a
),
labels58 as (
  select st.a as unit, min(l.label) as label
  from labels57 as l join steps as st on st.b = l.unit
  group by st.a
),
labels59 as (
  select st.a as unit, min(l.label) as label
  from labels58 as l join steps as st on st.b = l.unit
  group by st.a
),
labels60 as (
  select st.a as unit, min(l.label) as label
  from labels59 as l join steps as st on st.b = l.unit
  group by st.a
),
labels61 as (
  select st.a as unit, min(l.label) as label
  from labels60 as l join steps as st on st.b = l.unit
  group by st.a
),
labels62 as (
  select st.a as unit, min(l.label) as label
  from labels61 as l join steps as st on st.b = l.unit
  group by st.a
),
labels63 as (
  select st.a as unit, min(l.label) as label
  from labels62 as l join steps as st on st.b = l.unit
  group by st.a
),
labels64 as (
  select st.a as unit, min(l.label) as label
  from labels63 as l join steps as st on st.b = l.unit
  group by st.a
),
labels65 as (
  select st.a as unit, min(l.label) as label
  from labels64 as l join steps as st on st.b = l.unit
  group by st.a
),
labels66 as (
  select st.a as unit, min(l.label) as label
  from labels65 as l join steps as st on st.b = l.unit
  group by st.a
),
labels67 as (
  select st.a as unit, min(l.label) as label
  from labels66 as l join steps as st on st.b = l.unit
  group by st.a
),
labels68 as (
  select st.a as unit, min(l.label) as label
  from labels67 as l join steps as st on st.b = l.unit
  group by st.a
),
labels69 as (
  select st.a as unit, min(l.label) as label
  from labels68 as l join steps as st on st.b = l.unit
  group by st.a
),
labels70 as (
  select st.a as unit, min(l.label) as label
  from labels69 as l join steps as st on st.b = l.unit
  group by st.a
),
labels71 as (
  select st.a as unit, min(l.label) as label
  from labels70 as l join steps as st on st.b = l.unit
  group by st.a
),
labels72 as (
  select st.a as unit, min(l.label) as label
  from labels71 as l join steps as st on st.b = l.unit
  group by st.a
),
labels73 as (
  select st.a as unit, min(l.label) as label
  from labels72 as l join steps as st on st.b = l.unit
  group by st.a
),
labels74 as (
  select st.a as unit, min(l.label) as label
  from labels73 as l join steps as st on st.b = l.unit
  group by st.a
),
labels75 as (
  select st.a as unit, min(l.label) as label
  from labels74 as l join steps as st on st.b = l.unit
  group by st.a
),
labels76 as (
  select st.a as unit, min(l.label) as label
  from labels75 as l join steps as st on st.b = l.unit
  group by st.a
),
labels77 as (
  select st.a as unit, min(l.label) as label
  from labels76 as l join steps as st on st.b = l.unit
  group by st.a
),
labels78 as (
  select st.a as unit, min(l.label) as label
  from labels77 as l join steps as st on st.b = l.unit
  group by st.a
),
labels79 as (
  select st.a as unit, min(l.label) as label
  from labels78 as l join steps as st on st.b = l.unit
  group by st.a
),
labels80 as (
  select st.a as unit, min(l.label) as label
  from labels79 as l join steps as st on st.b = l.unit
  group by st.a
),
labels81 as (
  select st.a as unit, min(l.label) as label
  from labels80 as l join steps as st on st.b = l.unit
  group by st.a
),
labels82 as (
  select st.a as unit, min(l.label) as label
  from labels81 as l join steps as st on st.b = l.unit
  group by st.a
),
labels83 as (
  select st.a as unit, min(l.label) as label
  from labels82 as l join steps as st on st.b = l.unit
  group by st.a
),
labels84 as (
  select st.a as unit, min(l.label) as label
  from labels83 as l join steps as st on st.b = l.unit
  group by st.a
),
labels85 as (
  select st.a as unit, min(l.label) as label
  from labels84 as l join steps as st on st.b = l.unit
  group by st.a
),
labels86 as (
  select st.a as unit, min(l.label) as label
  from labels85 as l join steps as st on st.b = l.unit
  group by st.a
),
labels87 as (
  select st.a as unit, min(l.label) as label
  from labels86 as l join steps as st on st.b = l.unit
  group by st.a
),
labels88 as (
  select st.a as unit, min(l.label) as label
  from labels87 as l join steps as st on st.b = l.unit
  group by st.a
),
labels89 as (
  select st.a as unit, min(l.label) as label
  from labels88 as l join steps as st on st.b = l.unit
  group by st.a
),
labels90 as (
  select st.a as unit, min(l.label) as label
  from labels89 as l join steps as st on st.b = l.unit
  group by st.a
),
labels91 as (
  select st.a as unit, min(l.label) as label
  from labels90 as l join steps as st on st.b = l.unit
  group by st.a
),
labels92 as (
  select st.a as unit, min(l.label) as label
  from labels91 as l join steps as st on st.b = l.unit
  group by st.a
),
labels93 as (
  select st.a as unit, min(l.label) as label
  from labels92 as l join steps as st on st.b = l.unit
  group by st.a
),
labels94 as (
  select st.a as unit, min(l.label) as label
  from labels93 as l join steps as st on st.b = l.unit
  group by st.a
),
labels95 as (
  select st.a as unit, min(l.label) as label
  from labels94 as l join steps as st on st.b = l.unit
  group by st.a
),
labels96 as (
  select st.a as unit, min(l.label) as label
  from labels95 as l join steps as st on st.b = l.unit
  group by st.a
),
labels97 as (
  select st.a as unit, min(l.label) as label
  from labels96 as l join steps as st on st.b = l.unit
  group by st.a
),
labels98 as (
  select st.a as unit, min(l.label) as label
  from labels97 as l join steps as st on st.b = l.unit
  group by st.a
),
labels99 as (
  select st.a as unit, min(l.label) as label
  from labels98 as l join steps as st on st.b = l.unit
  group by st.a
),
labels100 as (
  select st.a as unit, min(l.label) as label
  from labels99 as l join steps as st on st.b = l.unit
  group by st.a
)
select u.territory, u.unit,
  case when f.label <> p.label then 'not settled after 100 hops: raise max_hops'
       else 'not connected to ' || ro.root || ' within territory ' || u.territory end as problem
from units as u
join roots as ro on ro.territory = u.territory
join labels100 as f on f.unit = u.unit
join labels99 as p on p.unit = u.unit
where f.label <> ro.root or f.label <> p.label

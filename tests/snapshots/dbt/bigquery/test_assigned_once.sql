with units as (
  select cast(`id` as string) as unit from `analytics`.`sales`.`scus`
),
assigned as (
  select cast(`id` as string) as unit, cast(`territory` as string) as territory from `analytics`.`sales`.`territory_alignment`
),
counts as (
  select u.unit, count(a.unit) as n from units as u left join assigned as a on a.unit = u.unit group by u.unit
)
select unit, n as times_assigned, 'assigned ' || cast(n as string) || ' times' as problem from counts where n <> 1
union all
select a.unit, 1 as times_assigned, 'not a unit of `analytics`.`sales`.`scus`' as problem
from assigned as a left join units as u on u.unit = a.unit where u.unit is null
union all
select unit, 1 as times_assigned, 'no territory' as problem from assigned where territory is null

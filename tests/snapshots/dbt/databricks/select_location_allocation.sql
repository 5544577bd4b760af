with terraplan_call as (
  select `main`.`terraplan`.`location_allocation`(
    (select to_json(collect_list(struct(t.*))) from `analytics`.`sales`.`scus` as t),
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    '{"distance": "haversine", "facilities": 5, "lat": "lat", "lon": "lon", "weight": "population"}') as doc
)
select r.`id`, r.`type`, r.`open`, r.`load`, r.`capacity`, r.`utilisation`, r.`n_points`
from (
  select explode(from_json(get_json_object(doc, '$.tables.facilities'),
                           'array<struct<`id`: string, `type`: string, `open`: boolean, `load`: double, `capacity`: double, `utilisation`: double, `n_points`: bigint>>')) as r
  from terraplan_call
  where case when get_json_object(doc, '$.error') is null then true
        else cast(raise_error(concat('terraplan location_allocation: ', get_json_object(doc, '$.error'))) as boolean) end
)

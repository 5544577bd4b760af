with terraplan_call as (
  select `main`.`terraplan`.`territory_balancing`(
    (select to_json(collect_list(struct(t.*))) from `analytics`.`sales`.`scus` as t),
    NULL,
    (select to_json(collect_list(struct(t.*))) from `analytics`.`sales`.`scu_edges` as t),
    '{"lat": "lat", "lon": "lon", "metrics": ["population", "accounts"], "seed": 0, "territories": 8, "tolerance": 0.05}') as doc
)
select r.`id`, r.`territory`, r.`center`, r.`distance`
from (
  select explode(from_json(get_json_object(doc, '$.tables.assignments'),
                           'array<struct<`id`: string, `territory`: string, `center`: string, `distance`: double>>')) as r
  from terraplan_call
  where case when get_json_object(doc, '$.error') is null then true
        else cast(raise_error(concat('terraplan territory_balancing: ', get_json_object(doc, '$.error'))) as boolean) end
)

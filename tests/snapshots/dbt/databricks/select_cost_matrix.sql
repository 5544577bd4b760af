with terraplan_call as (
  select `main`.`terraplan`.`cost_matrix`(
    (select to_json(collect_list(struct(t.*))) from `analytics`.`sales`.`scus` as t),
    NULL,
    NULL,
    NULL,
    '{"distance": "haversine", "k": 3, "lat": "lat", "lon": "lon"}') as doc
)
select r.`origin_id`, r.`destination_id`, r.`cost`
from (
  select explode(from_json(get_json_object(doc, '$.tables.costs'),
                           'array<struct<`origin_id`: string, `destination_id`: string, `cost`: double>>')) as r
  from terraplan_call
  where case when get_json_object(doc, '$.error') is null then true
        else cast(raise_error(concat('terraplan cost_matrix: ', get_json_object(doc, '$.error'))) as boolean) end
)

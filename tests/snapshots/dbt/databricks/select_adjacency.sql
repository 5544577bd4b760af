with terraplan_call as (
  select `main`.`terraplan`.`adjacency`(
    (select to_json(collect_list(struct(t.*))) from `analytics`.`sales`.`scus` as t),
    NULL,
    NULL,
    '{"lat": "lat", "lon": "lon", "source": "points"}') as doc
)
select r.`from_id`, r.`to_id`, r.`length`, r.`artificial`, r.`source`
from (
  select explode(from_json(get_json_object(doc, '$.tables.edges'),
                           'array<struct<`from_id`: string, `to_id`: string, `length`: double, `artificial`: boolean, `source`: string>>')) as r
  from terraplan_call
  where case when get_json_object(doc, '$.error') is null then true
        else cast(raise_error(concat('terraplan adjacency: ', get_json_object(doc, '$.error'))) as boolean) end
)

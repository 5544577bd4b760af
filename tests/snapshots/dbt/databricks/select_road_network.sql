with terraplan_call as (
  select `main`.`terraplan`.`road_network`(
    (select to_json(collect_list(struct(t.*))) from `analytics`.`sales`.`osm_way_nodes` as t),
    '{"profile": "drive"}') as doc
)
select r.`from_id`, r.`to_id`, r.`length_m`, r.`oneway`, r.`highway`, r.`way_id`, r.`cost`
from (
  select explode(from_json(get_json_object(doc, '$.tables.edges'),
                           'array<struct<`from_id`: string, `to_id`: string, `length_m`: double, `oneway`: boolean, `highway`: string, `way_id`: string, `cost`: double>>')) as r
  from terraplan_call
  where case when get_json_object(doc, '$.error') is null then true
        else cast(raise_error(concat('terraplan road_network: ', get_json_object(doc, '$.error'))) as boolean) end
)

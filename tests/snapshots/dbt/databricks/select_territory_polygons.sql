with terraplan_call as (
  select `main`.`terraplan`.`territory_polygons`(
    (select to_json(collect_list(struct(t.*))) from `analytics`.`sales`.`scu_polygons` as t),
    (select to_json(collect_list(struct(t.*))) from `analytics`.`sales`.`territory_alignment` as t),
    '{"metric": ["population"]}') as doc
)
select r.`territory`, r.`n_units`, r.`n_parts`, r.`population`, r.`wkt`
from (
  select explode(from_json(get_json_object(doc, '$.tables.polygons'),
                           'array<struct<`territory`: string, `n_units`: bigint, `n_parts`: bigint, `population`: double, `wkt`: string>>')) as r
  from terraplan_call
  where case when get_json_object(doc, '$.error') is null then true
        else cast(raise_error(concat('terraplan territory_polygons: ', get_json_object(doc, '$.error'))) as boolean) end
)

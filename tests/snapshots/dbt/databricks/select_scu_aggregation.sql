with terraplan_call as (
  select `main`.`terraplan`.`scu_aggregation`(
    (select to_json(collect_list(struct(t.*))) from `analytics`.`sales`.`accounts` as t),
    '{"lat": "lat", "lon": "lon", "metrics": ["revenue"], "scu_id": "zip"}') as doc
)
select r.`id`, r.`lon`, r.`lat`, r.`n_points`, r.`revenue`
from (
  select explode(from_json(get_json_object(doc, '$.tables.scus'),
                           'array<struct<`id`: string, `lon`: double, `lat`: double, `n_points`: bigint, `revenue`: double>>')) as r
  from terraplan_call
  where case when get_json_object(doc, '$.error') is null then true
        else cast(raise_error(concat('terraplan scu_aggregation: ', get_json_object(doc, '$.error'))) as boolean) end
)

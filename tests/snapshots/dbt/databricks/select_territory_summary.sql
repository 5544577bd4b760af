with terraplan_call as (
  select `main`.`terraplan`.`territory_balancing`(
    (select to_json(collect_list(struct(t.*))) from `analytics`.`sales`.`scus` as t),
    NULL,
    (select to_json(collect_list(struct(t.*))) from `analytics`.`sales`.`scu_edges` as t),
    '{"lat": "lat", "lon": "lon", "metrics": ["population", "accounts"], "seed": 0, "territories": 8, "tolerance": 0.05}') as doc
)
select r.`territory`, r.`center`, r.`n_units`, r.`population`, r.`accounts`, r.`population_ratio`, r.`accounts_ratio`, r.`compactness`, r.`contiguous`
from (
  select explode(from_json(get_json_object(doc, '$.tables.territories'),
                           'array<struct<`territory`: string, `center`: string, `n_units`: bigint, `population`: double, `accounts`: double, `population_ratio`: double, `accounts_ratio`: double, `compactness`: double, `contiguous`: boolean>>')) as r
  from terraplan_call
  where case when get_json_object(doc, '$.error') is null then true
        else cast(raise_error(concat('terraplan territory_balancing: ', get_json_object(doc, '$.error'))) as boolean) end
)

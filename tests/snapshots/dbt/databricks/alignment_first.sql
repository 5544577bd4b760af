-- terraplan:component territory_balancing assignments
-- terraplan:solve
select `main`.`terraplan`.`territory_balancing`(
    (select to_json(collect_list(struct(t.*))) from `analytics`.`sales`.`scus` as t),
    NULL,
    (select to_json(collect_list(struct(t.*))) from `analytics`.`sales`.`scu_edges` as t),
    '{"lat": "lat", "lon": "lon", "metrics": ["population", "accounts"], "seed": 0, "territories": 8, "tolerance": 0.05}') as doc
-- terraplan:unpack
select r.`id`, r.`territory`, r.`center`, r.`distance`
from (
  select explode(from_json(get_json_object(doc, '$.tables.assignments'),
                           'array<struct<`id`: string, `territory`: string, `center`: string, `distance`: double>>')) as r
  from __terraplan_doc__
  where case when get_json_object(doc, '$.error') is null then true
        else cast(raise_error(concat('terraplan territory_balancing: ', get_json_object(doc, '$.error'))) as boolean) end
)
-- terraplan:fingerprint
select (select concat(cast(count(*) as string), ':', cast(coalesce(bit_xor(xxhash64(struct(t.*))), 0) as string)) from `analytics`.`sales`.`scus` as t) || '|' || '-' || '|' || (select concat(cast(count(*) as string), ':', cast(coalesce(bit_xor(xxhash64(struct(t.*))), 0) as string)) from `analytics`.`sales`.`scu_edges` as t) || '|' || '{"lat": "lat", "lon": "lon", "metrics": ["population", "accounts"], "seed": 0, "territories": 8, "tolerance": 0.05}' || '|' || '{"disruption_weight": 5, "max_moved": 0.1}' as fingerprint

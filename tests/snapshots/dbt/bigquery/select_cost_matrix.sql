with terraplan_call as (
  select parse_json(`terraplan`.`terraplan_cost_matrix`(
    (select to_json_string(array_agg(t)) from `analytics`.`sales`.`scus` as t),
    NULL,
    NULL,
    NULL,
    '{"distance": "haversine", "k": 3, "lat": "lat", "lon": "lon"}'), wide_number_mode => 'round') as doc
)
select lax_string(r['origin_id']) as `origin_id`, lax_string(r['destination_id']) as `destination_id`, lax_float64(r['cost']) as `cost`
from terraplan_call, unnest(json_query_array(doc, '$.tables.costs')) as r
where if(json_value(doc, '$.error') is null, true,
         error(concat('terraplan cost_matrix: ', json_value(doc, '$.error'))))

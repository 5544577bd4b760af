with terraplan_call as (
  select parse_json(`terraplan`.`terraplan_location_allocation`(
    (select to_json_string(array_agg(t)) from `analytics`.`sales`.`scus` as t),
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    '{"distance": "haversine", "facilities": 5, "lat": "lat", "lon": "lon", "weight": "population"}'), wide_number_mode => 'round') as doc
)
select lax_string(r['id']) as `id`, lax_string(r['type']) as `type`, lax_bool(r['open']) as `open`, lax_float64(r['load']) as `load`, lax_float64(r['capacity']) as `capacity`, lax_float64(r['utilisation']) as `utilisation`, lax_int64(r['n_points']) as `n_points`
from terraplan_call, unnest(json_query_array(doc, '$.tables.facilities')) as r
where if(json_value(doc, '$.error') is null, true,
         error(concat('terraplan location_allocation: ', json_value(doc, '$.error'))))

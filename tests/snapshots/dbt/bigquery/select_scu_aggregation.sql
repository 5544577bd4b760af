with terraplan_call as (
  select parse_json(`terraplan`.`terraplan_scu_aggregation`(
    (select to_json_string(array_agg(t)) from `analytics`.`sales`.`accounts` as t),
    '{"lat": "lat", "lon": "lon", "metrics": ["revenue"], "scu_id": "zip"}'), wide_number_mode => 'round') as doc
)
select lax_string(r['id']) as `id`, lax_float64(r['lon']) as `lon`, lax_float64(r['lat']) as `lat`, lax_int64(r['n_points']) as `n_points`, lax_float64(r['revenue']) as `revenue`
from terraplan_call, unnest(json_query_array(doc, '$.tables.scus')) as r
where if(json_value(doc, '$.error') is null, true,
         error(concat('terraplan scu_aggregation: ', json_value(doc, '$.error'))))

with terraplan_call as (
  select parse_json(`terraplan`.`terraplan_adjacency`(
    (select to_json_string(array_agg(t)) from `analytics`.`sales`.`scus` as t),
    NULL,
    NULL,
    '{"lat": "lat", "lon": "lon", "source": "points"}'), wide_number_mode => 'round') as doc
)
select lax_string(r['from_id']) as `from_id`, lax_string(r['to_id']) as `to_id`, lax_float64(r['length']) as `length`, lax_bool(r['artificial']) as `artificial`, lax_string(r['source']) as `source`
from terraplan_call, unnest(json_query_array(doc, '$.tables.edges')) as r
where if(json_value(doc, '$.error') is null, true,
         error(concat('terraplan adjacency: ', json_value(doc, '$.error'))))

-- terraplan:component territory_balancing assignments
-- terraplan:solve
select parse_json(`terraplan`.`terraplan_territory_balancing`(
    (select to_json_string(array_agg(t)) from `analytics`.`sales`.`scus` as t),
    NULL,
    (select to_json_string(array_agg(t)) from `analytics`.`sales`.`scu_edges` as t),
    '{"lat": "lat", "lon": "lon", "metrics": ["population", "accounts"], "seed": 0, "territories": 8, "tolerance": 0.05}'), wide_number_mode => 'round') as doc
-- terraplan:unpack
select lax_string(r['id']) as `id`, lax_string(r['territory']) as `territory`, lax_string(r['center']) as `center`, lax_float64(r['distance']) as `distance`
from __terraplan_doc__, unnest(json_query_array(doc, '$.tables.assignments')) as r
where if(json_value(doc, '$.error') is null, true,
         error(concat('terraplan territory_balancing: ', json_value(doc, '$.error'))))
-- terraplan:fingerprint
select (select format('%d:%d', count(*), coalesce(bit_xor(farm_fingerprint(to_json_string(t))), 0)) from `analytics`.`sales`.`scus` as t) || '|' || '-' || '|' || (select format('%d:%d', count(*), coalesce(bit_xor(farm_fingerprint(to_json_string(t))), 0)) from `analytics`.`sales`.`scu_edges` as t) || '|' || '{"lat": "lat", "lon": "lon", "metrics": ["population", "accounts"], "seed": 0, "territories": 8, "tolerance": 0.05}' || '|' || '{"disruption_weight": 5, "max_moved": 0.1}' as fingerprint

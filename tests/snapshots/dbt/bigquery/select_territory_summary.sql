with terraplan_call as (
  select parse_json(`terraplan`.`terraplan_territory_balancing`(
    (select to_json_string(array_agg(t)) from `analytics`.`sales`.`scus` as t),
    NULL,
    (select to_json_string(array_agg(t)) from `analytics`.`sales`.`scu_edges` as t),
    '{"lat": "lat", "lon": "lon", "metrics": ["population", "accounts"], "seed": 0, "territories": 8, "tolerance": 0.05}'), wide_number_mode => 'round') as doc
)
select lax_string(r['territory']) as `territory`, lax_string(r['center']) as `center`, lax_int64(r['n_units']) as `n_units`, lax_float64(r['population']) as `population`, lax_float64(r['accounts']) as `accounts`, lax_float64(r['population_ratio']) as `population_ratio`, lax_float64(r['accounts_ratio']) as `accounts_ratio`, lax_float64(r['compactness']) as `compactness`, lax_bool(r['contiguous']) as `contiguous`
from terraplan_call, unnest(json_query_array(doc, '$.tables.territories')) as r
where if(json_value(doc, '$.error') is null, true,
         error(concat('terraplan territory_balancing: ', json_value(doc, '$.error'))))

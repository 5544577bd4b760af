with terraplan_call as (
  select parse_json(`terraplan`.`terraplan_territory_polygons`(
    (select to_json_string(array_agg(t)) from `analytics`.`sales`.`scu_polygons` as t),
    (select to_json_string(array_agg(t)) from `analytics`.`sales`.`territory_alignment` as t),
    '{"metric": ["population"]}'), wide_number_mode => 'round') as doc
)
select lax_string(r['territory']) as `territory`, lax_int64(r['n_units']) as `n_units`, lax_int64(r['n_parts']) as `n_parts`, lax_float64(r['population']) as `population`, lax_string(r['wkt']) as `wkt`
from terraplan_call, unnest(json_query_array(doc, '$.tables.polygons')) as r
where if(json_value(doc, '$.error') is null, true,
         error(concat('terraplan territory_polygons: ', json_value(doc, '$.error'))))

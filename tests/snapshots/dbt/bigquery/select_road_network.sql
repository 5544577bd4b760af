with terraplan_call as (
  select parse_json(`terraplan`.`terraplan_road_network`(
    (select to_json_string(array_agg(t)) from `analytics`.`sales`.`osm_way_nodes` as t),
    '{"profile": "drive"}'), wide_number_mode => 'round') as doc
)
select lax_string(r['from_id']) as `from_id`, lax_string(r['to_id']) as `to_id`, lax_float64(r['length_m']) as `length_m`, lax_bool(r['oneway']) as `oneway`, lax_string(r['highway']) as `highway`, lax_string(r['way_id']) as `way_id`, lax_float64(r['cost']) as `cost`
from terraplan_call, unnest(json_query_array(doc, '$.tables.edges')) as r
where if(json_value(doc, '$.error') is null, true,
         error(concat('terraplan road_network: ', json_value(doc, '$.error'))))

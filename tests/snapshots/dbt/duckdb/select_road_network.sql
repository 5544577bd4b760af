with terraplan_call as (
  select terraplan_road_network(
    (select to_json(list(t)) from "analytics"."sales"."osm_way_nodes" as t),
    '{"profile": "drive"}') as doc
)
select r."from_id", r."to_id", r."length_m", r."oneway", r."highway", r."way_id", r."cost"
from (
  select unnest(from_json(json_extract(doc, '$.tables.edges'),
                          '[{"from_id": "VARCHAR", "to_id": "VARCHAR", "length_m": "DOUBLE", "oneway": "BOOLEAN", "highway": "VARCHAR", "way_id": "VARCHAR", "cost": "DOUBLE"}]')) as r
  from terraplan_call
  where case when json_extract_string(doc, '$.error') is null then true
        else error('terraplan road_network: ' || json_extract_string(doc, '$.error')) end
)

with terraplan_call as (
  select terraplan_location_allocation(
    (select to_json(list(t)) from "analytics"."sales"."scus" as t),
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    '{"distance": "haversine", "facilities": 5, "lat": "lat", "lon": "lon", "weight": "population"}') as doc
)
select r."id", r."type", r."open", r."load", r."capacity", r."utilisation", r."n_points"
from (
  select unnest(from_json(json_extract(doc, '$.tables.facilities'),
                          '[{"id": "VARCHAR", "type": "VARCHAR", "open": "BOOLEAN", "load": "DOUBLE", "capacity": "DOUBLE", "utilisation": "DOUBLE", "n_points": "BIGINT"}]')) as r
  from terraplan_call
  where case when json_extract_string(doc, '$.error') is null then true
        else error('terraplan location_allocation: ' || json_extract_string(doc, '$.error')) end
)

with terraplan_call as (
  select terraplan_cost_matrix(
    (select to_json(list(t)) from "analytics"."sales"."scus" as t),
    NULL,
    NULL,
    NULL,
    '{"distance": "haversine", "k": 3, "lat": "lat", "lon": "lon"}') as doc
)
select r."origin_id", r."destination_id", r."cost"
from (
  select unnest(from_json(json_extract(doc, '$.tables.costs'),
                          '[{"origin_id": "VARCHAR", "destination_id": "VARCHAR", "cost": "DOUBLE"}]')) as r
  from terraplan_call
  where case when json_extract_string(doc, '$.error') is null then true
        else error('terraplan cost_matrix: ' || json_extract_string(doc, '$.error')) end
)

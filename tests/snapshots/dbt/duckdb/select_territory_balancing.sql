with terraplan_call as (
  select terraplan_territory_balancing(
    (select to_json(list(t)) from "analytics"."sales"."scus" as t),
    NULL,
    (select to_json(list(t)) from "analytics"."sales"."scu_edges" as t),
    '{"lat": "lat", "lon": "lon", "metrics": ["population", "accounts"], "seed": 0, "territories": 8, "tolerance": 0.05}') as doc
)
select r."id", r."territory", r."center", r."distance"
from (
  select unnest(from_json(json_extract(doc, '$.tables.assignments'),
                          '[{"id": "VARCHAR", "territory": "VARCHAR", "center": "VARCHAR", "distance": "DOUBLE"}]')) as r
  from terraplan_call
  where case when json_extract_string(doc, '$.error') is null then true
        else error('terraplan territory_balancing: ' || json_extract_string(doc, '$.error')) end
)

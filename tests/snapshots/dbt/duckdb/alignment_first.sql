-- terraplan:component territory_balancing assignments
-- terraplan:solve
select terraplan_territory_balancing(
    (select to_json(list(t)) from "analytics"."sales"."scus" as t),
    NULL,
    (select to_json(list(t)) from "analytics"."sales"."scu_edges" as t),
    '{"lat": "lat", "lon": "lon", "metrics": ["population", "accounts"], "seed": 0, "territories": 8, "tolerance": 0.05}') as doc
-- terraplan:unpack
select r."id", r."territory", r."center", r."distance"
from (
  select unnest(from_json(json_extract(doc, '$.tables.assignments'),
                          '[{"id": "VARCHAR", "territory": "VARCHAR", "center": "VARCHAR", "distance": "DOUBLE"}]')) as r
  from __terraplan_doc__
  where case when json_extract_string(doc, '$.error') is null then true
        else error('terraplan territory_balancing: ' || json_extract_string(doc, '$.error')) end
)
-- terraplan:fingerprint
select (select cast(count(*) as varchar) || ':' || cast(coalesce(sum(hash(t)), 0) as varchar) from "analytics"."sales"."scus" as t) || '|' || '-' || '|' || (select cast(count(*) as varchar) || ':' || cast(coalesce(sum(hash(t)), 0) as varchar) from "analytics"."sales"."scu_edges" as t) || '|' || '{"lat": "lat", "lon": "lon", "metrics": ["population", "accounts"], "seed": 0, "territories": 8, "tolerance": 0.05}' || '|' || '{"disruption_weight": 5, "max_moved": 0.1}' as fingerprint

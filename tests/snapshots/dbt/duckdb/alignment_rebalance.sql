-- terraplan:component territory_balancing assignments
-- terraplan:solve
select terraplan_territory_balancing(
    (select to_json(list(t)) from (select s.*, coalesce(p."territory", '(new)') as "terraplan_current" from "analytics"."sales"."scus" as s left join "analytics"."sales"."territory_alignment" as p on cast(s."id" as varchar) = p."id") as t),
    NULL,
    (select to_json(list(t)) from "analytics"."sales"."scu_edges" as t),
    '{"current": "terraplan_current", "disruption_weight": 5, "lat": "lat", "lon": "lon", "max_moved": 0.1, "metrics": ["population", "accounts"], "seed": 0, "territories": 8, "tolerance": 0.05}') as doc
-- terraplan:unpack
select r."id", r."territory", r."center", r."distance", r."previous_territory", r."moved"
from (
  select unnest(from_json(json_extract(doc, '$.tables.assignments'),
                          '[{"id": "VARCHAR", "territory": "VARCHAR", "center": "VARCHAR", "distance": "DOUBLE", "previous_territory": "VARCHAR", "moved": "BOOLEAN"}]')) as r
  from __terraplan_doc__
  where case when json_extract_string(doc, '$.error') is null then true
        else error('terraplan territory_balancing: ' || json_extract_string(doc, '$.error')) end
)
-- terraplan:fingerprint
select (select cast(count(*) as varchar) || ':' || cast(coalesce(sum(hash(t)), 0) as varchar) from "analytics"."sales"."scus" as t) || '|' || '-' || '|' || (select cast(count(*) as varchar) || ':' || cast(coalesce(sum(hash(t)), 0) as varchar) from "analytics"."sales"."scu_edges" as t) || '|' || '{"lat": "lat", "lon": "lon", "metrics": ["population", "accounts"], "seed": 0, "territories": 8, "tolerance": 0.05}' || '|' || '{"disruption_weight": 5, "max_moved": 0.1}' as fingerprint

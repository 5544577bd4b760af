-- terraplan:component territory_balancing assignments
-- terraplan:input
create or replace temporary view "analytics"."sales"."territory_alignment__terraplan_scus" as select s.*, coalesce(p."TERRITORY", '(new)') as "TERRAPLAN_CURRENT" from "analytics"."sales"."scus" as s left join "analytics"."sales"."territory_alignment" as p on cast(s."ID" as varchar) = p."ID"
-- terraplan:solve
call "TERRAPLAN"."TERRITORY_BALANCING"(
    '"analytics"."sales"."territory_alignment__terraplan_scus"',
    NULL,
    '"analytics"."sales"."scu_edges"',
    __terraplan_stage__,
    NULL,
    parse_json('{"current": "terraplan_current", "disruption_weight": 5, "lat": "lat", "lon": "lon", "max_moved": 0.1, "metrics": ["population", "accounts"], "seed": 0, "territories": 8, "tolerance": 0.05}'))
-- terraplan:fingerprint
select (select to_varchar(count(*)) || ':' || to_varchar(hash_agg(*)) from "analytics"."sales"."scus") || '|' || '-' || '|' || (select to_varchar(count(*)) || ':' || to_varchar(hash_agg(*)) from "analytics"."sales"."scu_edges") || '|' || '{"lat": "lat", "lon": "lon", "metrics": ["population", "accounts"], "seed": 0, "territories": 8, "tolerance": 0.05}' || '|' || '{"disruption_weight": 5, "max_moved": 0.1}' as fingerprint

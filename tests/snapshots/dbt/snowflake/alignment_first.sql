-- terraplan:component territory_balancing assignments
-- terraplan:solve
call "TERRAPLAN"."TERRITORY_BALANCING"(
    '"analytics"."sales"."scus"',
    NULL,
    '"analytics"."sales"."scu_edges"',
    __terraplan_stage__,
    NULL,
    parse_json('{"lat": "lat", "lon": "lon", "metrics": ["population", "accounts"], "seed": 0, "territories": 8, "tolerance": 0.05}'))
-- terraplan:fingerprint
select (select to_varchar(count(*)) || ':' || to_varchar(hash_agg(*)) from "analytics"."sales"."scus") || '|' || '-' || '|' || (select to_varchar(count(*)) || ':' || to_varchar(hash_agg(*)) from "analytics"."sales"."scu_edges") || '|' || '{"lat": "lat", "lon": "lon", "metrics": ["population", "accounts"], "seed": 0, "territories": 8, "tolerance": 0.05}' || '|' || '{"disruption_weight": 5, "max_moved": 0.1}' as fingerprint

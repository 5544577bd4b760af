with terraplan_call as (
  select terraplan_territory_balancing(
    (select to_json(list(t)) from "analytics"."sales"."scus" as t),
    NULL,
    (select to_json(list(t)) from "analytics"."sales"."scu_edges" as t),
    '{"lat": "lat", "lon": "lon", "metrics": ["population", "accounts"], "seed": 0, "territories": 8, "tolerance": 0.05}') as doc
)
select r."territory", r."center", r."n_units", r."population", r."accounts", r."population_ratio", r."accounts_ratio", r."compactness", r."contiguous"
from (
  select unnest(from_json(json_extract(doc, '$.tables.territories'),
                          '[{"territory": "VARCHAR", "center": "VARCHAR", "n_units": "BIGINT", "population": "DOUBLE", "accounts": "DOUBLE", "population_ratio": "DOUBLE", "accounts_ratio": "DOUBLE", "compactness": "DOUBLE", "contiguous": "BOOLEAN"}]')) as r
  from terraplan_call
  where case when json_extract_string(doc, '$.error') is null then true
        else error('terraplan territory_balancing: ' || json_extract_string(doc, '$.error')) end
)

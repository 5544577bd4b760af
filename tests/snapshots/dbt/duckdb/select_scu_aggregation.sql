with terraplan_call as (
  select terraplan_scu_aggregation(
    (select to_json(list(t)) from "analytics"."sales"."accounts" as t),
    '{"lat": "lat", "lon": "lon", "metrics": ["revenue"], "scu_id": "zip"}') as doc
)
select r."id", r."lon", r."lat", r."n_points", r."revenue"
from (
  select unnest(from_json(json_extract(doc, '$.tables.scus'),
                          '[{"id": "VARCHAR", "lon": "DOUBLE", "lat": "DOUBLE", "n_points": "BIGINT", "revenue": "DOUBLE"}]')) as r
  from terraplan_call
  where case when json_extract_string(doc, '$.error') is null then true
        else error('terraplan scu_aggregation: ' || json_extract_string(doc, '$.error')) end
)

with terraplan_call as (
  select terraplan_adjacency(
    (select to_json(list(t)) from "analytics"."sales"."scus" as t),
    NULL,
    NULL,
    '{"lat": "lat", "lon": "lon", "source": "points"}') as doc
)
select r."from_id", r."to_id", r."length", r."artificial", r."source"
from (
  select unnest(from_json(json_extract(doc, '$.tables.edges'),
                          '[{"from_id": "VARCHAR", "to_id": "VARCHAR", "length": "DOUBLE", "artificial": "BOOLEAN", "source": "VARCHAR"}]')) as r
  from terraplan_call
  where case when json_extract_string(doc, '$.error') is null then true
        else error('terraplan adjacency: ' || json_extract_string(doc, '$.error')) end
)

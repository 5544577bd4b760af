with terraplan_call as (
  select terraplan_territory_polygons(
    (select to_json(list(t)) from "analytics"."sales"."scu_polygons" as t),
    (select to_json(list(t)) from "analytics"."sales"."territory_alignment" as t),
    '{"metric": ["population"]}') as doc
)
select r."territory", r."n_units", r."n_parts", r."population", r."wkt"
from (
  select unnest(from_json(json_extract(doc, '$.tables.polygons'),
                          '[{"territory": "VARCHAR", "n_units": "BIGINT", "n_parts": "BIGINT", "population": "DOUBLE", "wkt": "VARCHAR"}]')) as r
  from terraplan_call
  where case when json_extract_string(doc, '$.error') is null then true
        else error('terraplan territory_polygons: ' || json_extract_string(doc, '$.error')) end
)

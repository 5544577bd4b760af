with terraplan_call as (
  select json_parse("terraplan"."f_territory_polygons"(
    (select '[' || listagg(json_serialize(object('id', t."id", 'wkt', t."wkt")), ',') || ']' from "analytics"."sales"."scu_polygons" as t),
    (select '[' || listagg(json_serialize(object('id', t."id", 'territory', t."territory")), ',') || ']' from "analytics"."sales"."territory_alignment" as t),
    '{"metric": ["population"]}')) as doc
)
select r."territory"::varchar(65535) as "territory", r."n_units"::bigint as "n_units", r."n_parts"::bigint as "n_parts", r."population"::double precision as "population", r."wkt"::varchar(65535) as "wkt"
from terraplan_call as c, c.doc.tables."polygons" as r

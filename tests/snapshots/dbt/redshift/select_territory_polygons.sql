with terraplan_call as (
  select json_parse("terraplan"."f_territory_polygons"(
    (select '[' || listagg(json_serialize(object('id', t."id", 'wkt', t."wkt")), ',') || ']' from "analytics"."sales"."scu_polygons" as t),
    (select '[' || listagg(json_serialize(object('id', t."id", 'territory', t."territory")), ',') || ']' from "analytics"."sales"."territory_alignment" as t),
    '{"metric": ["population"]}')) as doc
)
select r."territory"::varchar(65535) as "territory", r."wkt"::double precision as "wkt"
from terraplan_call as c, c.doc.tables."polygons" as r

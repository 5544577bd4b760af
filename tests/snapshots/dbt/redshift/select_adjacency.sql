with terraplan_call as (
  select json_parse("terraplan"."f_adjacency"(
    (select '[' || listagg(json_serialize(object('id', t."id", 'lon', t."lon", 'lat', t."lat", 'population', t."population", 'accounts', t."accounts")), ',') || ']' from "analytics"."sales"."scus" as t),
    NULL,
    NULL,
    '{"lat": "lat", "lon": "lon", "source": "points"}')) as doc
)
select r."from_id"::varchar(65535) as "from_id", r."to_id"::varchar(65535) as "to_id", r."length"::double precision as "length", r."artificial"::boolean as "artificial", r."source"::varchar(65535) as "source"
from terraplan_call as c, c.doc.tables."edges" as r

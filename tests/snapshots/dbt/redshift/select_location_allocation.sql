with terraplan_call as (
  select json_parse("terraplan"."f_location_allocation"(
    (select '[' || listagg(json_serialize(object('id', t."id", 'lon', t."lon", 'lat', t."lat", 'population', t."population", 'accounts', t."accounts")), ',') || ']' from "analytics"."sales"."scus" as t),
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    '{"distance": "haversine", "facilities": 5, "lat": "lat", "lon": "lon", "weight": "population"}')) as doc
)
select r."id"::varchar(65535) as "id", r."type"::varchar(65535) as "type", r."open"::boolean as "open", r."load"::double precision as "load", r."capacity"::double precision as "capacity", r."utilisation"::double precision as "utilisation", r."n_points"::bigint as "n_points"
from terraplan_call as c, c.doc.tables."facilities" as r

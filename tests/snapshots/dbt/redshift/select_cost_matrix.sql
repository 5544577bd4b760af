with terraplan_call as (
  select json_parse("terraplan"."f_cost_matrix"(
    (select '[' || listagg(json_serialize(object('id', t."id", 'lon', t."lon", 'lat', t."lat", 'population', t."population", 'accounts', t."accounts")), ',') || ']' from "analytics"."sales"."scus" as t),
    NULL,
    NULL,
    NULL,
    '{"distance": "haversine", "k": 3, "lat": "lat", "lon": "lon"}')) as doc
)
select r."origin_id"::varchar(65535) as "origin_id", r."destination_id"::varchar(65535) as "destination_id", r."cost"::double precision as "cost"
from terraplan_call as c, c.doc.tables."costs" as r

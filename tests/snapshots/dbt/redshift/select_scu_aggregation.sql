with terraplan_call as (
  select json_parse("terraplan"."f_scu_aggregation"(
    (select '[' || listagg(json_serialize(object('account_id', t."account_id", 'zip', t."zip", 'lon', t."lon", 'lat', t."lat", 'revenue', t."revenue")), ',') || ']' from "analytics"."sales"."accounts" as t),
    '{"lat": "lat", "lon": "lon", "metrics": ["revenue"], "scu_id": "zip"}')) as doc
)
select r."id"::varchar(65535) as "id", r."lon"::double precision as "lon", r."lat"::double precision as "lat", r."n_points"::bigint as "n_points", r."revenue"::double precision as "revenue"
from terraplan_call as c, c.doc.tables."scus" as r

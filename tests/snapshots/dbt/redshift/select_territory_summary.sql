with terraplan_call as (
  select json_parse("terraplan"."f_territory_balancing"(
    (select '[' || listagg(json_serialize(object('id', t."id", 'lon', t."lon", 'lat', t."lat", 'population', t."population", 'accounts', t."accounts")), ',') || ']' from "analytics"."sales"."scus" as t),
    NULL,
    (select '[' || listagg(json_serialize(object('from_id', t."from_id", 'to_id', t."to_id")), ',') || ']' from "analytics"."sales"."scu_edges" as t),
    '{"lat": "lat", "lon": "lon", "metrics": ["population", "accounts"], "seed": 0, "territories": 8, "tolerance": 0.05}')) as doc
)
select r."territory"::varchar(65535) as "territory", r."center"::varchar(65535) as "center", r."n_units"::bigint as "n_units", r."population"::double precision as "population", r."accounts"::double precision as "accounts", r."population_ratio"::double precision as "population_ratio", r."accounts_ratio"::double precision as "accounts_ratio", r."compactness"::double precision as "compactness", r."contiguous"::boolean as "contiguous"
from terraplan_call as c, c.doc.tables."territories" as r

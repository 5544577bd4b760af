-- terraplan:component territory_balancing assignments
-- terraplan:solve
select json_parse("terraplan"."f_territory_balancing"(
    (select '[' || listagg(json_serialize(object('id', t."id", 'lon', t."lon", 'lat', t."lat", 'population', t."population", 'accounts', t."accounts", 'terraplan_current', t."terraplan_current")), ',') || ']' from (select s.*, coalesce(p."territory", '(new)') as "terraplan_current" from "analytics"."sales"."scus" as s left join "analytics"."sales"."territory_alignment" as p on cast(s."id" as varchar(65535)) = p."id") as t),
    NULL,
    (select '[' || listagg(json_serialize(object('from_id', t."from_id", 'to_id', t."to_id")), ',') || ']' from "analytics"."sales"."scu_edges" as t),
    '{"current": "terraplan_current", "disruption_weight": 5, "lat": "lat", "lon": "lon", "max_moved": 0.1, "metrics": ["population", "accounts"], "seed": 0, "territories": 8, "tolerance": 0.05}')) as doc
-- terraplan:unpack
select r."id"::varchar(65535) as "id", r."territory"::varchar(65535) as "territory", r."center"::varchar(65535) as "center", r."distance"::double precision as "distance", r."previous_territory"::varchar(65535) as "previous_territory", r."moved"::boolean as "moved"
from __terraplan_doc__ as c, c.doc.tables."assignments" as r
-- terraplan:fingerprint
select md5((select '[' || listagg(json_serialize(object('id', t."id", 'lon', t."lon", 'lat', t."lat", 'population', t."population", 'accounts', t."accounts")), ',') || ']' from "analytics"."sales"."scus" as t)) || '|' || '-' || '|' || md5((select '[' || listagg(json_serialize(object('from_id', t."from_id", 'to_id', t."to_id")), ',') || ']' from "analytics"."sales"."scu_edges" as t)) || '|' || '{"lat": "lat", "lon": "lon", "metrics": ["population", "accounts"], "seed": 0, "territories": 8, "tolerance": 0.05}' || '|' || '{"disruption_weight": 5, "max_moved": 0.1}' as fingerprint

with terraplan_call as (
  select json_parse("terraplan"."f_road_network"(
    (select '[' || listagg(json_serialize(object('way_id', t."way_id", 'seq', t."seq", 'node_id', t."node_id", 'lon', t."lon", 'lat', t."lat", 'highway', t."highway")), ',') || ']' from "analytics"."sales"."osm_way_nodes" as t),
    '{"profile": "drive"}')) as doc
)
select r."from_id"::varchar(65535) as "from_id", r."to_id"::varchar(65535) as "to_id", r."length_m"::double precision as "length_m", r."oneway"::boolean as "oneway", r."highway"::varchar(65535) as "highway", r."way_id"::varchar(65535) as "way_id", r."cost"::double precision as "cost"
from terraplan_call as c, c.doc.tables."edges" as r

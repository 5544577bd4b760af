-- The way-node table of terraplan's road builder from BigQuery's public OpenStreetMap
-- tables (bigquery-public-data.geo_openstreetmap): $ways like planet_ways (id, nodes
-- ARRAY<STRUCT<id>>, all_tags ARRAY<STRUCT<key, value>>) and $nodes like planet_nodes
-- (id, longitude, latitude). One row per (way, position) of every way tagged highway,
-- with the tags routing reads; seq counts from 0 along the way. The bound bbox
-- ($min_lon.. $max_lat, all NULL for none) keeps the way nodes inside it; a way cut by it
-- is split by the builder where nodes are missing from the sequence.
WITH tagged AS (
  SELECT
    w.id AS way_id,
    MAX(CASE WHEN t.tag.key = 'highway' THEN t.tag.value END) AS highway,
    MAX(CASE WHEN t.tag.key = 'oneway' THEN t.tag.value END) AS oneway,
    MAX(CASE WHEN t.tag.key = 'maxspeed' THEN t.tag.value END) AS maxspeed,
    MAX(CASE WHEN t.tag.key = 'junction' THEN t.tag.value END) AS junction,
    MAX(CASE WHEN t.tag.key = 'access' THEN t.tag.value END) AS access,
    MAX(CASE WHEN t.tag.key = 'motor_vehicle' THEN t.tag.value END) AS motor_vehicle,
    MAX(CASE WHEN t.tag.key = 'motorcar' THEN t.tag.value END) AS motorcar,
    MAX(CASE WHEN t.tag.key = 'foot' THEN t.tag.value END) AS foot,
    MAX(CASE WHEN t.tag.key = 'area' THEN t.tag.value END) AS area,
    MAX(CASE WHEN t.tag.key = 'bridge' THEN t.tag.value END) AS bridge,
    MAX(CASE WHEN t.tag.key = 'tunnel' THEN t.tag.value END) AS tunnel,
    MAX(CASE WHEN t.tag.key = 'name' THEN t.tag.value END) AS name
  FROM $ways AS w
  CROSS JOIN UNNEST(w.all_tags) AS t(tag)
  GROUP BY w.id
),
positions AS (
  SELECT w.id AS way_id, p.pos - 1 AS seq, p.node.id AS node_id
  FROM $ways AS w
  CROSS JOIN UNNEST(w.nodes) WITH ORDINALITY AS p(node, pos)
)
SELECT
  p.way_id, p.seq, p.node_id,
  CAST(n.longitude AS DOUBLE) AS lon, CAST(n.latitude AS DOUBLE) AS lat,
  t.highway, t.oneway, t.maxspeed, t.junction, t.access, t.motor_vehicle, t.motorcar,
  t.foot, t.area, t.bridge, t.tunnel, t.name
FROM positions AS p
JOIN tagged AS t ON t.way_id = p.way_id
JOIN $nodes AS n ON n.id = p.node_id
WHERE t.highway IS NOT NULL
  AND ($min_lon IS NULL OR (n.longitude BETWEEN $min_lon AND $max_lon
                            AND n.latitude BETWEEN $min_lat AND $max_lat))
ORDER BY p.way_id, p.seq

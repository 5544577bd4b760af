/* The way-node table of terraplan's road builder from BigQuery's public OpenStreetMap */
/* tables (bigquery-public-data.geo_openstreetmap): $ways like planet_ways (id, nodes */
/* ARRAY<STRUCT<id>>, all_tags ARRAY<STRUCT<key, value>>) and $nodes like planet_nodes */
/* (id, longitude, latitude). One row per (way, position) of every way tagged highway, */
/* with the tags routing reads; seq counts from 0 along the way. The bound bbox */
/* ($min_lon.. $max_lat, all NULL for none) keeps the way nodes inside it; a way cut by it */
/* is split by the builder where nodes are missing from the sequence. */
WITH tagged AS (
  SELECT
    w.id AS way_id,
    MAX(CASE WHEN tag.key = 'highway' THEN tag.value END) AS highway,
    MAX(CASE WHEN tag.key = 'oneway' THEN tag.value END) AS oneway,
    MAX(CASE WHEN tag.key = 'maxspeed' THEN tag.value END) AS maxspeed,
    MAX(CASE WHEN tag.key = 'junction' THEN tag.value END) AS junction,
    MAX(CASE WHEN tag.key = 'access' THEN tag.value END) AS access,
    MAX(CASE WHEN tag.key = 'motor_vehicle' THEN tag.value END) AS motor_vehicle,
    MAX(CASE WHEN tag.key = 'motorcar' THEN tag.value END) AS motorcar,
    MAX(CASE WHEN tag.key = 'foot' THEN tag.value END) AS foot,
    MAX(CASE WHEN tag.key = 'area' THEN tag.value END) AS area,
    MAX(CASE WHEN tag.key = 'bridge' THEN tag.value END) AS bridge,
    MAX(CASE WHEN tag.key = 'tunnel' THEN tag.value END) AS tunnel,
    MAX(CASE WHEN tag.key = 'name' THEN tag.value END) AS name
  FROM `bigquery-public-data`.`geo_openstreetmap`.`planet_ways` AS w
  CROSS JOIN UNNEST(w.all_tags) AS tag
  GROUP BY
    w.id
), positions AS (
  SELECT
    w.id AS way_id,
    pos - 1 AS seq,
    node.id AS node_id
  FROM `bigquery-public-data`.`geo_openstreetmap`.`planet_ways` AS w
  CROSS JOIN UNNEST(w.nodes) AS node WITH OFFSET AS pos
)
SELECT
  p.way_id,
  p.seq,
  p.node_id,
  CAST(n.longitude AS FLOAT64) AS lon,
  CAST(n.latitude AS FLOAT64) AS lat,
  t.highway,
  t.oneway,
  t.maxspeed,
  t.junction,
  t.access,
  t.motor_vehicle,
  t.motorcar,
  t.foot,
  t.area,
  t.bridge,
  t.tunnel,
  t.name
FROM positions AS p
JOIN tagged AS t
  ON t.way_id = p.way_id
JOIN `bigquery-public-data`.`geo_openstreetmap`.`planet_nodes` AS n
  ON n.id = p.node_id
WHERE
  NOT t.highway IS NULL
  AND (
    24.9 IS NULL
    OR (
      n.longitude BETWEEN 24.9 AND 25.0 AND n.latitude BETWEEN 60.15 AND 60.2
    )
  )
ORDER BY
  p.way_id NULLS LAST,
  p.seq NULLS LAST;

/* The way-node table of terraplan's road builder from BigQuery's public OpenStreetMap */
/* tables (bigquery-public-data.geo_openstreetmap): $ways like planet_ways (id, nodes */
/* ARRAY<STRUCT<id>>, all_tags ARRAY<STRUCT<key, value>>) and $nodes like planet_nodes */
/* (id, longitude, latitude). One row per (way, position) of every way tagged highway, */
/* with the tags routing reads; seq counts from 0 along the way (from the array position, */
/* whatever base a dialect's UNNEST/FLATTEN/POSEXPLODE counts from). The bound bbox */
/* ($min_lon.. $max_lat, all NULL for none) keeps the way nodes inside it; a way cut by it */
/* is split by the builder where nodes are missing from the sequence. */
WITH tagged AS (
  SELECT
    w.id AS way_id,
    MAX(CASE WHEN CAST(t.tag.key AS TEXT) = 'highway' THEN CAST(t.tag.value AS TEXT) END) AS highway,
    MAX(CASE WHEN CAST(t.tag.key AS TEXT) = 'oneway' THEN CAST(t.tag.value AS TEXT) END) AS oneway,
    MAX(
      CASE WHEN CAST(t.tag.key AS TEXT) = 'maxspeed' THEN CAST(t.tag.value AS TEXT) END
    ) AS maxspeed,
    MAX(
      CASE WHEN CAST(t.tag.key AS TEXT) = 'junction' THEN CAST(t.tag.value AS TEXT) END
    ) AS junction,
    MAX(CASE WHEN CAST(t.tag.key AS TEXT) = 'access' THEN CAST(t.tag.value AS TEXT) END) AS access,
    MAX(
      CASE
        WHEN CAST(t.tag.key AS TEXT) = 'motor_vehicle'
        THEN CAST(t.tag.value AS TEXT)
      END
    ) AS motor_vehicle,
    MAX(
      CASE WHEN CAST(t.tag.key AS TEXT) = 'motorcar' THEN CAST(t.tag.value AS TEXT) END
    ) AS motorcar,
    MAX(CASE WHEN CAST(t.tag.key AS TEXT) = 'foot' THEN CAST(t.tag.value AS TEXT) END) AS foot,
    MAX(CASE WHEN CAST(t.tag.key AS TEXT) = 'area' THEN CAST(t.tag.value AS TEXT) END) AS area,
    MAX(CASE WHEN CAST(t.tag.key AS TEXT) = 'bridge' THEN CAST(t.tag.value AS TEXT) END) AS bridge,
    MAX(CASE WHEN CAST(t.tag.key AS TEXT) = 'tunnel' THEN CAST(t.tag.value AS TEXT) END) AS tunnel,
    MAX(CASE WHEN CAST(t.tag.key AS TEXT) = 'name' THEN CAST(t.tag.value AS TEXT) END) AS name
  FROM "bigquery-public-data"."geo_openstreetmap"."planet_ways" AS w
  CROSS JOIN UNNEST(w.all_tags) AS t(tag)
  GROUP BY
    w.id
), positions AS (
  SELECT
    w.id AS way_id,
    ROW_NUMBER() OVER (PARTITION BY w.id ORDER BY p.pos) - 1 AS seq,
    CAST(p.node.id AS BIGINT) AS node_id
  FROM "bigquery-public-data"."geo_openstreetmap"."planet_ways" AS w
  CROSS JOIN UNNEST(w.nodes) WITH ORDINALITY AS p(node, pos)
)
SELECT
  p.way_id,
  p.seq,
  p.node_id,
  CAST(n.longitude AS DOUBLE) AS lon,
  CAST(n.latitude AS DOUBLE) AS lat,
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
JOIN "bigquery-public-data"."geo_openstreetmap"."planet_nodes" AS n
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
  p.way_id,
  p.seq;

-- Road segments from a way-node table (terraplan's reader, or roads/osm_way_nodes): one
-- edge per pair of consecutive way nodes of a travelled way, the same lengths, speeds and
-- directions terraplan's builder gives before it folds pass-through nodes and keeps the
-- largest strongly connected part (run `terraplan roads` on the way-node table for that).
-- $travelled: the profile's filter on highway and access tags; $class_kmh: the class
-- speed table (km/h); $posted_kmh: maxspeed in km/h or NULL (drive) / NULL (walk);
-- $direction: +1 along the way, -1 against it, 0 both. Length is the haversine distance
-- in metres (R = 6371008.8 m); 0.017453292519943295 is pi / 180.
WITH steps AS (
  SELECT
    way_id, seq, node_id, lon, lat, highway, oneway, maxspeed, junction, access,
    motor_vehicle, motorcar, foot, area,
    LEAD(node_id) OVER (PARTITION BY way_id ORDER BY seq) AS next_node,
    LEAD(seq) OVER (PARTITION BY way_id ORDER BY seq) AS next_seq,
    LEAD(lon) OVER (PARTITION BY way_id ORDER BY seq) AS next_lon,
    LEAD(lat) OVER (PARTITION BY way_id ORDER BY seq) AS next_lat
  FROM $way_nodes
  WHERE lon IS NOT NULL AND lat IS NOT NULL
),
measured AS (
  SELECT
    way_id, seq, node_id, next_node, highway,
    $direction AS direction,
    COALESCE($posted_kmh, $class_kmh) AS kmh,
    2 * 6371008.8 * ASIN(SQRT(LEAST(1.0,
      POWER(SIN((next_lat - lat) * 0.017453292519943295 / 2), 2)
      + COS(lat * 0.017453292519943295) * COS(next_lat * 0.017453292519943295)
        * POWER(SIN((next_lon - lon) * 0.017453292519943295 / 2), 2)))) AS length_m
  FROM steps
  WHERE next_node IS NOT NULL AND next_seq = seq + 1 AND next_node <> node_id AND $travelled
)
SELECT
  CASE WHEN direction < 0 THEN next_node ELSE node_id END AS from_id,
  CASE WHEN direction < 0 THEN node_id ELSE next_node END AS to_id,
  length_m,
  length_m / (kmh / 3.6) AS seconds,
  direction <> 0 AS oneway,
  highway,
  way_id,
  seq
FROM measured
ORDER BY way_id, seq

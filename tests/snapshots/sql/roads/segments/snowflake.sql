/* Road segments from a way-node table (terraplan's reader, or roads/osm_way_nodes): one */
/* edge per pair of consecutive way nodes of a travelled way, the same lengths, speeds and */
/* directions terraplan's builder gives before it folds pass-through nodes and keeps the */
/* largest strongly connected part (run `terraplan roads` on the way-node table for that). */
/* $travelled: the profile's filter on highway and access tags; $class_kmh: the class */
/* speed table (km/h); $posted_kmh: maxspeed in km/h or NULL (drive) / NULL (walk); */
/* $direction: +1 along the way, -1 against it, 0 both. Length is the haversine distance */
/* in metres (R = 6371008.8 m); 0.017453292519943295 is pi / 180. */
WITH steps AS (
  SELECT
    way_id,
    seq,
    node_id,
    lon,
    lat,
    highway,
    oneway,
    maxspeed,
    junction,
    access,
    motor_vehicle,
    motorcar,
    foot,
    area,
    LEAD(node_id) OVER (PARTITION BY way_id ORDER BY seq) AS next_node,
    LEAD(seq) OVER (PARTITION BY way_id ORDER BY seq) AS next_seq,
    LEAD(lon) OVER (PARTITION BY way_id ORDER BY seq) AS next_lon,
    LEAD(lat) OVER (PARTITION BY way_id ORDER BY seq) AS next_lat
  FROM "analytics"."way_nodes"
  WHERE
    NOT lon IS NULL AND NOT lat IS NULL
), measured AS (
  SELECT
    way_id,
    seq,
    node_id,
    next_node,
    highway,
    CASE
      WHEN LOWER(COALESCE(oneway, '')) IN ('-1', 'reverse')
      THEN -1
      WHEN LOWER(COALESCE(oneway, '')) IN ('1', 'true', 'yes')
      OR (
        (
          LOWER(COALESCE(junction, '')) IN ('circular', 'roundabout')
          OR LOWER(COALESCE(highway, '')) = 'motorway'
        )
        AND NOT LOWER(COALESCE(oneway, '')) IN ('0', 'false', 'no')
      )
      THEN 1
      ELSE 0
    END AS direction,
    COALESCE(
      CASE
        WHEN REGEXP_LIKE(
          LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))),
          '^ *[0-9]+[.]?[0-9]* *(km/h|kmh|kph)? *$'
        )
        THEN NULLIF(
          TRY_CAST(REGEXP_SUBSTR(LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))), '[0-9]+[.]?[0-9]*') AS DOUBLE),
          0
        )
        WHEN REGEXP_LIKE(LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))), '^ *[0-9]+[.]?[0-9]* *mph *$')
        THEN NULLIF(
          TRY_CAST(REGEXP_SUBSTR(LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))), '[0-9]+[.]?[0-9]*') AS DOUBLE),
          0
        ) * 1.609344
        WHEN REGEXP_LIKE(LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))), '^ *[0-9]+[.]?[0-9]* *knots *$')
        THEN NULLIF(
          TRY_CAST(REGEXP_SUBSTR(LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))), '[0-9]+[.]?[0-9]*') AS DOUBLE),
          0
        ) * 1.852
        WHEN LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))) = 'living_street'
        OR LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))) LIKE '%:living_street'
        THEN 10.0
        WHEN LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))) = 'motorway'
        OR LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))) LIKE '%:motorway'
        THEN 110.0
        WHEN LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))) = 'rural'
        OR LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))) LIKE '%:rural'
        THEN 90.0
        WHEN LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))) = 'trunk'
        OR LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))) LIKE '%:trunk'
        THEN 100.0
        WHEN LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))) = 'urban'
        OR LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))) LIKE '%:urban'
        THEN 50.0
        WHEN LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))) = 'walk'
        OR LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))) LIKE '%:walk'
        THEN 6.0
        WHEN LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))) = 'zone30'
        OR LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))) LIKE '%:zone30'
        THEN 30.0
        WHEN LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))) = 'zone:30'
        OR LOWER(TRIM(REGEXP_SUBSTR(maxspeed, '^[^;]*'))) LIKE '%:zone:30'
        THEN 30.0
      END,
      CASE
        WHEN highway = 'living_street'
        THEN 10.0
        WHEN highway = 'motorway'
        THEN 100.0
        WHEN highway = 'motorway_link'
        THEN 60.0
        WHEN highway = 'primary'
        THEN 65.0
        WHEN highway = 'primary_link'
        THEN 45.0
        WHEN highway = 'residential'
        THEN 30.0
        WHEN highway = 'road'
        THEN 30.0
        WHEN highway = 'secondary'
        THEN 55.0
        WHEN highway = 'secondary_link'
        THEN 40.0
        WHEN highway = 'service'
        THEN 15.0
        WHEN highway = 'tertiary'
        THEN 45.0
        WHEN highway = 'tertiary_link'
        THEN 35.0
        WHEN highway = 'trunk'
        THEN 85.0
        WHEN highway = 'trunk_link'
        THEN 50.0
        WHEN highway = 'unclassified'
        THEN 35.0
      END
    ) AS kmh,
    2 * 6371008.8 * ASIN(
      SQRT(
        LEAST_IGNORE_NULLS(
          1.0,
          POWER(SIN((
            next_lat - lat
          ) * 0.017453292519943295 / 2), 2) + COS(lat * 0.017453292519943295) * COS(next_lat * 0.017453292519943295) * POWER(SIN((
            next_lon - lon
          ) * 0.017453292519943295 / 2), 2)
        )
      )
    ) AS length_m
  FROM steps
  WHERE
    NOT next_node IS NULL
    AND next_seq = seq + 1
    AND next_node <> node_id
    AND (
      highway IN (
        'living_street',
        'motorway',
        'motorway_link',
        'primary',
        'primary_link',
        'residential',
        'road',
        'secondary',
        'secondary_link',
        'service',
        'tertiary',
        'tertiary_link',
        'trunk',
        'trunk_link',
        'unclassified'
      )
      AND LOWER(COALESCE(area, '')) <> 'yes'
      AND NOT LOWER(COALESCE(motorcar, motor_vehicle, '')) IN ('no', 'private')
      AND NOT (
        LOWER(COALESCE(access, '')) IN ('no', 'private')
        AND NOT LOWER(COALESCE(motorcar, motor_vehicle, '')) IN (
          'agricultural',
          'customers',
          'delivery',
          'designated',
          'destination',
          'permissive',
          'permit',
          'yes'
        )
      )
      AND NOT LOWER(COALESCE(oneway, '')) IN ('alternating', 'reversible')
    )
)
SELECT
  CASE WHEN direction < 0 THEN next_node ELSE node_id END AS from_id,
  CASE WHEN direction < 0 THEN node_id ELSE next_node END AS to_id,
  length_m,
  length_m / (
    kmh / 3.6
  ) AS seconds,
  direction <> 0 AS oneway,
  highway,
  way_id,
  seq
FROM measured
ORDER BY
  way_id,
  seq;

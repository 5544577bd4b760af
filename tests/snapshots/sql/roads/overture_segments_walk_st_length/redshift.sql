/* Road edges from Overture Maps transportation tables: $segments like Overture's `segment` */
/* (id, subtype, class, subclass, connectors LIST<STRUCT<connector_id, at>>, speed_limits, */
/* access_restrictions, geometry) and $connectors like `connector` (id, bbox STRUCT<xmin, */
/* xmax, ymin, ymax>). One step per pair of consecutive connectors along a road segment */
/* (ordered by `at`), travelled forward (first connector to the next) and backward, with the */
/* same class speeds as terraplan's OSM builder (class, `_link` for subclass link). */
/* A direction is closed when an access rule denies it (heading forward/backward or none, */
/* travel mode the profile's or none, no time/purpose/status/vehicle scope, `between` */
/* covering the step's midpoint) and no allowed/designated rule in scope names one of the */
/* profile's modes ($mode_named tests m.mode). $heading_matters is FALSE for walking: */
/* heading-scoped rules (one-way streets) then close nothing, as in the OSM builder. */
/* Speed: the max_speed of the most specific rule in scope (heading-scoped first, then */
/* mode-named, then the lowest), mph converted to km/h, else $class_kmh (km/h by highway */
/* class, NULL drops the segment); $use_limits is FALSE for walking. Length: */
/* $segment_length_m * (next at - at) when given (ST_LENGTH of a GEOGRAPHY, metres), else */
/* the haversine chord between the two connectors (R = 6371008.8 m). A step open both ways */
/* at one speed is one row with oneway FALSE; otherwise each open direction is its own row */
/* with oneway TRUE. Snowflake reads the nested fields as VARIANT paths (GET_PATH), hence */
/* the casts. */
WITH roads AS (
  SELECT
    s.id AS segment_id,
    s.class || CASE WHEN s.subclass = 'link' THEN '_link' ELSE '' END AS highway,
    ST_LENGTH(s.geometry) AS segment_length_m
  FROM "segment" AS s
  WHERE
    s.subtype = 'road'
), stops AS (
  SELECT
    s.id AS segment_id,
    CAST(ref.connector_id AS VARCHAR(MAX)) AS connector_id,
    CAST(ref."at" AS DOUBLE PRECISION) AS at_fraction
  FROM "segment" AS s
  CROSS JOIN s.connectors AS ref
  WHERE
    s.subtype = 'road'
), steps AS (
  SELECT
    segment_id,
    connector_id AS from_id,
    at_fraction,
    LEAD(connector_id) OVER (PARTITION BY segment_id ORDER BY at_fraction) AS to_id,
    LEAD(at_fraction) OVER (PARTITION BY segment_id ORDER BY at_fraction) AS next_at,
    ROW_NUMBER() OVER (PARTITION BY segment_id ORDER BY at_fraction) - 1 AS seq
  FROM stops
), placed AS (
  SELECT
    st.segment_id,
    st.seq,
    st.from_id,
    st.to_id,
    r.highway,
    r.segment_length_m,
    CAST((
      st.at_fraction + st.next_at
    ) AS DOUBLE PRECISION) / 2 AS mid,
    st.next_at - st.at_fraction AS share,
    CAST(a.bbox.xmin AS DOUBLE PRECISION) AS lon,
    CAST(a.bbox.ymin AS DOUBLE PRECISION) AS lat,
    CAST(b.bbox.xmin AS DOUBLE PRECISION) AS next_lon,
    CAST(b.bbox.ymin AS DOUBLE PRECISION) AS next_lat
  FROM steps AS st
  JOIN roads AS r
    ON r.segment_id = st.segment_id
  JOIN "connector" AS a
    ON a.id = st.from_id
  JOIN "connector" AS b
    ON b.id = st.to_id
  WHERE
    NOT st.to_id IS NULL AND st.to_id <> st.from_id
), headed AS (
  SELECT
    placed.*,
    'forward' AS heading
  FROM placed
  UNION ALL
  SELECT
    placed.*,
    'backward' AS heading
  FROM placed
), named_modes AS (
  SELECT
    s.id AS segment_id,
    pos AS rule_no,
    'access' AS kind
  FROM "segment" AS s
  CROSS JOIN s.access_restrictions AS rule
  CROSS JOIN rule."when".mode AS mode
  WHERE
    TRIM('"' FROM CAST(mode AS VARCHAR(MAX))) IN ('foot')
  GROUP BY
    s.id,
    pos
  UNION ALL
  SELECT
    s.id AS segment_id,
    pos AS rule_no,
    'speed' AS kind
  FROM "segment" AS s
  CROSS JOIN s.speed_limits AS rule
  CROSS JOIN rule."when".mode AS mode
  WHERE
    TRIM('"' FROM CAST(mode AS VARCHAR(MAX))) IN ('foot')
  GROUP BY
    s.id,
    pos
), rules AS (
  SELECT
    s.id AS segment_id,
    pos AS rule_no,
    'access' AS kind,
    CAST(rule.access_type AS VARCHAR(MAX)) AS access_type,
    CAST(NULL AS DOUBLE PRECISION) AS kmh,
    CAST(rule."when".heading AS VARCHAR(MAX)) AS heading,
    rule."when".mode IS NULL AS all_modes,
    rule."when".during IS NULL
    AND rule."when"."using" IS NULL
    AND rule."when".recognized IS NULL
    AND rule."when".vehicle IS NULL AS unconditional,
    CAST(rule."between"[0] AS DOUBLE PRECISION) AS lo,
    CAST(rule."between"[1] AS DOUBLE PRECISION) AS hi
  FROM "segment" AS s
  CROSS JOIN s.access_restrictions AS rule
  UNION ALL
  SELECT
    s.id,
    pos,
    'speed',
    CAST(NULL AS VARCHAR(MAX)),
    CAST(rule.max_speed.value AS DOUBLE PRECISION) * CASE
      WHEN LOWER(CAST(rule.max_speed.unit AS VARCHAR(MAX))) = 'mph'
      THEN 1.609344
      ELSE 1
    END,
    CAST(rule."when".heading AS VARCHAR(MAX)),
    rule."when".mode IS NULL,
    rule."when".during IS NULL
    AND rule."when"."using" IS NULL
    AND rule."when".recognized IS NULL
    AND rule."when".vehicle IS NULL,
    CAST(rule."between"[0] AS DOUBLE PRECISION),
    CAST(rule."between"[1] AS DOUBLE PRECISION)
  FROM "segment" AS s
  CROSS JOIN s.speed_limits AS rule
  WHERE
    CAST(rule.max_speed.value AS DOUBLE PRECISION) > 0
), in_scope AS (
  SELECT
    h.segment_id,
    h.seq,
    h.heading,
    ru.kind,
    ru.access_type,
    ru.kmh,
    ru.rule_no,
    NOT ru.heading IS NULL AS by_heading,
    NOT nm.rule_no IS NULL AS by_mode
  FROM headed AS h
  JOIN rules AS ru
    ON ru.segment_id = h.segment_id
  LEFT JOIN named_modes AS nm
    ON nm.segment_id = ru.segment_id AND nm.rule_no = ru.rule_no AND nm.kind = ru.kind
  WHERE
    ru.unconditional
    AND (
      ru.heading IS NULL OR (
        FALSE AND ru.heading = h.heading
      )
    )
    AND (
      ru.all_modes OR NOT nm.rule_no IS NULL
    )
    AND (
      ru.lo IS NULL OR h.mid BETWEEN ru.lo AND ru.hi
    )
), access AS (
  SELECT
    segment_id,
    seq,
    heading,
    MAX(CASE WHEN kind = 'access' AND access_type = 'denied' THEN 1 ELSE 0 END) AS denied,
    MAX(
      CASE
        WHEN kind = 'access' AND access_type IN ('allowed', 'designated') AND by_mode
        THEN 1
        ELSE 0
      END
    ) AS allowed
  FROM in_scope
  GROUP BY
    segment_id,
    seq,
    heading
), posted AS (
  SELECT
    segment_id,
    seq,
    heading,
    kmh
  FROM (
    SELECT
      segment_id,
      seq,
      heading,
      kmh,
      ROW_NUMBER() OVER (
        PARTITION BY segment_id, seq, heading
        ORDER BY by_heading DESC NULLS LAST, by_mode DESC NULLS LAST, kmh, rule_no
      ) AS pick
    FROM in_scope
    WHERE
      kind = 'speed' AND FALSE
  ) AS ranked
  WHERE
    pick = 1
), directed AS (
  SELECT
    h.segment_id,
    h.seq,
    h.heading,
    h.from_id,
    h.to_id,
    h.highway,
    COALESCE(
      h.segment_length_m * h.share,
      2 * 6371008.8 * ASIN(
        SQRT(
          LEAST(
            1.0,
            POWER(
              SIN(CAST((
                h.next_lat - h.lat
              ) * 0.017453292519943295 AS DOUBLE PRECISION) / 2),
              2
            ) + COS(h.lat * 0.017453292519943295) * COS(h.next_lat * 0.017453292519943295) * POWER(
              SIN(CAST((
                h.next_lon - h.lon
              ) * 0.017453292519943295 AS DOUBLE PRECISION) / 2),
              2
            )
          )
        )
      )
    ) AS length_m,
    COALESCE(
      p.kmh,
      CASE
        WHEN highway = 'bridleway'
        THEN 5.0
        WHEN highway = 'corridor'
        THEN 5.0
        WHEN highway = 'crossing'
        THEN 5.0
        WHEN highway = 'cycleway'
        THEN 5.0
        WHEN highway = 'footway'
        THEN 5.0
        WHEN highway = 'living_street'
        THEN 5.0
        WHEN highway = 'path'
        THEN 5.0
        WHEN highway = 'pedestrian'
        THEN 5.0
        WHEN highway = 'platform'
        THEN 5.0
        WHEN highway = 'primary'
        THEN 5.0
        WHEN highway = 'primary_link'
        THEN 5.0
        WHEN highway = 'residential'
        THEN 5.0
        WHEN highway = 'road'
        THEN 5.0
        WHEN highway = 'secondary'
        THEN 5.0
        WHEN highway = 'secondary_link'
        THEN 5.0
        WHEN highway = 'service'
        THEN 5.0
        WHEN highway = 'steps'
        THEN 2.5
        WHEN highway = 'tertiary'
        THEN 5.0
        WHEN highway = 'tertiary_link'
        THEN 5.0
        WHEN highway = 'track'
        THEN 5.0
        WHEN highway = 'trail'
        THEN 5.0
        WHEN highway = 'trunk'
        THEN 5.0
        WHEN highway = 'trunk_link'
        THEN 5.0
        WHEN highway = 'unclassified'
        THEN 5.0
      END
    ) AS kmh
  FROM headed AS h
  LEFT JOIN access AS ac
    ON ac.segment_id = h.segment_id AND ac.seq = h.seq AND ac.heading = h.heading
  LEFT JOIN posted AS p
    ON p.segment_id = h.segment_id AND p.seq = h.seq AND p.heading = h.heading
  WHERE
    NOT (
      COALESCE(ac.denied, 0) = 1 AND COALESCE(ac.allowed, 0) = 0
    )
), paired AS (
  SELECT
    segment_id,
    seq,
    from_id,
    to_id,
    highway,
    length_m,
    MAX(CASE WHEN heading = 'forward' THEN kmh END) AS forward_kmh,
    MAX(CASE WHEN heading = 'backward' THEN kmh END) AS backward_kmh
  FROM directed
  WHERE
    kmh > 0
  GROUP BY
    segment_id,
    seq,
    from_id,
    to_id,
    highway,
    length_m
)
SELECT
  from_id,
  to_id,
  length_m,
  CAST(length_m AS DOUBLE PRECISION) / (
    CAST(forward_kmh AS DOUBLE PRECISION) / 3.6
  ) AS seconds,
  backward_kmh IS NULL OR backward_kmh <> forward_kmh AS oneway,
  highway,
  segment_id,
  seq
FROM paired
WHERE
  NOT forward_kmh IS NULL
UNION ALL
SELECT
  to_id,
  from_id,
  length_m,
  CAST(length_m AS DOUBLE PRECISION) / (
    CAST(backward_kmh AS DOUBLE PRECISION) / 3.6
  ),
  TRUE,
  highway,
  segment_id,
  seq
FROM paired
WHERE
  NOT backward_kmh IS NULL
  AND (
    forward_kmh IS NULL OR backward_kmh <> forward_kmh
  )
ORDER BY
  segment_id,
  seq,
  oneway,
  from_id;

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
    CAST(NULL AS DOUBLE) AS segment_length_m
  FROM "overture"."transportation"."segment" AS s
  WHERE
    s.subtype = 'road'
), stops AS (
  SELECT
    s.id AS segment_id,
    CAST(c.ref.connector_id AS TEXT) AS connector_id,
    CAST(c.ref."at" AS DOUBLE) AS at_fraction
  FROM "overture"."transportation"."segment" AS s
  CROSS JOIN UNNEST(s.connectors) AS c(ref)
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
    (
      st.at_fraction + st.next_at
    ) / 2 AS mid,
    st.next_at - st.at_fraction AS share,
    CAST(a.bbox.xmin AS DOUBLE) AS lon,
    CAST(a.bbox.ymin AS DOUBLE) AS lat,
    CAST(b.bbox.xmin AS DOUBLE) AS next_lon,
    CAST(b.bbox.ymin AS DOUBLE) AS next_lat
  FROM steps AS st
  JOIN roads AS r
    ON r.segment_id = st.segment_id
  JOIN "overture"."transportation"."connector" AS a
    ON a.id = st.from_id
  JOIN "overture"."transportation"."connector" AS b
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
    r.pos AS rule_no,
    'access' AS kind
  FROM "overture"."transportation"."segment" AS s
  CROSS JOIN UNNEST(s.access_restrictions) WITH ORDINALITY AS r(rule, pos)
  CROSS JOIN UNNEST(r.rule."when".mode) AS m(mode)
  WHERE
    TRIM(CAST(m.mode AS TEXT), '"') IN ('car', 'motor_vehicle', 'vehicle')
  GROUP BY
    s.id,
    r.pos
  UNION ALL
  SELECT
    s.id AS segment_id,
    r.pos AS rule_no,
    'speed' AS kind
  FROM "overture"."transportation"."segment" AS s
  CROSS JOIN UNNEST(s.speed_limits) WITH ORDINALITY AS r(rule, pos)
  CROSS JOIN UNNEST(r.rule."when".mode) AS m(mode)
  WHERE
    TRIM(CAST(m.mode AS TEXT), '"') IN ('car', 'motor_vehicle', 'vehicle')
  GROUP BY
    s.id,
    r.pos
), rules AS (
  SELECT
    s.id AS segment_id,
    r.pos AS rule_no,
    'access' AS kind,
    CAST(r.rule.access_type AS TEXT) AS access_type,
    CAST(NULL AS DOUBLE) AS kmh,
    CAST(r.rule."when".heading AS TEXT) AS heading,
    r.rule."when".mode IS NULL AS all_modes,
    r.rule."when".during IS NULL
    AND r.rule."when"."using" IS NULL
    AND r.rule."when".recognized IS NULL
    AND r.rule."when".vehicle IS NULL AS unconditional,
    CAST(r.rule.between[1] AS DOUBLE) AS lo,
    CAST(r.rule.between[2] AS DOUBLE) AS hi
  FROM "overture"."transportation"."segment" AS s
  CROSS JOIN UNNEST(s.access_restrictions) WITH ORDINALITY AS r(rule, pos)
  UNION ALL
  SELECT
    s.id,
    r.pos,
    'speed',
    CAST(NULL AS TEXT),
    CAST(r.rule.max_speed.value AS DOUBLE) * CASE
      WHEN LOWER(CAST(r.rule.max_speed.unit AS TEXT)) = 'mph'
      THEN 1.609344
      ELSE 1
    END,
    CAST(r.rule."when".heading AS TEXT),
    r.rule."when".mode IS NULL,
    r.rule."when".during IS NULL
    AND r.rule."when"."using" IS NULL
    AND r.rule."when".recognized IS NULL
    AND r.rule."when".vehicle IS NULL,
    CAST(r.rule.between[1] AS DOUBLE),
    CAST(r.rule.between[2] AS DOUBLE)
  FROM "overture"."transportation"."segment" AS s
  CROSS JOIN UNNEST(s.speed_limits) WITH ORDINALITY AS r(rule, pos)
  WHERE
    CAST(r.rule.max_speed.value AS DOUBLE) > 0
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
        TRUE AND ru.heading = h.heading
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
        ORDER BY by_heading DESC, by_mode DESC, kmh, rule_no
      ) AS pick
    FROM in_scope
    WHERE
      kind = 'speed' AND TRUE
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
            POWER(SIN((
              h.next_lat - h.lat
            ) * 0.017453292519943295 / 2), 2) + COS(h.lat * 0.017453292519943295) * COS(h.next_lat * 0.017453292519943295) * POWER(SIN((
              h.next_lon - h.lon
            ) * 0.017453292519943295 / 2), 2)
          )
        )
      )
    ) AS length_m,
    COALESCE(
      p.kmh,
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
  length_m / (
    forward_kmh / 3.6
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
  length_m / (
    backward_kmh / 3.6
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

/* Great-circle (haversine) costs on lon/lat degrees from every origin to every destination: */
/* cost = 2 R asin(sqrt(sin^2(dlat / 2) + cos(lat1) cos(lat2) sin^2(dlon / 2))), with */
/* R the bound radius (6371.0088 km, the IUGG mean Earth radius, or the same in miles), as */
/* components.costs.point_costs computes it. Rows with a NULL coordinate are skipped. */
/* 0.017453292519943295 is pi / 180: BigQuery has neither RADIANS() nor PI(). */
/* LEAST(1.0, ...) keeps ASIN defined when rounding lifts its argument above 1 (antipodes). */
/* Coordinates are cast to DOUBLE so DECIMAL columns do not lose scale. The bound cutoff */
/* (NULL for none) keeps only pairs with cost <= cutoff. */
SELECT
  origin_id,
  destination_id,
  cost
FROM (
  SELECT
    o.id AS origin_id,
    d.id AS destination_id,
    2 * 6371.0088 * ASIN(
      SQRT(
        LEAST(
          1.0,
          POWER(SIN((
            d.lat - o.lat
          ) / 2), 2) + COS(o.lat) * COS(d.lat) * POWER(SIN((
            d.lon - o.lon
          ) / 2), 2)
        )
      )
    ) AS cost
  FROM (
    SELECT
      `scu_id` AS id,
      CAST(`lon` AS FLOAT64) * 0.017453292519943295 AS lon,
      CAST(`lat` AS FLOAT64) * 0.017453292519943295 AS lat
    FROM `analytics`.`scus`
    WHERE
      NOT `lon` IS NULL AND NOT `lat` IS NULL
  ) AS o
  CROSS JOIN (
    SELECT
      `scu_id` AS id,
      CAST(`lon` AS FLOAT64) * 0.017453292519943295 AS lon,
      CAST(`lat` AS FLOAT64) * 0.017453292519943295 AS lat
    FROM `analytics`.`scus`
    WHERE
      NOT `lon` IS NULL AND NOT `lat` IS NULL
  ) AS d
) AS pairs
WHERE
  NULL IS NULL OR cost <= NULL
ORDER BY
  origin_id NULLS LAST,
  destination_id NULLS LAST;

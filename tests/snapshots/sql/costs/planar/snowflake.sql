/* Straight-line costs on planar coordinates from every origin to every destination: */
/* cost = sqrt((x1 - x2)^2 + (y1 - y2)^2), in the unit of the coordinates, as */
/* components.costs.point_costs computes it. Rows with a NULL coordinate are skipped. */
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
    SQRT(POWER(o.x - d.x, 2) + POWER(o.y - d.y, 2)) AS cost
  FROM (
    SELECT
      "scu_id" AS id,
      CAST("east" AS DOUBLE) AS x,
      CAST("north" AS DOUBLE) AS y
    FROM "analytics"."scus"
    WHERE
      NOT "east" IS NULL AND NOT "north" IS NULL
  ) AS o
  CROSS JOIN (
    SELECT
      "center_id" AS id,
      CAST("east" AS DOUBLE) AS x,
      CAST("north" AS DOUBLE) AS y
    FROM "analytics"."centers"
    WHERE
      NOT "east" IS NULL AND NOT "north" IS NULL
  ) AS d
) AS pairs
WHERE
  25.0 IS NULL OR cost <= 25.0
ORDER BY
  origin_id,
  destination_id;

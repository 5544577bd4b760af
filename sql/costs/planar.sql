-- Straight-line costs on planar coordinates from every origin to every destination:
-- cost = sqrt((x1 - x2)^2 + (y1 - y2)^2), in the unit of the coordinates, as
-- components.costs.point_costs computes it. Rows with a NULL coordinate are skipped.
-- Coordinates are cast to DOUBLE so DECIMAL columns do not lose scale. The bound cutoff
-- (NULL for none) keeps only pairs with cost <= cutoff.
SELECT origin_id, destination_id, cost
FROM (
  SELECT
    o.id AS origin_id,
    d.id AS destination_id,
    SQRT(POWER(o.x - d.x, 2) + POWER(o.y - d.y, 2)) AS cost
  FROM (
    SELECT
      $origin_id AS id,
      CAST($origin_x AS DOUBLE) AS x,
      CAST($origin_y AS DOUBLE) AS y
    FROM $origins
    WHERE $origin_x IS NOT NULL AND $origin_y IS NOT NULL
  ) AS o
  CROSS JOIN (
    SELECT
      $destination_id AS id,
      CAST($destination_x AS DOUBLE) AS x,
      CAST($destination_y AS DOUBLE) AS y
    FROM $destinations
    WHERE $destination_x IS NOT NULL AND $destination_y IS NOT NULL
  ) AS d
) AS pairs
WHERE $cutoff IS NULL OR cost <= $cutoff
ORDER BY origin_id, destination_id

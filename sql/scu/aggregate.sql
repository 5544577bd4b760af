-- Aggregate a point table (accounts, customers, stops) to one row per SCU:
-- the SCU's coordinates are the mean of its points, metrics are summed.
-- $coord and $metric are lists: one projection per coordinate / metric column.
SELECT
  $scu_id AS id,
  AVG($coord) AS coord,
  COUNT(*) AS n_points,
  SUM($metric) AS metric
FROM $source
WHERE $scu_id IS NOT NULL
GROUP BY $scu_id
ORDER BY $scu_id

-- One-row data-quality profile of an SCU table, computed where the data lives.
-- The metric projections are repeated once per metric column.
SELECT
  COUNT(*) AS n_rows,
  COUNT(*) - COUNT($id) AS null_ids,
  COUNT($id) - COUNT(DISTINCT $id) AS duplicate_ids,
  SUM(CASE WHEN $x IS NULL OR $y IS NULL THEN 1 ELSE 0 END) AS null_coordinates,
  SUM(CASE WHEN $x < $x_min OR $x > $x_max OR $y < $y_min OR $y > $y_max THEN 1 ELSE 0 END)
    AS coordinates_out_of_range,
  SUM(CASE WHEN $metric IS NULL THEN 1 ELSE 0 END) AS null_metric,
  SUM(CASE WHEN $metric_neg < 0 THEN 1 ELSE 0 END) AS negative_metric
FROM $source

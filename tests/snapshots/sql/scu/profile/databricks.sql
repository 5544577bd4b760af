/* One-row data-quality profile of an SCU table, computed where the data lives. */
/* The metric projections are repeated once per metric column. */
SELECT
  COUNT(*) AS n_rows,
  COUNT(*) - COUNT(`scu_id`) AS null_ids,
  COUNT(`scu_id`) - COUNT(DISTINCT `scu_id`) AS duplicate_ids,
  SUM(CASE WHEN `lon` IS NULL OR `lat` IS NULL THEN 1 ELSE 0 END) AS null_coordinates,
  SUM(
    CASE WHEN `lon` < -180 OR `lon` > 180 OR `lat` < -90 OR `lat` > 90 THEN 1 ELSE 0 END
  ) AS coordinates_out_of_range,
  SUM(CASE WHEN `population` IS NULL THEN 1 ELSE 0 END) AS `null__population`,
  SUM(CASE WHEN `accounts` IS NULL THEN 1 ELSE 0 END) AS `null__accounts`,
  SUM(CASE WHEN `population` < 0 THEN 1 ELSE 0 END) AS `negative__population`,
  SUM(CASE WHEN `accounts` < 0 THEN 1 ELSE 0 END) AS `negative__accounts`
FROM `analytics`.`scus`;

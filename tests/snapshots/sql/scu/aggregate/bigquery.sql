/* Aggregate a point table (accounts, customers, stops) to one row per SCU: */
/* the SCU's coordinates are the mean of its points, metrics are summed. */
SELECT
  `zip` AS id,
  AVG(`lon`) AS x,
  AVG(`lat`) AS y,
  COUNT(*) AS n_points,
  SUM(`revenue`) AS `revenue`,
  SUM(`visits`) AS `visits`
FROM `analytics`.`accounts`
WHERE
  NOT `zip` IS NULL
GROUP BY
  id
ORDER BY
  `zip` NULLS LAST;

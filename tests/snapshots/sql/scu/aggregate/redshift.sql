/* Aggregate a point table (accounts, customers, stops) to one row per SCU: */
/* the SCU's coordinates are the mean of its points, metrics are summed. */
/* $coord and $metric are lists: one projection per coordinate / metric column. */
SELECT
  "zip" AS id,
  AVG("lon") AS "lon",
  AVG("lat") AS "lat",
  COUNT(*) AS n_points,
  SUM("revenue") AS "revenue",
  SUM("visits") AS "visits"
FROM "analytics"."accounts"
WHERE
  NOT "zip" IS NULL
GROUP BY
  "zip"
ORDER BY
  "zip";

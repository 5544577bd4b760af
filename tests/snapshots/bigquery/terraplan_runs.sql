CREATE TABLE IF NOT EXISTS `my-project`.`terraplan`.`terraplan_runs` (
  `run_id` STRING,
  `workflow` STRING,
  `step` STRING,
  `component` STRING,
  `status` STRING,
  `started_at` TIMESTAMP,
  `finished_at` TIMESTAMP,
  `params` STRING,
  `report` STRING,
  `error` STRING,
  `outputs` STRING,
  `trigger` STRING,
  `fingerprint` STRING,
  `inputs` STRING
);

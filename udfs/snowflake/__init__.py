"""Snowflake adapter: Snowpark stored procedures, partition UDTFs and their deployment.

* :mod:`.procedures`: ``CALL <schema>.<COMPONENT>(<input tables>, <output tables>,
  PARAMS)``, one handler per discovered component;
* :mod:`.partition`: ``TABLE(<schema>.<COMPONENT>_BY_PARTITION(...) OVER (PARTITION BY
  ...))``, one independent problem per partition;
* :mod:`.ddl` and :mod:`.deploy`: the DDL from the component specs and
  ``terraplan deploy snowflake`` (:mod:`.cli`);
* :mod:`.names`, :mod:`.frames`, :mod:`.publish`, :mod:`.runlog`, :mod:`.profile`: quoted
  identifiers and Snowflake's case rules, DataFrame I/O, atomic output writes, the
  ``TERRAPLAN_RUNS`` log and the in-warehouse SCU profile.

Modules are imported on demand: ``import udfs.snowflake`` alone loads no Snowpark.
"""

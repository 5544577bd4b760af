CREATE OR REPLACE PROCEDURE "ANALYTICS"."TERRAPLAN"."SCU_AGGREGATION"("POINTS" VARCHAR, "SCUS_OUT" VARCHAR, "PARAMS" VARIANT)
RETURNS VARIANT
LANGUAGE PYTHON
RUNTIME_VERSION = '3.11'
PACKAGES = ('snowflake-snowpark-python==1.40.0', 'numpy==2.0.2', 'scipy==1.13.1', 'pandas==2.2.2', 'shapely', 'h3-py')
IMPORTS = ('@"ANALYTICS"."TERRAPLAN_CODE"."TERRAPLAN_STAGE"/terraplan.zip')
HANDLER = 'udfs.snowflake.procedures.scu_aggregation'
COMMENT = 'terraplan: Roll a point table (accounts, customers, stops) up to one row per SCU: mean coordinates, summed metrics and a point count; in a warehouse it runs as SQL.'
EXECUTE AS CALLER;

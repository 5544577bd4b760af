CREATE OR REPLACE PROCEDURE "ANALYTICS"."TERRAPLAN"."SCU_AGGREGATION"("POINTS" VARCHAR, "SCUS_OUT" VARCHAR, "PARAMS" VARIANT)
RETURNS VARIANT
LANGUAGE PYTHON
RUNTIME_VERSION = '3.11'
PACKAGES = ('snowflake-snowpark-python', 'numpy', 'scipy', 'pandas', 'shapely', 'h3-py')
IMPORTS = ('@"ANALYTICS"."TERRAPLAN_CODE"."TERRAPLAN_STAGE"/terraplan.zip')
HANDLER = 'udfs.snowflake.procedures.scu_aggregation'
COMMENT = 'terraplan: Roll a point table (accounts, customers, stops) up to one row per SCU: mean coordinates, summed metrics and a point count; in a warehouse it runs as SQL.'
EXECUTE AS CALLER;

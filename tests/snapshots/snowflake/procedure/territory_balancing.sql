CREATE OR REPLACE PROCEDURE "ANALYTICS"."TERRAPLAN"."TERRITORY_BALANCING"("SCUS" VARCHAR, "CENTERS" VARCHAR, "EDGES" VARCHAR, "ASSIGNMENTS_OUT" VARCHAR, "TERRITORIES_OUT" VARCHAR, "PARAMS" VARIANT)
RETURNS VARIANT
LANGUAGE PYTHON
RUNTIME_VERSION = '3.11'
PACKAGES = ('snowflake-snowpark-python==1.40.0', 'numpy==2.0.2', 'scipy==1.13.1', 'pandas==2.2.2', 'shapely', 'h3-py')
IMPORTS = ('@"ANALYTICS"."TERRAPLAN_CODE"."TERRAPLAN_STAGE"/terraplan.zip')
HANDLER = 'udfs.snowflake.procedures.territory_balancing'
COMMENT = 'terraplan: Split SCUs into balanced, contiguous, compact territories around fixed or sought centers (Zoltners & Sinha Lagrangian relaxation + local search).'
EXECUTE AS CALLER;

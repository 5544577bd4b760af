CREATE OR REPLACE PROCEDURE "ANALYTICS"."TERRAPLAN"."LOCATION_ALLOCATION"("DEMAND" VARCHAR, "CANDIDATES" VARCHAR, "REQUIRED" VARCHAR, "COMPETITORS" VARCHAR, "EDGES" VARCHAR, "COSTS" VARCHAR, "ASSIGNMENTS_OUT" VARCHAR, "FACILITIES_OUT" VARCHAR, "PARAMS" VARIANT)
RETURNS VARIANT
LANGUAGE PYTHON
RUNTIME_VERSION = '3.11'
PACKAGES = ('snowflake-snowpark-python==1.40.0', 'numpy==2.0.2', 'scipy==1.13.1', 'pandas==2.2.2', 'shapely', 'h3-py')
IMPORTS = ('@"ANALYTICS"."TERRAPLAN_CODE"."TERRAPLAN_STAGE"/terraplan.zip')
HANDLER = 'udfs.snowflake.procedures.location_allocation'
COMMENT = 'terraplan: Choose where to open facilities (reps, hubs, stores) and which demand each serves: p-median, p-center, max coverage, fewest sites or Huff market share, with capacities, closest assignment, required and competitor sites, budgets; every answer comes with a lower bound and gap (fast interchange + VNS, Lagrangian bound, HiGHS).'
EXECUTE AS CALLER;

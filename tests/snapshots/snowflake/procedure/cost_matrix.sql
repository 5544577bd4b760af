CREATE OR REPLACE PROCEDURE "ANALYTICS"."TERRAPLAN"."COST_MATRIX"("POINTS" VARCHAR, "TO" VARCHAR, "EDGES" VARCHAR, "NODES" VARCHAR, "COSTS_OUT" VARCHAR, "PARAMS" VARIANT)
RETURNS VARIANT
LANGUAGE PYTHON
RUNTIME_VERSION = '3.11'
PACKAGES = ('snowflake-snowpark-python==1.40.0', 'numpy==2.0.2', 'scipy==1.13.1', 'pandas==2.2.2', 'shapely', 'h3-py')
IMPORTS = ('@"ANALYTICS"."TERRAPLAN_CODE"."TERRAPLAN_STAGE"/terraplan.zip')
HANDLER = 'udfs.snowflake.procedures.cost_matrix'
COMMENT = 'terraplan: Costs from every point of INPUT to every point of INPUT (or of --to): straight line (planar euclidean or great-circle haversine) or shortest path over a road network, optionally only the k nearest or those within a cutoff, optionally transformed. Writes the long table origin_id, destination_id, cost; pairs with no road path are dropped and counted in the report, never given a big number.'
EXECUTE AS CALLER;

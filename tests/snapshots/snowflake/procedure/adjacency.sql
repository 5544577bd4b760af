CREATE OR REPLACE PROCEDURE "ANALYTICS"."TERRAPLAN"."ADJACENCY"("UNITS" VARCHAR, "EDGES" VARCHAR, "NODES" VARCHAR, "EDGES_OUT" VARCHAR, "PARAMS" VARIANT)
RETURNS VARIANT
LANGUAGE PYTHON
RUNTIME_VERSION = '3.11'
PACKAGES = ('snowflake-snowpark-python==1.40.0', 'numpy==2.0.2', 'scipy==1.13.1', 'pandas==2.2.2', 'shapely', 'h3-py')
IMPORTS = ('@"ANALYTICS"."TERRAPLAN_CODE"."TERRAPLAN_STAGE"/terraplan.zip')
HANDLER = 'udfs.snowflake.procedures.adjacency'
COMMENT = 'terraplan: Which units touch: polygons sharing a boundary (queen or rook), neighbouring H3 cells, a Delaunay triangulation of points with overly long edges pruned, units joined by a road, or an explicit edge table. Disconnected parts are reported (count, sizes, ids); --link-islands joins each to its nearest part by edges flagged artificial.'
EXECUTE AS CALLER;

CREATE OR REPLACE PROCEDURE "ANALYTICS"."TERRAPLAN"."ROAD_NETWORK"("OSM" VARCHAR, "NODES_OUT" VARCHAR, "EDGES_OUT" VARCHAR, "PARAMS" VARIANT)
RETURNS VARIANT
LANGUAGE PYTHON
RUNTIME_VERSION = '3.11'
PACKAGES = ('snowflake-snowpark-python==1.40.0', 'numpy==2.0.2', 'scipy==1.13.1', 'pandas==2.2.2', 'shapely', 'h3-py')
IMPORTS = ('@"ANALYTICS"."TERRAPLAN_CODE"."TERRAPLAN_STAGE"/terraplan.zip')
HANDLER = 'udfs.snowflake.procedures.road_network'
COMMENT = 'terraplan: A routable road network from OpenStreetMap: nodes (node_id, lon, lat) and edges (from_id, to_id, length_m, <profile>_seconds, oneway, highway) between intersections. Speeds come from maxspeed tags or per-class defaults (drive, km/h: motorway 100, motorway_link 60, trunk 85, trunk_link 50, primary 65, primary_link 45, secondary 55, secondary_link 40, tertiary 45, tertiary_link 35, unclassified 35, road 30, residential 25, living_street 10, service 15; walk 5, steps 2.5), oneways are respected, and only the largest strongly connected part is kept (the rest is reported). The edges and nodes feed costs --edges/--nodes and adjacency --source roads.'
EXECUTE AS CALLER;

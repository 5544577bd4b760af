CREATE OR REPLACE PROCEDURE "ANALYTICS"."TERRAPLAN"."TERRITORY_POLYGONS"("UNITS" VARCHAR, "ASSIGNMENTS" VARCHAR, "POLYGONS_OUT" VARCHAR, "PARAMS" VARIANT)
RETURNS VARIANT
LANGUAGE PYTHON
RUNTIME_VERSION = '3.11'
PACKAGES = ('snowflake-snowpark-python==1.40.0', 'numpy==2.0.2', 'scipy==1.13.1', 'pandas==2.2.2', 'shapely', 'h3-py')
IMPORTS = ('@"ANALYTICS"."TERRAPLAN_CODE"."TERRAPLAN_STAGE"/terraplan.zip')
HANDLER = 'udfs.snowflake.procedures.territory_polygons'
COMMENT = 'terraplan: Territories as polygons: the units\' WKT polygons dissolved by territory (one row per territory: territory, n_units, n_parts, the --metric totals, wkt), or with --level units every unit with its territory and polygon. Write it as GeoJSON, GeoPackage or FlatGeobuf (--out FILE.geojson|.gpkg|.fgb, lon/lat) or CSV with WKT.'
EXECUTE AS CALLER;

"""The territory-polygons component, described once."""

from __future__ import annotations

from components.spec import ComponentSpec, Param, Table

SPEC = ComponentSpec(
    name="territory_polygons",
    title="Territory polygons",
    summary=("Territories as polygons: the units' WKT polygons dissolved by territory (one "
             "row per territory: territory, n_units, n_parts, the --metric totals, wkt), or "
             "with --level units every unit with its territory and polygon. Write it as "
             "GeoJSON, GeoPackage or FlatGeobuf (--out FILE.geojson|.gpkg|.fgb, lon/lat) or "
             "CSV with WKT."),
    inputs=(
        Table("units", "units: an id and a WKT Polygon/MultiPolygon column in lon/lat "
              "(GIS inputs get one, 'wkt', when read)", columns=("id", "wkt")),
        Table("assignments", "each unit's territory: the id and territory columns (the "
              "assignments output of balance, or of locate with --territory facility)",
              columns=("id", "territory")),
    ),
    params=(
        Param("id", "str", "id column of the units (and of the assignments unless "
              "--assignment-id)", default="id", metavar="COL"),
        Param("assignment_id", "str", "id column of the assignments (default: 'id' if "
              "present, else the --id column)", metavar="COL"),
        Param("wkt", "str", "polygon column of the units", default="wkt", metavar="COL"),
        Param("territory", "str", "territory column of the assignments (locate: facility)",
              default="territory", metavar="COL"),
        Param("metric", "list[str]", "unit columns summed per territory (repeatable)",
              metavar="COL"),
        Param("gap_tolerance", "float", "close gaps and slivers between units narrower than "
              "this (coordinate units: 0.0001 degrees is about 10 m) before counting a "
              "territory's parts; 0 dissolves exactly", default=0.0, minimum=0.0,
              metavar="D"),
        Param("level", "str", "territories (dissolved, one row each) or units (every unit "
              "with its territory)", default="territories", choices=("territories", "units")),
    ),
    outputs=(
        Table("polygons", "territories: territory, n_units, n_parts (1 when the territory's "
              "area is in one piece), metric totals, wkt; units: the units' columns plus "
              "territory",
              columns=("territory", "n_units", "n_parts", "<metric>", "wkt")),
    ),
    examples=(
        "terraplan polygons counties.geojson --id scu_id --assignments out/assignments.csv "
        "--metric population --out territories.geojson",
        "terraplan polygons counties.csv --id scu_id --assignments out/assignments.csv "
        "--level units --out units.gpkg",
    ),
    command="polygons",
    cli_out="file",
)

"""The adjacency component, described once."""

from __future__ import annotations

from components.adjacency.model import EDGE_COLUMNS
from components.spec import ComponentSpec, Param, Table, point_params

SOURCES = ("points", "polygons", "h3", "edges", "roads")

SPEC = ComponentSpec(
    name="adjacency",
    title="Adjacency",
    summary=("Which units touch: polygons sharing a boundary (queen or rook), neighbouring H3 "
             "cells, a Delaunay triangulation of points with overly long edges pruned, units "
             "joined by a road, or an explicit edge table. Disconnected parts are reported "
             "(count, sizes, ids); --link-islands joins each to its nearest part by edges "
             "flagged artificial."),
    inputs=(
        Table("units", "units: an id plus, depending on --source, coordinates (x, y or lon, "
              "lat), a WKT polygon column or an H3 cell column", columns=("id",)),
        Table("edges", "--source edges: unit pairs from_id, to_id (optional cost); --source "
              "roads: road edges from_id, to_id between the node ids of --nodes",
              required=False, columns=("from_id", "to_id")),
        Table("nodes", "road nodes for --source roads: node_id and coordinates (the units' "
              "column names, or x, y or lon, lat)", required=False, columns=("node_id",)),
    ),
    params=(
        Param("source", "str",
              "points (pruned Delaunay triangulation of the coordinates), polygons (shared "
              "boundaries of --wkt), h3 (neighbouring cells of --h3), edges (the --edges "
              "table between unit ids) or roads (units whose nearest road nodes are joined by "
              "a road of --edges and --nodes); default: roads with --nodes, edges with "
              "--edges, polygons with --wkt, h3 with --h3, else points", choices=SOURCES),
        *point_params("id column of INPUT"),  # shared (components.spec)
        Param("wkt", "str", "column with each unit's Polygon or MultiPolygon as WKT (--source "
              "polygons; default 'wkt'); needs shapely", metavar="COL"),
        Param("h3", "str", "column with each unit's H3 cell (--source h3; default 'h3'); "
              "needs h3", metavar="COL"),
        Param("kind", "str", "polygon contiguity: queen (any shared point) or rook (a shared "
              "stretch of boundary)", default="queen", choices=("queen", "rook")),
        Param("cost", "str", "--source edges: column of the edges table holding each edge's "
              "length (default: 'cost' if present, else the straight-line distance between "
              "the units, else 1 per edge); --source roads: road cost column (e.g. cost or "
              "drive_seconds from terraplan roads): each unit pair is then as long as the "
              "road trip between the units' nearest road nodes (mean of both directions, "
              "oneway respected), so balance --distance network uses drive times",
              metavar="COL"),
        Param("max_edge_factor", "float",
              "--source points: drop a Delaunay edge longer than F times the typical edge "
              "length at both of its ends (a very large F keeps every edge)", default=3.0,
              minimum=1.0, metavar="F"),
        Param("distance", "str",
              "how edge lengths and island links are measured: euclidean (coordinate units) "
              "or haversine (km); default: haversine for lon/lat columns and H3 cells, else "
              "euclidean", choices=("euclidean", "haversine")),
        Param("link_islands", "bool",
              "join every disconnected part to its nearest part by one edge between their "
              "closest units (artificial=true); off: parts are only reported", default=False),
    ),
    outputs=(
        Table("edges", "one row per undirected edge, from_id at the lower input position; "
              "length in km (haversine, H3), coordinate units, edge cost or hops; "
              "artificial marks links added by --link-islands; source names the method",
              columns=EDGE_COLUMNS),
    ),
    examples=(
        "terraplan adjacency counties.csv --id fips --wkt wkt --kind rook --out adjacency.csv",
        "terraplan adjacency stores.csv --lon lon --lat lat --link-islands --out adjacency.csv",
        "terraplan adjacency scus.csv --edges roads.csv --nodes junctions.csv "
        "--out adjacency.csv",
    ),
    command="adjacency",
    cli_out="file",
)

"""The cost-matrix component, described once."""

from __future__ import annotations

from components.spec import ComponentSpec, Param, Table, point_params

SPEC = ComponentSpec(
    name="cost_matrix",
    title="Cost matrix",
    summary=("Costs from every point of INPUT to every point of INPUT (or of --to): straight "
             "line (planar euclidean or great-circle haversine) or shortest path over a road "
             "network, optionally only the k nearest or those within a cutoff, optionally "
             "transformed. Writes the long table origin_id, destination_id, cost; pairs with "
             "no road path are dropped and counted in the report, never given a big number."),
    inputs=(
        Table("points", "origin points: an id and coordinates (x, y or lon, lat)",
              columns=("id",)),
        Table("to", "destination points (centers, candidate sites): an id and coordinates "
              "under the same column names as INPUT; default: INPUT itself (all pairs)",
              required=False, columns=("id",)),
        Table("edges", "road network: from_id, to_id, cost (length or travel time, >= 0) and "
              "optional oneway (true: from -> to only); ids are node ids, or the point ids "
              "themselves when no nodes table is given", required=False,
              columns=("from_id", "to_id", "cost")),
        Table("nodes", "road nodes: node_id and coordinates (the INPUT's column names, or x, y "
              "or lon, lat); points snap to their nearest node", required=False,
              columns=("node_id",)),
    ),
    params=(
        *point_params("id column of INPUT"),
        Param("to_id", "str", "id column of the --to table (default: the --id column if "
              "present there, else 'id')", metavar="COL"),
        Param("distance", "str",
              "euclidean (planar x, y), haversine (great circle on lon, lat) or network "
              "(shortest path over --edges); default: network with --edges, else from the "
              "coordinates", choices=("euclidean", "haversine", "network")),
        Param("k", "int", "keep only the k cheapest destinations of each origin (a point "
              "counts as its own nearest when --to is not given)", minimum=1, metavar="N"),
        Param("cutoff", "float", "keep only pairs costing at most C (before --transform)",
              minimum=0.0, exclusive_minimum=True, metavar="C"),
        Param("unit", "str", "unit of great-circle distances (haversine, and snap distances "
              "and edge lengths of a lon/lat road network)", default="km",
              choices=("km", "mi")),
        Param("snap_cost", "float", "cost per unit of straight-line distance between a point "
              "and the road node it snaps to (1 when edge costs are lengths in the same unit)",
              default=1.0, minimum=0.0, exclusive_minimum=True, metavar="F"),
        Param("transform", "str", "transformation applied to every cost: linear "
              "(scale * c), power (scale * c ** exponent), exponential "
              "(scale * (exp(rate * c) - 1))", default="linear",
              choices=("linear", "power", "exponential")),
        Param("scale", "float", "multiplier of every transform", default=1.0, minimum=0.0,
              exclusive_minimum=True, metavar="F"),
        Param("exponent", "float", "exponent of --transform power", default=1.0, minimum=0.0,
              exclusive_minimum=True, metavar="F"),
        Param("rate", "float", "rate of --transform exponential", default=1.0, minimum=0.0,
              exclusive_minimum=True, metavar="F"),
        Param("max_pairs", "int", "refuse a dense table with more pairs than this (use --k or "
              "--cutoff for a sparse one)", default=50_000_000, minimum=1, metavar="N"),
    ),
    outputs=(
        Table("costs", "one row per reachable (origin, destination) pair kept, ordered by "
              "origin then destination in input order",
              columns=("origin_id", "destination_id", "cost")),
    ),
    examples=(
        "terraplan costs scus.csv --id scu_id --lon lon --lat lat --to centers.csv "
        "--out costs.csv",
        "terraplan costs scus.csv --k 10 --out nearest.parquet",
        "terraplan costs scus.csv --to centers.csv --distance network --edges roads.csv "
        "--nodes junctions.csv --out drive.csv",
    ),
    command="costs",
    cli_out="file",
)

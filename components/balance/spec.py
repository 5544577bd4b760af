"""The territory balancing component, described once."""

from __future__ import annotations

from components.spec import REQUIRED, ComponentSpec, Param, Table, point_params

SPEC = ComponentSpec(
    name="territory_balancing",
    title="Territory balancing",
    summary=("Split SCUs into balanced, contiguous, compact territories around fixed or "
             "sought centers (Zoltners & Sinha Lagrangian relaxation + local search)."),
    inputs=(
        Table("scus", "SCU table: id, coordinates, metric columns, optional current territory"),
        Table("centers", "one row per territory: id, and scu_id or coordinates (same names as "
              "the SCU table) for a fixed center (leave both empty to let the solver place it); "
              "optional share (relative target, e.g. 0.6 for a part-time rep) and "
              "min_<metric>/max_<metric> bounds", required=False, columns=("id",)),
        Table("edges", "SCU adjacency: from_id, to_id and optional cost (road travel cost)",
              required=False, columns=("from_id", "to_id")),
    ),
    params=(
        Param("territories", "int", "number of territories", default=REQUIRED, minimum=1,
              metavar="M"),
        Param("metrics", "list[str]", "metric column(s) to balance", default=REQUIRED,
              cli="metric", metavar="COL"),
        *point_params("SCU id column"),  # shared (components.spec)
        Param("tolerance", "float",
              "every territory's metric total lies within (1 +- F) x its target (total / M, or "
              "the center's share)", default=0.05, minimum=0.0, maximum=1.0, metavar="F"),
        Param("metric_tolerance", "list[str]",
              "per-metric tolerance overriding --tolerance, as COL=F (repeatable), e.g. "
              "accounts=0.03", metavar="COL=F"),
        Param("distance", "str",
              "distance along adjacency edges: straight-line euclidean (planar), haversine "
              "(lon/lat, km) or network (the edges' cost column); default from the coordinates",
              choices=("euclidean", "haversine", "network")),
        Param("current", "str", "column with each SCU's current territory", metavar="COL"),
        Param("weight", "str", "column weighting distance in the objective (default: the "
              "first metric)", metavar="COL"),
        Param("objective", "str", "what to minimise: compactness (metric-weighted distance, "
              "sum w_j d_ij) or distance (plain travel distance, sum d_ij); disruption is added "
              "with --disruption-weight or capped with --max-moved", default="compactness",
              choices=("compactness", "distance")),
        Param("max_distance", "float", "no unit may be farther than this from its center "
              "(in distance units: km for lon/lat, edge cost for network)", minimum=0.0,
              exclusive_minimum=True, metavar="D"),
        Param("locked", "str", "column naming the territory a unit must stay in (empty: free)",
              metavar="COL"),
        Param("region", "str", "column with each unit's region (state, district): units only "
              "join territories of their own region", metavar="COL"),
        Param("max_moved", "float", "hard cap on the share of the first metric that may change "
              "territory (needs --current)", minimum=0.0, maximum=1.0, metavar="F"),
        Param("starts", "int", "center sets to try when centers are sought, best kept (0: "
              "automatic: 5 up to 300 units, 3 up to 700, else 1)", default=0, minimum=0,
              metavar="N"),
        Param("disruption_weight", "float",
              "extra cost of moving a unit out of its current territory, in units of the mean "
              "weighted distance (0: report moves only)", default=0.0, minimum=0.0),
        Param("link_islands", "bool", "join disconnected parts of the adjacency graph to their "
              "nearest part with flagged artificial edges", default=True),
        Param("method", "str", "heuristic (Lagrangian + local search, any size) or exact (then "
              "a MILP solved by HiGHS for the heuristic's centers, within the time limit: for "
              "small instances; reports the MIP gap)", default="heuristic",
              choices=("heuristic", "exact")),
        Param("certify", "bool", "on small maps (up to 6,000 territory-unit pairs) spend the "
              "time left proving a tighter lower bound with HiGHS (the balance MIP without "
              "contiguity, then separator cuts) and trying the star-shaped MILP for a better "
              "answer; budgets in rounds, the time limit caps them", default=True),
        Param("seed", "int", "random seed (results are deterministic for a seed)", default=0,
              minimum=0, metavar="N"),
        Param("time_limit", "float", "wall-clock limit in seconds", default=60.0, minimum=0.0,
              exclusive_minimum=True, metavar="S"),
        Param("max_iterations", "int", "subgradient iterations per center set", default=200,
              minimum=1, metavar="N"),
    ),
    outputs=(
        Table("assignments", "one row per SCU", columns=(
            "id", "territory", "center", "distance", "previous_territory", "moved")),
        Table("territories", "one row per territory", columns=(
            "territory", "center", "n_units", "<metric>", "<metric>_ratio", "compactness",
            "contiguous")),
    ),
    examples=(
        "terraplan balance scus.csv --territories 10 --metric population --out out/",
    ),
    command="balance",
    cli_map=True,
)

"""The location-allocation component, described once."""

from __future__ import annotations

from components.locate.solver import EXACT, MODES, STRATEGIES
from components.spec import ComponentSpec, Param, Table, point_params

SITE_COLUMNS = ("id", "<x/y or lon/lat> | demand id", "capacity", "min_load", "opening_cost",
                "group", "attractiveness")

SPEC = ComponentSpec(
    name="location_allocation",
    title="Location allocation",
    summary=("Choose where to open facilities (reps, hubs, stores) and which demand each "
             "serves: p-median, p-center, max coverage, fewest sites or Huff market share, "
             "with capacities, closest assignment, required and competitor sites, budgets; "
             "every answer comes with a lower bound and gap (fast interchange + VNS, "
             "Lagrangian bound, HiGHS)."),
    inputs=(
        Table("demand", "demand points: id, coordinates, optional weight column"),
        Table("candidates", "candidate sites: id plus coordinates, or ids of demand points; "
              "optional capacity, min_load, opening_cost, group columns (default: every "
              "demand point is a candidate)", required=False, columns=SITE_COLUMNS),
        Table("required", "sites that are always open: candidate ids, demand ids or new sites "
              "with coordinates (same columns as candidates)", required=False,
              columns=SITE_COLUMNS),
        Table("competitors", "competitor sites (never ours): id plus coordinates or demand ids; "
              "a point strictly closer to a competitor than to every open site is captured; "
              "with the market-share strategies each competitor takes its Huff share",
              required=False, columns=("id", "<x/y or lon/lat> | demand id", "attractiveness")),
        Table("edges", "road graph between point/site ids for distance 'network': from_id, "
              "to_id, cost (shortest paths)", required=False,
              columns=("from_id", "to_id", "cost")),
        Table("costs", "your own cost matrix as a long table: origin (demand id), destination "
              "(candidate/required/competitor id), cost; sparse: a missing pair may not be "
              "used. Replaces --distance; no coordinates needed", required=False,
              columns=("origin", "destination", "cost")),
    ),
    params=(
        Param("facilities", "int", "number of facilities to open, p (required sites included; "
              "not used by min_facilities; a cap with --facilities-mode auto)", minimum=1,
              metavar="P"),
        Param("facilities_mode", "str", "min_total_cost: open exactly P, at most P (opening "
              "costs and load limits traded against assignment cost), or auto: the solver "
              "chooses P (with opening costs: at most P or every candidate; without: the "
              "smallest P meeting every constraint)", default="exactly", choices=MODES),
        Param("strategy", "str", "objective", default="min_total_cost", choices=STRATEGIES),
        *point_params("id column of every table"),  # shared (components.spec)
        Param("weight", "str", "demand weight column: scales each point's cost (default: 1 "
              "per point)", metavar="COL"),
        Param("load", "str", "load column: what a point puts on a site's capacity and min "
              "load (default: the weight)", metavar="COL"),
        Param("distance", "str", "euclidean (planar), haversine (lon/lat, km) or network "
              "(shortest paths over --edges; no coordinates needed); default from the "
              "coordinates (ignored with --costs)",
              choices=("euclidean", "haversine", "network")),
        Param("transform", "str", "cost transformation: linear c, power c^exponent, "
              "exponential exp(rate c) - 1", default="linear",
              choices=("linear", "power", "exponential")),
        Param("exponent", "float", "exponent of the power transformation", default=1.0,
              minimum=0.0, exclusive_minimum=True),
        Param("rate", "float", "rate of the exponential transformation", default=1.0,
              minimum=0.0, exclusive_minimum=True),
        Param("min_load", "float", "minimum load (demand weight) of an open facility",
              minimum=0.0, metavar="X"),
        Param("max_load", "float", "maximum load (capacity) of a facility; a candidates "
              "'capacity' column overrides it per site", minimum=0.0, metavar="Y"),
        Param("closest_assignment", "bool", "serve every point from its nearest open facility "
              "(ties by site id): keeps territories connected", default=False),
        Param("radius", "float", "coverage cutoff for max_coverage / max_backup_coverage / "
              "min_facilities (in cost "
              "units, after the transformation)", minimum=0.0, exclusive_minimum=True,
              metavar="R"),
        Param("max_cost", "float", "pairs costing more are not allowed; points with no open "
              "site within it stay unassigned (reported)", minimum=0.0, exclusive_minimum=True,
              metavar="C"),
        Param("allow_unassigned", "bool", "let points stay unassigned when capacities are too "
              "tight (reported)", default=False),
        Param("unassigned_penalty", "float", "cost per unit weight of an unassigned point "
              "(default: 10 x the largest cost)", minimum=0.0),
        Param("budget", "float", "maximum total opening cost (candidates 'opening_cost')",
              minimum=0.0),
        Param("max_per_group", "int", "maximum open facilities per candidates 'group'",
              minimum=1, metavar="N"),
        Param("forbidden_pairs", "json", "facility-point pairs that may not be used: "
              "[[facility_id, point_id], ...]"),
        Param("required_pairs", "json", "facility-point pairs that must be used (the facility "
              "opens): [[facility_id, point_id], ...]"),
        Param("attractiveness", "str", "market share: column of candidates/required/"
              "competitors holding each store's attractiveness A_j (default: the "
              "'attractiveness' column when present, else 1)", metavar="COL"),
        Param("decay", "str", "market share: distance decay f(d) = d^-rate (power) or "
              "exp(-rate d) (exponential)", default="power", choices=("power", "exponential")),
        Param("decay_rate", "float", "market share: the decay's exponent (power) or rate "
              "(exponential)", default=2.0, minimum=0.0, exclusive_minimum=True),
        Param("impedance_cutoff", "float", "market share: stores farther than this (in cost "
              "units) are not considered by a customer", minimum=0.0, exclusive_minimum=True,
              metavar="C"),
        Param("target_share", "float", "target_market_share: the share of total demand to "
              "capture (0-1) with the fewest stores", minimum=0.0, maximum=1.0,
              exclusive_minimum=True, metavar="F"),
        Param("backup_weight", "float", "max_backup_coverage: the share of the score given to "
              "demand covered twice (the rest to demand covered once)", default=0.5,
              minimum=0.0, maximum=1.0),
        Param("gap", "float", "stop proving once the certified gap is at most this (relative: "
              "0.0001 = 0.01 %); 'optimal' is reported only when the gap is closed", default=1e-4,
              minimum=0.0),
        Param("exact", "str", "run HiGHS on the exact model: auto (small instances), always, "
              "never", default="auto", choices=EXACT),
        Param("candidate_list", "int", "p-median at scale: each demand point keeps only its K "
              "nearest candidates (no n x m matrix; bound still valid for the full problem); "
              "about 3 x candidates / facilities is enough", minimum=1, metavar="K"),  # lscale
        Param("seed", "int", "random seed (results are deterministic for a seed)", default=0,
              minimum=0, metavar="N"),
        Param("time_limit", "float", "wall-clock limit in seconds", default=60.0, minimum=0.0,
              exclusive_minimum=True, metavar="S"),
    ),
    outputs=(
        Table("assignments", "one row per demand point", columns=(
            "id", "facility", "cost", "weight", "weighted_cost", "status", "reason")),
        Table("facilities", "one row per candidate, required and competitor site", columns=(
            "id", "type", "open", "load", "capacity", "utilisation", "n_points")),
    ),
    examples=(
        "terraplan locate scus.csv --facilities 8 --id scu_id --weight population --out out/",
        "terraplan locate stores.csv --facilities 5 --candidates sites.csv --max-load 12000 "
        "--closest-assignment --out out/",
    ),
    command="locate",
    cli_map=True,
)

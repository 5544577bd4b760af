"""Cost matrices on tables: validation, straight-line or road costs, transformation, report.

* :func:`compute_cost_matrix` returns the matrix itself for the solvers: a dense
  ``(n, m)`` array for all pairs (``inf`` = no road path), or a sparse CSR when ``k``
  or ``cutoff`` is given (stored entries are the kept pairs, explicit zeros included).
* :func:`cost_matrix` is the table entry point behind the CLI (``terraplan costs``),
  the DuckDB function ``terraplan_cost_matrix`` and the warehouse handlers: the long
  table ``origin_id, destination_id, cost`` plus a report.
* :func:`cost_sql` renders the straight-line costs as SQL (templates ``costs/planar``
  and ``costs/great_circle``) so a warehouse computes them where the data lives.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from components.costs._checks import scalar
from components.costs.metrics import (
    csr_with_explicit_zeros,
    earth_radius,
    knn_costs,
    point_costs,
)
from components.costs.network import RoadNetwork
from components.costs.routing import NetworkCosts, network_costs
from components.costs.spec import SPEC
from components.costs.table import LongTable, to_long_table
from components.costs.transform import transform_costs
from components.errors import (
    DuplicateIdError,
    EmptyTableError,
    MissingColumnError,
    MissingValueError,
    ParameterError,
    UnknownIdError,
    preview,
)
from components.result import ComponentResult
from components.scu import SCUColumns, validate_scus

_TRANSFORM_PARAMS = {"linear": ("scale",), "power": ("scale", "exponent"),
                     "exponential": ("scale", "rate")}
_MAX_EXAMPLES = 20
_MAX_LISTED = 100


@dataclass(frozen=True, eq=False)
class CostMatrix:
    """A cost matrix with the ids of its rows and columns and what happened building it.

    Attributes
    ----------
    costs : numpy.ndarray (n, m) or scipy.sparse.csr_matrix (n, m)
        Dense: every pair, ``inf`` where no road path exists. Sparse (``k`` and/or
        ``cutoff``): the stored entries are the kept pairs; a stored 0 is a real 0.
    origin_ids, destination_ids : numpy.ndarray
        Ids in row / column order.
    report : dict
        JSON-ready: metric, mode, counts, unreachable pairs, warnings, seconds.
    """

    costs: np.ndarray | sp.csr_matrix
    origin_ids: np.ndarray
    destination_ids: np.ndarray
    report: dict[str, Any]

    @property
    def is_sparse(self) -> bool:
        return sp.issparse(self.costs)

    def long_table(self) -> LongTable:
        """``(table, n_unreachable)``: one row per kept pair, row-major in input order."""
        return to_long_table(self.costs, self.origin_ids, self.destination_ids)


@dataclass(frozen=True)
class PointTable:
    """A validated points table: ids, and coordinates when it has (or needs) them."""

    ids: np.ndarray
    coords: np.ndarray | None
    kind: str | None  # 'planar' | 'lonlat' | None (ids only)
    columns: SCUColumns | None


def cost_matrix(points: pd.DataFrame, *, to: pd.DataFrame | None = None,
                edges: pd.DataFrame | None = None, nodes: pd.DataFrame | None = None,
                **params: Any) -> ComponentResult:
    """Long cost table ``origin_id, destination_id, cost`` between points (see the spec).

    >>> import pandas as pd
    >>> pts = pd.DataFrame({"id": ["a", "b"], "x": [0.0, 3.0], "y": [0.0, 4.0]})
    >>> cost_matrix(pts).tables["costs"]["cost"].tolist()
    [0.0, 5.0, 5.0, 0.0]
    """
    matrix = compute_cost_matrix(points, to=to, edges=edges, nodes=nodes, **params)
    started = time.perf_counter()
    table, _ = matrix.long_table()
    report = dict(matrix.report)
    report["pairs_written"] = len(table)
    if len(table):
        values = table["cost"].to_numpy()
        report["cost"] = {"min": float(values.min()), "mean": float(values.mean()),
                          "max": float(values.max())}
    report["seconds"] = report["seconds"] + time.perf_counter() - started
    return ComponentResult({"costs": table}, report)


def compute_cost_matrix(points: pd.DataFrame, *, to: pd.DataFrame | None = None,
                        edges: pd.DataFrame | None = None, nodes: pd.DataFrame | None = None,
                        **params: Any) -> CostMatrix:
    """Cost matrix from ``points`` to ``to`` (default: ``points`` itself).

    Metrics: ``euclidean`` ``sqrt(dx² + dy²)``; ``haversine`` great circle on a sphere of
    radius 6371.0088 km; ``network`` ``f * (s_i + s_j) + D(n_i, n_j)``, the directed
    shortest-path cost ``D`` between the road nodes the points snap to plus the snap
    distances ``s`` times ``f = snap_cost`` (no snapping when the edges join the point
    ids themselves). ``k`` / ``cutoff`` keep the k cheapest / those ``<= cutoff`` (on the
    untransformed cost) and give a sparse matrix; then ``transform`` is applied.
    """
    started = time.perf_counter()
    p = SPEC.validate_params(params)
    _check_transform(p)
    network = p["distance"] == "network" or (p["distance"] is None and edges is not None)
    _check_tables(network, to, edges, nodes)

    need_coords = not network or nodes is not None
    cols = SCUColumns(id=p["id"], x=p["x"], y=p["y"], lon=p["lon"], lat=p["lat"])
    origins = point_table(points, cols, "points table (INPUT)", need_coords)
    square = to is None
    if square:
        dests = origins
    else:
        to_id = p["to_id"] or (p["id"] if p["id"] in to.columns else "id")
        to_cols = SCUColumns(id=to_id) if origins.columns is None else SCUColumns(
            id=to_id, x=origins.columns.x, y=origins.columns.y, lon=origins.columns.lon,
            lat=origins.columns.lat)
        dests = point_table(to, to_cols, "destination table (--to)", origins.coords is not None)

    n, m = len(origins.ids), len(dests.ids)
    sparse_wanted = p["k"] is not None or p["cutoff"] is not None
    report: dict[str, Any] = {
        "status": "ok", "n_origins": n, "n_destinations": m, "all_pairs_of_input": square,
        "mode": _mode(p), "k": p["k"], "cutoff": p["cutoff"], "pairs_considered": n * m,
    }
    warnings: list[str] = []
    if network:
        costs = _network(origins, dests, square, edges, nodes, p, report, warnings)
    else:
        metric = _straight_metric(p["distance"], origins.kind)
        report["metric"] = metric
        report["unit"] = p["unit"] if metric == "haversine" else "coordinate units"
        if sparse_wanted:
            costs = knn_costs(origins.coords, dests.coords, p["k"], metric, unit=p["unit"],
                              cutoff=p["cutoff"])
            if p["cutoff"] is not None:
                _check_cutoff_straight(costs, origins, dests, square, metric, p)
        else:
            _check_size(n, m, p["max_pairs"])
            costs = point_costs(origins.coords, dests.coords, metric, unit=p["unit"])
        report["unreachable_pairs"] = 0
    if sparse_wanted:
        kept = costs.nnz if sp.issparse(costs) else int(np.isfinite(costs).sum())
        report["pairs_not_kept_by_k_or_cutoff"] = (n * m - kept
                                                   - report.get("unreachable_pairs", 0))

    kind = p["transform"]
    report["transform"] = {"kind": kind, **{name: p[name] for name in _TRANSFORM_PARAMS[kind]}}
    if kind != "linear" or p["scale"] != 1.0:
        costs = transform_costs(costs, kind, **{name: p[name]
                                                for name in _TRANSFORM_PARAMS[kind]})
    report["warnings"] = warnings
    if warnings:
        report["status"] = "warnings"
    report["seconds"] = time.perf_counter() - started
    return CostMatrix(costs, origins.ids, dests.ids, report)


# -- inputs ---------------------------------------------------------------------------------

def _check_transform(p: dict[str, Any]) -> None:
    used = _TRANSFORM_PARAMS[p["transform"]]
    for name in ("exponent", "rate"):
        if name not in used and p[name] != 1.0:
            owner = "power" if name == "exponent" else "exponential"
            raise ParameterError(
                f"parameter '{name}' applies only to transform '{owner}' but transform is "
                f"'{p['transform']}' (got {name}={p[name]:g}): pass --transform {owner} or "
                f"drop --{name}",
                column=name,
            )


def _check_tables(network: bool, to: pd.DataFrame | None, edges: pd.DataFrame | None,
                  nodes: pd.DataFrame | None) -> None:
    for name, table in (("to", to), ("edges", edges), ("nodes", nodes)):
        if table is not None and not isinstance(table, pd.DataFrame):
            raise ParameterError(f"{name} must be a pandas DataFrame; got "
                                 f"{type(table).__name__}", column=name)
    if network and edges is None:
        raise ParameterError("distance 'network' needs a road edges table (--edges FILE with "
                             "from_id, to_id, cost)", column="edges")
    if not network and edges is not None:
        raise ParameterError("an edges table is only read with distance 'network'; pass "
                             "--distance network or drop --edges", column="edges")
    if nodes is not None and edges is None:
        raise ParameterError("a nodes table needs a road edges table too (--edges FILE)",
                             column="nodes")


def point_table(df: Any, cols: SCUColumns, name: str, need_coords: bool) -> PointTable:
    """Validate a points table: ids always; coordinates when ``need_coords`` or present.

    Coordinates are the columns named in ``cols`` or, by convention, lon/lat or x/y
    (see :class:`~components.scu.SCUColumns`); every problem raises an InputError that
    names the table, the column and the rows.
    """
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(f"the {name} must be a pandas DataFrame; got {type(df).__name__}",
                             column="points")
    if not need_coords and cols.x is None and cols.lon is None:
        try:
            cols.resolve([str(c) for c in df.columns])
        except MissingColumnError:
            return PointTable(_ids_only(df, cols.id, name), None, None, None)
    table = validate_scus(df, cols, require_metrics=False, table=name)
    return PointTable(table.ids, table.coords, table.coordinate_kind, table.columns)


def _ids_only(df: pd.DataFrame, id_col: str, name: str) -> np.ndarray:
    if len(df) == 0:
        raise EmptyTableError(f"the {name} is empty: it needs at least one row")
    if id_col not in df.columns:
        raise MissingColumnError(
            f"column '{id_col}' not found in the {name}; columns present: "
            f"{', '.join(map(str, df.columns))}: name the id column with --id COL",
            column=id_col)
    ids = df[id_col]
    null = ids.isna().to_numpy()
    if null.any():
        rows = np.flatnonzero(null).tolist()
        raise MissingValueError(
            f"id column '{id_col}' of the {name} has {len(rows)} NULL value(s) at row(s) "
            f"{preview(rows)}; every point needs an id", column=id_col, rows=rows)
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        values = pd.unique(ids[dup])
        raise DuplicateIdError(
            f"id column '{id_col}' of the {name} has duplicated id(s) {preview(values)}; ids "
            "must be unique", column=id_col, rows=list(values))
    return ids.to_numpy(dtype=object)


def _straight_metric(distance: str | None, kind: str | None) -> str:
    metric = distance or ("haversine" if kind == "lonlat" else "euclidean")
    if metric == "haversine" and kind != "lonlat":
        raise ParameterError("distance 'haversine' needs lon/lat coordinates in degrees: name "
                             "them with --lon COL --lat COL", column="distance")
    if metric == "euclidean" and kind == "lonlat":
        raise ParameterError("distance 'euclidean' on lon/lat degrees is not a distance: use "
                             "--distance haversine, or --x COL --y COL for projected "
                             "coordinates", column="distance")
    return metric


def _mode(p: dict[str, Any]) -> str:
    if p["k"] is not None and p["cutoff"] is not None:
        return "k nearest within cutoff"
    if p["k"] is not None:
        return "k nearest"
    return "within cutoff" if p["cutoff"] is not None else "all pairs"


def _check_size(n: int, m: int, max_pairs: int) -> None:
    if n * m > max_pairs:
        raise ParameterError(
            f"{n:,} x {m:,} = {n * m:,} pairs exceed max_pairs={max_pairs:,}: pass --k N "
            "(nearest destinations only) or --cutoff C for a sparse table, or raise "
            "--max-pairs", column="max_pairs")


def _off_diagonal(costs: sp.csr_matrix, square: bool) -> int:
    if not square:
        return int(costs.nnz)
    rows = np.repeat(np.arange(costs.shape[0]), np.diff(costs.indptr))
    return int((rows != costs.indices).sum())


def _check_cutoff_straight(costs: sp.csr_matrix, origins: PointTable, dests: PointTable,
                           square: bool, metric: str, p: dict[str, Any]) -> None:
    """A cutoff below every distance keeps nothing: say so, with the smallest distance."""
    n, m = costs.shape
    if _off_diagonal(costs, square) or n * m - (n if square else 0) == 0:
        return
    nearest = knn_costs(origins.coords, dests.coords, min(m, 2 if square else 1), metric,
                        unit=p["unit"]).tocoo()
    keep = nearest.row != nearest.col if square else np.ones(nearest.nnz, dtype=bool)
    best = int(np.argmin(np.where(keep, nearest.data, np.inf)))
    raise ParameterError(
        f"cutoff={p['cutoff']:g} is below every distance between different points: the "
        f"smallest is {nearest.data[best]:.6g} (from {origins.ids[nearest.row[best]]!r} to "
        f"{dests.ids[nearest.col[best]]!r}); raise --cutoff above it or drop it",
        column="cutoff")


# -- road network ---------------------------------------------------------------------------

def as_text_ids(values: Any) -> pd.Series:
    """Ids as text the way the CLI reads them (``3.0`` -> ``'3'``); missing stay missing."""
    series = pd.Series(values)
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu":  # one conversion
        return pd.Series(series.to_numpy().astype(str).astype(object), index=series.index)
    # a road network repeats each node id in several edges: convert each distinct id once
    raw = series.astype(object).to_numpy()
    codes, uniques = pd.factorize(raw)
    text = np.array([str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
                     for v in uniques] + [None], dtype=object)
    out = text[codes]
    out[codes < 0] = raw[codes < 0]
    return pd.Series(out, index=series.index)


def _text_edges(edges: pd.DataFrame) -> pd.DataFrame:
    for col in ("from_id", "to_id"):
        if col not in edges.columns:
            raise MissingColumnError(
                f"column '{col}' not found in the edges table; columns present: "
                f"{', '.join(map(str, edges.columns))}: a road edge is from_id, to_id, cost",
                column=col)
    return edges.assign(from_id=as_text_ids(edges["from_id"]).to_numpy(),
                        to_id=as_text_ids(edges["to_id"]).to_numpy())


def _network(origins: PointTable, dests: PointTable, square: bool, edges: pd.DataFrame,
             nodes: pd.DataFrame | None, p: dict[str, Any], report: dict[str, Any],
             warnings: list[str]) -> np.ndarray | sp.csr_matrix:
    n, m = len(origins.ids), len(dests.ids)
    _check_size(n, m, p["max_pairs"])  # routing always fills a dense n x m block
    edges = _text_edges(edges)
    oneway = "oneway" if "oneway" in edges.columns else None
    report["metric"] = "network"
    report["unit"] = "edge cost"
    if nodes is None:
        if "cost" not in edges.columns:
            raise MissingColumnError(
                "the edges table has no 'cost' column; columns present: "
                f"{', '.join(map(str, edges.columns))}: add a cost (length or travel time) "
                "or give --nodes FILE with coordinates so edge lengths are measured",
                column="cost")
        net = RoadNetwork.from_edges(edges, oneway_col=oneway)
        result = _node_costs(net, origins, dests, square, p["cutoff"], warnings)
        report["network"] = {"nodes": net.n_nodes, "arcs": int(net.graph.nnz),
                             "snapped": False}
    else:
        if "node_id" not in nodes.columns:
            raise MissingColumnError(
                "column 'node_id' not found in the nodes table; columns present: "
                f"{', '.join(map(str, nodes.columns))}", column="node_id")
        nodes = nodes.assign(node_id=as_text_ids(nodes["node_id"]).to_numpy())
        coord_cols = origins.columns.coordinate_columns if origins.columns else None
        if coord_cols is not None and not set(coord_cols) <= set(nodes.columns):
            coord_cols = None  # x, y or lon, lat by convention
        metric = "haversine" if origins.kind == "lonlat" else "euclidean"
        net = RoadNetwork.from_edges(edges, cost_col="cost", oneway_col=oneway, nodes=nodes,
                                     coord_cols=coord_cols, metric=metric, unit=p["unit"])
        result = _snapped_costs(net, origins, dests, square, p)
        report["network"] = {
            "nodes": net.n_nodes, "arcs": int(net.graph.nnz), "snapped": True,
            "snap_cost": p["snap_cost"],
            "max_origin_snap": float(result.origin_snap.max()),
            "max_destination_snap": float(result.destination_snap.max()),
            "snap_unit": p["unit"] if metric == "haversine" else "coordinate units",
        }
    lost = _unreachable(result.costs, origins.ids, dests.ids, square)
    report["unreachable_pairs"] = lost["count"]
    report["unreachable"] = {"within_cutoff": p["cutoff"], **lost}
    del report["unreachable"]["count"]
    if lost["count"] and p["cutoff"] is None:
        nothing = lost["origins_reaching_nothing"]
        warnings.append(
            f"{lost['count']:,} of {n * m:,} pairs have no road path and were dropped, e.g. "
            f"(origin, destination) {preview([tuple(x) for x in lost['examples']])}"
            + (f"; origins reaching no destination: {preview(nothing)}" if nothing else "")
            + ": check oneway edges and missing road links, or connect these points to the "
              "network")
    costs = result.costs
    if p["k"] is not None:
        return _k_cheapest(costs, p["k"])
    if p["cutoff"] is not None:
        rows, cols = np.nonzero(np.isfinite(costs))
        return csr_with_explicit_zeros(rows, cols, costs[rows, cols], costs.shape)
    return costs


def _unreachable(costs: np.ndarray, o_ids: np.ndarray, d_ids: np.ndarray,
                 square: bool) -> dict[str, Any]:
    """Count and name the pairs without a road path (a point to itself always has one)."""
    missing = np.isinf(costs)
    pairs = np.argwhere(missing)
    others = np.ones_like(missing)
    if square:
        np.fill_diagonal(others, False)
    cut_off = ~(~missing & others).any(axis=1) & others.any(axis=1)
    unreached = ~(~missing & others).any(axis=0) & others.any(axis=0)
    return {
        "count": int(missing.sum()),
        "examples": [[scalar(o_ids[i]), scalar(d_ids[j])] for i, j in pairs[:_MAX_EXAMPLES]],
        "origins_reaching_nothing": [scalar(v) for v in o_ids[cut_off][:_MAX_LISTED]],
        "destinations_reached_by_nothing": [scalar(v) for v in d_ids[unreached][:_MAX_LISTED]],
    }


def _reverse(net: RoadNetwork) -> RoadNetwork:
    """The same roads travelled backwards (explicit zero-cost arcs kept)."""
    return RoadNetwork(net.node_ids, net.graph.transpose().tocsr(), net.coords, net.metric,
                       net.unit)


def _node_costs(net: RoadNetwork, origins: PointTable, dests: PointTable, square: bool,
                cutoff: float | None, warnings: list[str]) -> NetworkCosts:
    """Costs when the edges join the point ids themselves (no snapping)."""
    index = pd.Index(net.node_ids)
    o_node = index.get_indexer(as_text_ids(origins.ids))
    d_node = o_node if square else index.get_indexer(as_text_ids(dests.ids))
    o_in, d_in = o_node >= 0, d_node >= 0
    if not o_in.any() or not d_in.any():
        side, ids = ("points", origins.ids) if not o_in.any() else ("destinations", dests.ids)
        raise UnknownIdError(
            f"none of the {side}' ids ({preview(ids)}) appears in the edges' from_id / to_id "
            f"(e.g. {preview(net.node_ids)}): either the edges join point ids (check the id "
            "column and its type), or give --nodes FILE with node_id and coordinates to snap "
            "the points to the roads", column="from_id", rows=list(ids[:20]))
    missing = np.concatenate([origins.ids[~o_in], [] if square else dests.ids[~d_in]])
    if missing.size:
        warnings.append(
            f"{missing.size} point(s) are not on any road edge and reach nothing: "
            f"{preview(missing)}; add edges for them or give --nodes FILE to snap them")
    costs = np.full((len(o_node), len(d_node)), np.inf)
    o_pos, d_pos = np.flatnonzero(o_in), np.flatnonzero(d_in)
    block = _shortest(net, o_node[o_pos], d_node[d_pos], cutoff)
    costs[np.ix_(o_pos, d_pos)] = block
    if square:
        np.fill_diagonal(costs, 0.0)
    if cutoff is not None and not _any_off_diagonal(costs, square):
        raise ParameterError(
            f"cutoff={cutoff:g} leaves every pair of different points unreachable by road: "
            "raise --cutoff or drop it", column="cutoff")
    zeros = np.zeros
    return NetworkCosts(costs, o_node, zeros(len(o_node)), d_node, zeros(len(d_node)))


def _shortest(net: RoadNetwork, o_node: np.ndarray, d_node: np.ndarray,
              cutoff: float | None) -> np.ndarray:
    """Dijkstra from whichever side has fewer distinct nodes (centers, usually)."""
    if np.unique(d_node).size < np.unique(o_node).size:
        return _reverse(net).shortest_costs(d_node, o_node, cutoff=cutoff).T
    return net.shortest_costs(o_node, d_node, cutoff=cutoff)


def _snapped_costs(net: RoadNetwork, origins: PointTable, dests: PointTable, square: bool,
                   p: dict[str, Any]) -> NetworkCosts:
    """Costs between points snapped to their nearest road node (snap distance added)."""
    kwargs = dict(cutoff=p["cutoff"], snap_cost_per_unit=p["snap_cost"])
    if square:
        return network_costs(net, origins.coords, None, **kwargs)
    if len(dests.ids) < len(origins.ids):
        back = network_costs(_reverse(net), dests.coords, origins.coords, **kwargs)
        return NetworkCosts(back.costs.T, back.destination_node, back.destination_snap,
                            back.origin_node, back.origin_snap)
    return network_costs(net, origins.coords, dests.coords, **kwargs)


def _any_off_diagonal(costs: np.ndarray, square: bool) -> bool:
    finite = np.isfinite(costs)
    if square:
        np.fill_diagonal(finite, False)
    return bool(finite.any()) or finite.size == 0 or (square and len(costs) == 1)


def _k_cheapest(costs: np.ndarray, k: int) -> sp.csr_matrix:
    """Sparse k cheapest finite entries of each row; ties go to the lower column."""
    n, m = costs.shape
    kk = min(int(k), m)
    if n == 0 or kk == 0:
        return sp.csr_matrix((n, m), dtype=np.float64)
    cols = np.argsort(costs, axis=1, kind="stable")[:, :kk]
    values = np.take_along_axis(costs, cols, axis=1)
    finite = np.isfinite(values)
    rows = np.broadcast_to(np.arange(n)[:, None], cols.shape)
    return csr_with_explicit_zeros(rows[finite], cols[finite], values[finite], (n, m))


# -- SQL -----------------------------------------------------------------------------------

def cost_sql(origins: str | tuple[str, ...], destinations: str | tuple[str, ...] | None = None,
             *, dialect: str = "duckdb", metric: str = "euclidean", id: str = "id",
             coords: tuple[str, str] = ("x", "y"), destination_id: str | None = None,
             destination_coords: tuple[str, str] | None = None, unit: str = "km",
             cutoff: float | None = None) -> str:
    """SQL computing the long cost table in the warehouse (straight-line metrics only).

    ``euclidean`` renders ``costs/planar``: ``sqrt((x1-x2)^2 + (y1-y2)^2)``;
    ``haversine`` renders ``costs/great_circle`` with ``R = 6371.0088 km`` (or miles),
    the same numbers :func:`~components.costs.point_costs` gives. Table names are given as
    parts (``"t"`` or ``("db", "schema", "t")``) and column names as plain strings; all
    become quoted identifiers. ``destinations=None`` means all pairs of ``origins``.

    >>> "cost <= 5.0" in cost_sql("scus", cutoff=5.0, dialect="snowflake")
    True
    """
    from components import sqlgen  # sqlglot loads only when SQL is wanted (fast CLI start)

    if metric not in ("euclidean", "haversine"):
        raise ParameterError(f"cost_sql renders metric 'euclidean' or 'haversine'; got "
                             f"{metric!r} (road costs need the cost_matrix component)",
                             column="metric")
    if cutoff is not None and (isinstance(cutoff, bool) or not np.isfinite(cutoff)
                               or cutoff <= 0):
        raise ParameterError(f"cutoff must be a finite number > 0 or None; got {cutoff!r}",
                             column="cutoff")
    dest_table = origins if destinations is None else destinations
    d_coords = destination_coords or coords
    names = ("x", "y") if metric == "euclidean" else ("lon", "lat")
    bindings: dict[str, Any] = {
        "origins": _table(origins), "destinations": _table(dest_table),
        "origin_id": sqlgen.ident(id), "destination_id": sqlgen.ident(destination_id or id),
        "cutoff": None if cutoff is None else float(cutoff),
    }
    for side, pair in (("origin", coords), ("destination", d_coords)):
        for name, column in zip(names, pair, strict=True):
            bindings[f"{side}_{name}"] = sqlgen.ident(column)
    if metric == "haversine":
        bindings["radius"] = earth_radius(unit)
    template = "costs/planar" if metric == "euclidean" else "costs/great_circle"
    return sqlgen.render(template, dialect, **bindings)


def _table(name: str | tuple[str, ...]) -> Any:
    from components.sqlgen import table

    return table(name) if isinstance(name, str) else table(*name)

"""Cost matrices on tables: validation, straight-line or road costs, transformation, report.

* :func:`compute_cost_matrix` returns the matrix itself for the solvers: a dense
  ``(n, m)`` array for all pairs (``inf`` = no road path), or a sparse CSR when ``k``
  or ``cutoff`` is given (stored entries are the kept pairs, explicit zeros included).
* :func:`cost_matrix` is the table entry point behind the CLI (``terraplan costs``),
  the DuckDB function ``terraplan_cost_matrix`` and the warehouse handlers: the long
  table ``origin_id, destination_id, cost`` plus a report.
* :mod:`components.costs.sql` renders the straight-line costs as SQL (templates
  ``costs/planar`` and ``costs/great_circle``) so a warehouse computes them where the
  data lives.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from components.costs.metrics import (
    knn_costs,
    point_costs,
)
from components.costs.points import PointTable, _check_size
from components.costs.points import as_text_ids as as_text_ids  # adjacency reads it here
from components.costs.road_costs import road_costs
from components.costs.spec import SPEC
from components.costs.table import LongTable, to_long_table
from components.costs.transform import transform_costs
from components.errors import (
    DuplicateIdError,
    EmptyTableError,
    MissingColumnError,
    MissingValueError,
    ParameterError,
    preview,
)
from components.result import ComponentResult
from components.scu import SCUColumns, validate_scus

_TRANSFORM_PARAMS = {"linear": ("scale",), "power": ("scale", "exponent"),
                     "exponential": ("scale", "rate")}


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
    if to is None:
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
    costs: Any
    if network:
        assert edges is not None  # _check_tables: network costs need edges
        costs = road_costs(origins, dests, square, edges, nodes, p, report, warnings)
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

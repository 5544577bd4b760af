"""Territory balancing on tables: validation, graph building, solve, result tables.

:func:`territory_balancing` is the one entry point behind the CLI, the DuckDB
functions and the warehouse handlers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from components import adjacency as adj_mod
from components.balance.contiguity import contiguous_flags
from components.balance.solver import TerritoryBalancer
from components.balance.spec import SPEC
from components.errors import InputError, MissingColumnError, TooManyTerritoriesError, preview
from components.result import ComponentResult
from components.scu import SCUColumns, SCUTable, validate_scus

EARTH_RADIUS_KM = 6371.0088


def territory_balancing(scus: pd.DataFrame, *, centers: pd.DataFrame | None = None,
                        edges: pd.DataFrame | None = None, **params: Any) -> ComponentResult:
    """Balanced, contiguous territories from an SCU table.

    >>> import pandas as pd
    >>> grid = pd.DataFrame({"id": range(16), "x": [i % 4 for i in range(16)],
    ...                      "y": [i // 4 for i in range(16)], "n": [1] * 16})
    >>> res = territory_balancing(grid, territories=4, metrics=["n"], tolerance=0.0)
    >>> sorted(res.tables["territories"]["n"].tolist())
    [4.0, 4.0, 4.0, 4.0]
    """
    p = SPEC.validate_params(params)
    cols = SCUColumns(id=p["id"], x=p["x"], y=p["y"], lon=p["lon"], lat=p["lat"],
                      metrics=tuple(p["metrics"]), current=p["current"])
    table = validate_scus(scus, cols, territories=p["territories"])
    m = p["territories"]
    distance = p["distance"] or ("haversine" if table.coordinate_kind == "lonlat"
                                 else "euclidean")
    if distance == "haversine" and table.coordinate_kind != "lonlat":
        raise InputError("distance 'haversine' needs lon/lat coordinates (--lon COL --lat COL)",
                         column="distance")
    weights = None
    if p["weight"] is not None:
        weights = validate_scus(scus, SCUColumns(id=p["id"], x=p["x"], y=p["y"], lon=p["lon"],
                                                 lat=p["lat"], metrics=(p["weight"],)),
                                table="SCU table (weight)").metrics[:, 0]

    graph, graph_report = _graph(table, edges, distance, p["link_islands"])
    center_idx, center_ids = _centers(table, centers, m)
    current_idx, current_labels = _current(table, m)

    solver = TerritoryBalancer(m, tolerance=p["tolerance"], max_iter=p["max_iterations"],
                               time_limit=p["time_limit"], seed=p["seed"],
                               disruption_weight=p["disruption_weight"])
    solver.solve(graph.matrix, table.metrics, coords=_plane(table), weights=weights,
                 centers=center_idx, current=current_idx)

    names = _territory_names(table, solver, center_ids, current_labels)
    return _result(table, solver, names, p, distance, graph_report,
                   contiguous_flags(graph.matrix, solver.labels_, m))


def _plane(table: SCUTable) -> np.ndarray:
    """Coordinates in a local plane (km for lon/lat) for centroids and seeding."""
    if table.coordinate_kind != "lonlat":
        return table.coords
    lon, lat = np.radians(table.coords[:, 0]), np.radians(table.coords[:, 1])
    return np.column_stack([lon * np.cos(lat.mean()), lat]) * EARTH_RADIUS_KM


def _graph(table: SCUTable, edges: pd.DataFrame | None, distance: str, link: bool):
    metric = "haversine" if table.coordinate_kind == "lonlat" else "euclidean"
    if edges is not None:
        cost_col = None
        if distance == "network":
            if "cost" not in edges.columns:
                raise MissingColumnError(
                    "distance 'network' needs a 'cost' column in the edges table; columns "
                    f"present: {', '.join(map(str, edges.columns))}", column="cost")
            cost_col = "cost"
        graph = adj_mod.from_edges(table.ids, edges, cost_col=cost_col, coords=table.coords,
                                   metric=metric)
        source = "edges"
    else:
        if distance == "network":
            raise InputError("distance 'network' needs an edges table with a cost column "
                             "(--edges FILE)", column="edges")
        graph = adj_mod.from_points(table.ids, table.coords, metric=metric)
        source = "points (Delaunay)"
    parts = adj_mod.components_report(graph)
    report: dict[str, Any] = {"source": source, "edges": int(graph.matrix.nnz // 2),
                              "parts": parts}
    if graph.n_components() > 1:
        if not link:
            raise InputError(
                f"the adjacency graph has {parts['count']} disconnected parts (sizes "
                f"{preview(parts['sizes'])}); add edges or allow link_islands",
                column="edges")
        graph = adj_mod.link_islands(graph, table.coords, metric=metric)
        artificial = graph.edges[graph.edges["artificial"]]
        report["linked_islands"] = artificial[["from_id", "to_id"]].to_dict("records")
    return graph, report


def _centers(table: SCUTable, centers: pd.DataFrame | None, m: int):
    if centers is None:
        return None, None
    if "id" not in centers.columns:
        raise MissingColumnError(
            "column 'id' not found in the centers table; columns present: "
            f"{', '.join(map(str, centers.columns))}", column="id")
    if len(centers) != m:
        raise TooManyTerritoriesError(
            f"the centers table has {len(centers)} row(s) but {m} territories were requested; "
            "give one center per territory", column="territories")
    if centers["id"].duplicated().any():
        dups = centers["id"][centers["id"].duplicated()]
        raise InputError(f"centers table: duplicated center id(s) {preview(dups)}", column="id")
    if "scu_id" in centers.columns:
        idx = table.index_of(centers["scu_id"], what="centers.scu_id")
    else:
        c1, c2 = table.columns.coordinate_columns
        missing = [c for c in (c1, c2) if c not in centers.columns]
        if missing:
            raise MissingColumnError(
                f"the centers table needs 'scu_id' or the coordinate columns '{c1}', '{c2}' "
                f"(as in the SCU table); columns present: {', '.join(map(str, centers.columns))}",
                column=missing[0])
        pts = centers[[c1, c2]].to_numpy(dtype=float)
        if not np.isfinite(pts).all():
            raise InputError("centers table: NULL or non-finite coordinates", column=c1)
        sub = table.coords
        if table.coordinate_kind == "lonlat":
            pts, sub = _unit_sphere(pts), _unit_sphere(sub)
        _, idx = cKDTree(sub).query(pts)
    idx = np.asarray(idx, dtype=np.int64)
    if len(np.unique(idx)) < len(idx):
        _, first = np.unique(idx, return_index=True)
        clash = np.setdiff1d(np.arange(len(idx)), first)
        raise InputError(
            f"centers {preview(centers['id'].iloc[clash])} sit in the same SCU as another "
            "center; give each territory its own SCU", column="centers")
    return idx, centers["id"].to_numpy(dtype=object)


def _unit_sphere(lonlat: np.ndarray) -> np.ndarray:
    lon, lat = np.radians(lonlat[:, 0]), np.radians(lonlat[:, 1])
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _current(table: SCUTable, m: int):
    """Current labels as indices 0..m-1 when their count equals m (seeds the centers)."""
    if table.current is None:
        return None, None
    labels, idx = np.unique(table.current.astype(str), return_inverse=True)
    if len(labels) != m:
        return None, labels
    return idx, labels


def _territory_names(table: SCUTable, solver: TerritoryBalancer, center_ids, current_labels):
    m = solver.n_territories
    if center_ids is not None:
        return np.asarray(center_ids, dtype=object)
    names = np.array([f"T{i + 1:0{len(str(m))}d}" for i in range(m)], dtype=object)
    if table.current is not None and current_labels is not None:
        # inherit the current name of the territory each new one overlaps most (by metric)
        cur = np.searchsorted(current_labels, table.current.astype(str))
        overlap = np.zeros((m, len(current_labels)))
        np.add.at(overlap, (solver.labels_, cur), table.metrics[:, 0] + 1e-9)
        rows, cols = linear_sum_assignment(-overlap)
        names = names.copy()
        taken = set()
        for r, c in zip(rows, cols, strict=True):
            names[r] = current_labels[c]
            taken.add(current_labels[c])
        fresh = (f"T{i + 1:0{len(str(m))}d}" for i in range(10 * m + len(taken)))
        for r in np.setdiff1d(np.arange(m), rows):
            names[r] = next(f for f in fresh if f not in taken)
    return names


def _result(table: SCUTable, solver: TerritoryBalancer, names: np.ndarray, p: dict,
            distance: str, graph_report: dict, contiguous: np.ndarray) -> ComponentResult:
    m, labels = solver.n_territories, solver.labels_
    center_unit = table.ids[solver.centers_]
    assignments = pd.DataFrame({
        "id": table.ids,
        "territory": names[labels],
        "center": center_unit[labels],
        "distance": np.round(solver.distances_, 9),
    })
    if table.current is not None:
        assignments["previous_territory"] = table.current
        assignments["moved"] = assignments["territory"].astype(str) != table.current.astype(str)
    w = table.metrics[:, 0] + 1e-12
    terr = pd.DataFrame({"territory": names, "center": center_unit,
                         "n_units": np.bincount(labels, minlength=m)})
    balance = {}
    for k, name in enumerate(table.metric_names):
        totals = solver.totals_[:, k]
        target = solver.bounds_.target[:, k]
        ratio = np.divide(totals, target, out=np.zeros(m), where=target > 0)
        terr[name] = totals
        terr[f"{name}_ratio"] = np.round(ratio, 9)
        balance[name] = {"target": float(target.mean()), "min_ratio": float(ratio.min()),
                         "max_ratio": float(ratio.max()),
                         "range": float(ratio.max() - ratio.min()),
                         "std": float(ratio.std()), "tolerance": p["tolerance"]}
    wd = np.bincount(labels, weights=w * solver.distances_, minlength=m)
    terr["compactness"] = np.round(wd / np.bincount(labels, weights=w, minlength=m), 9)
    terr["contiguous"] = contiguous
    report: dict[str, Any] = {
        "component": SPEC.name,
        "status": solver.status_,
        "stopped_by": solver.stopped_by_,
        "objective": solver.objective_,
        "lower_bound": solver.bound_,
        "gap": solver.gap_,
        "lower_bound_scope": ("final centers, contiguity relaxed" if p["disruption_weight"] == 0
                              else "final centers incl. disruption cost, contiguity relaxed"),
        "n_units": table.n,
        "n_territories": m,
        "distance": distance,
        "balance": balance,
        "contiguous": bool(contiguous.all()),
        "noncontiguous_territories": [str(t) for t in names[~contiguous]],
        "adjacency": graph_report,
        "iterations": solver.iterations_,
        "center_moves": solver.center_moves_,
        "seconds": solver.seconds_,
        "seed": p["seed"],
    }
    if table.current is not None:
        moved = assignments["moved"].to_numpy()
        report["moved_units"] = int(moved.sum())
        report["moved_metric"] = {name: float(table.metrics[moved, k].sum())
                                  for k, name in enumerate(table.metric_names)}
    return ComponentResult(tables={"assignments": assignments, "territories": terr},
                           report=report)

"""Territory balancing on tables: validation, graph building, solve, result tables.

:func:`territory_balancing` is the one entry point behind the CLI, the DuckDB
functions and the warehouse handlers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

import components.balance.outcome as outcome
from components import adjacency as adj_mod
from components.balance.checks import Names
from components.balance.clock import Progress
from components.balance.contiguity import contiguous_flags
from components.balance.solver import TerritoryBalancer, tolerance_bounds
from components.balance.spec import SPEC
from components.costs.metrics import local_plane, search_space
from components.errors import (
    InfeasibleError,
    InputError,
    MissingColumnError,
    ParameterError,
    TooManyTerritoriesError,
    UnknownIdError,
    preview,
)
from components.result import ComponentResult, solve_status
from components.scu import NEW_UNIT, SCUColumns, SCUTable, in_id_order, validate_scus


def territory_balancing(scus: pd.DataFrame, *, centers: pd.DataFrame | None = None,
                        edges: pd.DataFrame | None = None, progress: Progress | None = None,
                        **params: Any) -> ComponentResult:
    """Balanced, contiguous territories from an SCU table.

    ``progress``, when given, receives one line of text per solver phase (elapsed
    seconds, best balance range, gap); the CLI prints them on stderr, SQL functions
    pass nothing.

    >>> import pandas as pd
    >>> grid = pd.DataFrame({"id": range(16), "x": [i % 4 for i in range(16)],
    ...                      "y": [i // 4 for i in range(16)], "n": [1] * 16})
    >>> res = territory_balancing(grid, territories=4, metrics=["n"], tolerance=0.0)
    >>> sorted(res.tables["territories"]["n"].tolist())
    [4.0, 4.0, 4.0, 4.0]
    """
    p = SPEC.validate_params(params)
    scus = in_id_order(scus, p["id"])
    centers = None if centers is None else in_id_order(centers, "id")
    cols = SCUColumns(id=p["id"], x=p["x"], y=p["y"], lon=p["lon"], lat=p["lat"],
                      metrics=tuple(p["metrics"]), current=p["current"])
    table = validate_scus(scus, cols, territories=p["territories"])
    m = p["territories"]
    distance = p["distance"] or ("haversine" if table.coordinate_kind == "lonlat"
                                 else "euclidean")
    if distance == "haversine" and table.coordinate_kind != "lonlat":
        raise InputError("distance 'haversine' needs lon/lat coordinates (--lon COL --lat COL)",
                         column="distance")
    if p["max_moved"] is not None and table.current is None:
        raise InputError("max_moved caps moves away from the current alignment: give --current",
                         column="max_moved")
    weights = None
    if p["weight"] is not None:
        weights = validate_scus(scus, SCUColumns(id=p["id"], x=p["x"], y=p["y"], lon=p["lon"],
                                                 lat=p["lat"], metrics=(p["weight"],)),
                                table="SCU table (weight)").metrics[:, 0]
    tolerance = _tolerances(table, p)
    terr = _territories(table, centers, m, tolerance)
    unit_region = _unit_regions(scus, table, p["region"])
    graph, graph_report = _graph(table, edges, distance, p["link_islands"], unit_region)
    current_idx = _current_index(table, terr)
    locked = _locked(scus, table, p["locked"], terr["names"])
    territory_region = _territory_regions(table, terr, unit_region, current_idx, m)

    solver = TerritoryBalancer(m, tolerance=tolerance, max_iter=p["max_iterations"],
                               time_limit=p["time_limit"], seed=p["seed"],
                               disruption_weight=p["disruption_weight"],
                               max_moved=p["max_moved"], objective=p["objective"],
                               max_distance=p["max_distance"], starts=p["starts"],
                               progress=progress)
    exact = p["method"] == "exact"
    if exact:
        solver.time_limit = p["time_limit"] / 2  # the other half is HiGHS's
    solver.solve(graph.matrix, table.metrics, coords=_plane(table), weights=weights,
                 centers=terr["centers"], bounds=terr["bounds"], current=current_idx,
                 locked=locked, unit_region=unit_region, territory_region=territory_region,
                 names=Names(list(table.metric_names), table.ids, terr["names"]))
    exact_report = outcome.exact(solver, graph.matrix, table, weights, current_idx, locked, p) \
        if exact else None
    cert_report = outcome.certify(solver, graph.matrix, table, weights, current_idx, locked, p,
                           exact_report) if p["certify"] else None
    result = _result(table, solver, terr["names"], p, distance, graph_report,
                   contiguous_flags(graph.matrix, solver.labels_, m), tolerance)
    if exact_report is not None:
        result.report["exact"] = exact_report
    if cert_report is not None:
        result.report["certificate"] = cert_report
    return result


def _tolerances(table: SCUTable, p: dict) -> np.ndarray:
    tol = np.full(len(table.metric_names), p["tolerance"], dtype=float)
    for item in p["metric_tolerance"] or []:
        name, sep, value = item.partition("=")
        if not sep or name not in table.metric_names:
            raise ParameterError(
                f"metric_tolerance '{item}' must be COL=F with COL one of the balanced metrics "
                f"({', '.join(table.metric_names)})", column="metric_tolerance")
        try:
            f = float(value)
        except ValueError:
            f = -1.0
        if not 0 <= f <= 1:
            raise ParameterError(f"metric_tolerance '{item}': F must be a number in [0, 1]",
                                 column="metric_tolerance")
        tol[table.metric_names.index(name)] = f
    return tol


def _territories(table: SCUTable, centers: pd.DataFrame | None, m: int,
                 tolerance: np.ndarray) -> dict[str, Any]:
    """Names, center unit rows (-1: sought), shares and bounds of the m territories."""
    if centers is None:
        names = _default_names(table, m)
        return {"names": names, "centers": None, "bounds": None, "rows": None}
    idx, names = _centers(table, centers, m)
    shares = np.ones(m)
    if "share" in centers.columns:
        shares = pd.to_numeric(centers["share"], errors="coerce").fillna(1.0).to_numpy(float)
        if (shares <= 0).any():
            raise InputError(f"centers table: column 'share' must be > 0; got "
                             f"{preview(shares[shares <= 0])}", column="share")
    bounds = tolerance_bounds(table.metrics, m, tolerance, shares)
    for k, metric in enumerate(table.metric_names):
        for side, arr in (("min", bounds.lower), ("max", bounds.upper)):
            col = f"{side}_{metric}"
            if col in centers.columns:
                vals = pd.to_numeric(centers[col], errors="coerce").to_numpy(float)
                given = np.isfinite(vals)
                arr[given, k] = vals[given]
    if (bounds.lower > bounds.upper + 1e-9).any():
        i, k = np.argwhere(bounds.lower > bounds.upper + 1e-9)[0]
        raise InfeasibleError(
            f"territory {names[i]!r}: {table.metric_names[k]} lower bound "
            f"{bounds.lower[i, k]:,.6g} is above its upper bound {bounds.upper[i, k]:,.6g}")
    return {"names": names, "centers": idx, "bounds": bounds, "rows": centers}


def _default_names(table: SCUTable, m: int) -> np.ndarray:
    """Territories inherit current names (largest current territories first), then T01..."""
    width = len(str(m))
    fresh = (f"T{i + 1:0{width}d}" for i in range(10 * m + 10))
    if table.current is None:
        return np.array([next(fresh) for _ in range(m)], dtype=object)
    labels = table.current.astype(str)
    known = labels != NEW_UNIT  # units with no territory today (a rebalance's new ones)
    if not known.any():
        return np.array([next(fresh) for _ in range(m)], dtype=object)
    uniq, inv = np.unique(labels[known], return_inverse=True)
    size = np.bincount(inv, weights=table.metrics[known, 0] + 1e-9)
    keep = uniq[np.argsort(-size, kind="stable")[:m]]
    keep = np.sort(keep)
    names = list(keep)
    while len(names) < m:
        f = next(fresh)
        if f not in names and f not in set(uniq):
            names.append(f)
    return np.array(names, dtype=object)


def _current_index(table: SCUTable, terr: dict) -> np.ndarray | None:
    if table.current is None:
        return None
    names = pd.Index(np.asarray(terr["names"]).astype(str))
    return names.get_indexer(table.current.astype(str))


def _locked(scus: pd.DataFrame, table: SCUTable, column: str | None,
            names: np.ndarray) -> np.ndarray | None:
    if column is None:
        return None
    if column not in scus.columns:
        raise MissingColumnError(f"locked column '{column}' not found in the SCU table; columns "
                                 f"present: {', '.join(map(str, scus.columns))}", column=column)
    raw = scus[column]
    given = raw.notna().to_numpy() & (raw.astype(str).str.strip() != "").to_numpy()
    index = pd.Index(np.asarray(names).astype(str))
    pos = index.get_indexer(raw.astype(str).to_numpy())
    bad = given & (pos < 0)
    if bad.any():
        raise UnknownIdError(
            f"locked column '{column}' names territories that do not exist: "
            f"{preview(pd.unique(raw[bad].astype(str)))} (territories: {preview(names, 10)})",
            column=column, rows=list(table.ids[bad]))
    return np.where(given, pos, -1)


def _unit_regions(scus: pd.DataFrame, table: SCUTable, column: str | None):
    if column is None:
        return None
    if column not in scus.columns:
        raise MissingColumnError(f"region column '{column}' not found in the SCU table; columns "
                                 f"present: {', '.join(map(str, scus.columns))}", column=column)
    raw = scus[column]
    if raw.isna().any():
        rows = list(table.ids[raw.isna().to_numpy()])
        raise InputError(f"region column '{column}' is NULL at ids {preview(rows)}",
                         column=column, rows=rows)
    return np.unique(raw.astype(str).to_numpy(), return_inverse=True)[1]


def _territory_regions(table: SCUTable, terr: dict, unit_region, current_idx, m: int):
    """Regions of territories: from fixed centers, else shared out by metric."""
    if unit_region is None:
        return None
    region = np.full(m, -1)
    ctr = terr["centers"]
    if ctr is not None:
        region[ctr >= 0] = unit_region[ctr[ctr >= 0]]
    n_regions = int(unit_region.max()) + 1
    if m < n_regions:
        raise InfeasibleError(f"{n_regions} regions need at least one territory each, but only "
                              f"{m} territories were requested")
    # territories per region: proportional to the first metric, at least one each
    total = np.bincount(unit_region, weights=table.metrics[:, 0] + 1e-9, minlength=n_regions)
    quota = np.maximum(1, np.floor(m * total / total.sum())).astype(int)
    while quota.sum() < m:
        quota[np.argmax(m * total / total.sum() - quota)] += 1
    while quota.sum() > m:
        quota[np.argmax(np.where(quota > 1, quota - m * total / total.sum(), -np.inf))] -= 1
    taken = np.bincount(region[region >= 0], minlength=n_regions)
    if (taken > quota).any():
        quota = np.maximum(quota, taken)
    free = list(np.flatnonzero(region < 0))
    if current_idx is not None:  # seeded territories keep the region most of their units are in
        for i in list(free):
            members = unit_region[current_idx == i]
            if len(members):
                r = int(np.bincount(members, minlength=n_regions).argmax())
                if taken[r] < quota[r]:
                    region[i], taken[r] = r, taken[r] + 1
                    free.remove(i)
    for i in free:
        r = int(np.argmax(quota - taken))
        region[i], taken[r] = r, taken[r] + 1
    missing = np.flatnonzero(np.bincount(region, minlength=n_regions) == 0)
    if len(missing):
        raise InfeasibleError(f"{len(missing)} region(s) get no territory: the fixed centers "
                              "cover other regions; add territories or centers there")
    return region


def _plane(table: SCUTable) -> np.ndarray:
    """Coordinates in a local plane (km for lon/lat) for centroids and seeding."""
    return local_plane(table.coords) if table.coordinate_kind == "lonlat" else table.coords


def _graph(table: SCUTable, edges: pd.DataFrame | None, distance: str, link: bool,
           unit_region: np.ndarray | None = None):
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
    if unit_region is not None:  # territories never cross a region boundary
        graph, region_links = _within_regions(graph, unit_region, table.coords, metric, link)
        source += ", within regions"
    parts = adj_mod.components_report(graph)
    report: dict[str, Any] = {"source": source, "edges": int(graph.matrix.nnz // 2),
                              "parts": parts}
    if unit_region is not None and region_links:
        report["linked_islands"] = region_links
    if graph.n_components() > 1 and unit_region is None:
        if not link:
            raise InputError(
                f"the adjacency graph has {parts['count']} disconnected parts (sizes "
                f"{preview(parts['sizes'])}); add edges or allow link_islands",
                column="edges")
        graph = adj_mod.link_islands(graph, table.coords, metric=metric)
        artificial = graph.edges[graph.edges["artificial"]]
        report["linked_islands"] = artificial[["from_id", "to_id"]].to_dict("records")
    return graph, report


def _within_regions(graph, unit_region: np.ndarray, coords: np.ndarray, metric: str,
                    link: bool):
    """Drop edges between regions; link islands inside each region."""
    edges = graph.edges
    pos = pd.Index(graph.ids).get_indexer(edges["from_id"]), \
        pd.Index(graph.ids).get_indexer(edges["to_id"])
    keep = unit_region[pos[0]] == unit_region[pos[1]]
    kept = adj_mod.from_edges(graph.ids, edges.loc[keep, ["from_id", "to_id", "length"]],
                              cost_col="length", coords=coords, metric=metric) \
        if keep.any() else None
    if kept is None:
        raise InputError("no adjacency edge lies inside a region", column="region")
    labels = kept.component_labels()
    per_region = len(np.unique(np.c_[unit_region, labels], axis=0))
    if per_region > int(unit_region.max()) + 1:
        if not link:
            raise InputError("some regions are split into disconnected parts; add edges or allow "
                             "link_islands", column="region")
        extra: list[pd.DataFrame] = []
        for r in np.unique(unit_region):
            rows = np.flatnonzero(unit_region == r)
            sub_edges = kept.edges[kept.edges["from_id"].isin(kept.ids[rows])
                                   & kept.edges["to_id"].isin(kept.ids[rows])]
            if len(rows) < 2:
                continue
            sub = adj_mod.from_edges(kept.ids[rows], sub_edges[["from_id", "to_id", "length"]],
                                     cost_col="length", coords=coords[rows], metric=metric) \
                if len(sub_edges) else adj_mod.from_points(kept.ids[rows], coords[rows],
                                                           metric=metric)
            if sub.n_components() > 1:
                linked = adj_mod.link_islands(sub, coords[rows], metric=metric)
                extra.append(linked.edges[linked.edges["artificial"]])
        if extra:
            add = pd.concat(extra)[["from_id", "to_id", "length"]]
            kept = adj_mod.from_edges(
                graph.ids, pd.concat([kept.edges[["from_id", "to_id", "length"]], add]),
                cost_col="length", coords=coords, metric=metric)
            return kept, add[["from_id", "to_id"]].to_dict("records")
    return kept, []


def _centers(table: SCUTable, centers: pd.DataFrame, m: int):
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
    idx = np.full(m, -1, dtype=np.int64)
    if "scu_id" in centers.columns:
        raw = centers["scu_id"]
        fixed = (raw.notna() & (raw.astype(str).str.strip() != "")).to_numpy()
        if fixed.any():
            idx[fixed] = table.index_of(raw[fixed], what="centers.scu_id")
    else:
        c1, c2 = table.columns.coordinate_columns
        missing = [c for c in (c1, c2) if c not in centers.columns]
        if missing:
            raise MissingColumnError(
                f"the centers table needs 'scu_id' or the coordinate columns '{c1}', '{c2}' "
                f"(as in the SCU table); columns present: {', '.join(map(str, centers.columns))}",
                column=missing[0])
        pts = centers[[c1, c2]].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        fixed = np.isfinite(pts).all(axis=1)
        half = np.isfinite(pts).any(axis=1) & ~fixed
        if half.any():
            raise InputError(f"centers {preview(centers['id'][half])}: give both coordinates, "
                             "or neither to let the solver place the center", column=c1)
        if fixed.any():
            sub, q = table.coords, pts[fixed]
            metric = "haversine" if table.coordinate_kind == "lonlat" else "euclidean"
            q, sub = search_space(q, metric), search_space(sub, metric)
            idx[fixed] = cKDTree(sub).query(q)[1]
    placed = idx[idx >= 0]
    if len(np.unique(placed)) < len(placed):
        seen: set[int] = set()
        clash = []
        for i, v in enumerate(idx):
            if v >= 0 and int(v) in seen:
                clash.append(i)
            seen.add(int(v))
        raise InputError(
            f"centers {preview(centers['id'].iloc[clash])} sit in the same SCU as another "
            "center; give each territory its own SCU", column="centers")
    return idx, centers["id"].astype(str).to_numpy(dtype=object)


def _result(table: SCUTable, solver: TerritoryBalancer, names: np.ndarray, p: dict,
            distance: str, graph_report: dict, contiguous: np.ndarray,
            tolerance: np.ndarray) -> ComponentResult:
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
                         "std": float(ratio.std()), "tolerance": float(tolerance[k]),
                         "within_bounds": bool(np.all(
                             (totals >= solver.bounds_.lower[:, k] * (1 - 1e-9) - 1e-9)
                             & (totals <= solver.bounds_.upper[:, k] * (1 + 1e-9) + 1e-9)))}
    wd = np.bincount(labels, weights=w * solver.distances_, minlength=m)
    terr["compactness"] = np.round(wd / np.bincount(labels, weights=w, minlength=m), 9)
    terr["contiguous"] = contiguous
    report: dict[str, Any] = {
        "component": SPEC.name,
        "status": solve_status(solver.status_),
        "stopped_by": solver.stopped_by_,
        "objective": solver.objective_,
        "cost": solver.cost_objective_,
        "lower_bound": solver.bound_,
        "gap": solver.gap_,
        "lower_bound_kind": solver.bound_kind_,
        "lower_bound_scope": outcome.bound_text(solver, p),
        # sought centers: the bound holds for the final centers only, not for every choice
        "gap_scope": "these_centers" if solver.bound_scope_ == "these_centers" else "problem",
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
        "objective_kind": p["objective"],
        "forbidden_assignments": solver.forbidden_,
        "locked_respected": solver.locked_ok_,
    }
    links = graph_report.get("linked_islands") or []
    report["artificial_links"] = {"count": len(links), "joins": links}
    if links:
        shown = ", ".join(f"{e['from_id']}-{e['to_id']}" for e in links[:10])
        report.setdefault("warnings", []).append(
            f"{len(links)} artificial link(s) join islands of the adjacency graph ({shown}"
            f"{', ...' if len(links) > 10 else ''}); contiguity counts them as adjacent")
    if solver.status_ == "tolerance_not_met":
        report["best_effort"] = outcome.best_effort(table, solver, names, tolerance)
        report.setdefault("warnings", []).append(report["best_effort"]["summary"])
    if table.current is not None:
        moved = assignments["moved"].to_numpy()
        report["moved_units"] = int(moved.sum())
        report["moved_metric"] = {name: float(table.metrics[moved, k].sum())
                                  for k, name in enumerate(table.metric_names)}
        report["moved_share"] = solver.moved_share_
        if p["max_moved"] is not None:
            report["max_moved"] = p["max_moved"]
    return ComponentResult(tables={"assignments": assignments, "territories": terr},
                           report=report)

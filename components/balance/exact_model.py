"""The exact balance model as arrays (see :mod:`components.balance.exact` for the
formulation and why its answers are contiguous): one variable per territory-unit pair
that a feasible answer may use, the balance and single-assignment rows, and the
star-shaped contiguity rows ``x_ij <= sum_{p in A_ij} x_ip``."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from components.errors import ParameterError


# -- model building ------------------------------------------------------------------------
def _as_bounds(bounds: Any, m: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(bounds, "lower") and hasattr(bounds, "upper"):
        lower, upper = bounds.lower, bounds.upper
    else:
        lower, upper = bounds
    lower = np.broadcast_to(np.asarray(lower, dtype=float), (m, k)).copy()
    upper = np.broadcast_to(np.asarray(upper, dtype=float), (m, k)).copy()
    if (lower > upper).any():
        i, q = np.argwhere(lower > upper)[0]
        raise ParameterError(f"bounds: lower {lower[i, q]:g} > upper {upper[i, q]:g} for "
                             f"territory {i}, metric {q}; give lower <= upper", column="bounds")
    return lower, upper


def _check_inputs(graph: sp.csr_matrix, metrics: np.ndarray, centers: np.ndarray) -> None:
    n = graph.shape[0]
    if graph.shape != (n, n) or metrics.shape[0] != n:
        raise ParameterError(f"graph is {graph.shape} but metrics has {metrics.shape[0]} rows; "
                             "give an (n, n) graph and (n, k) metrics", column="graph")
    if len(centers) < 1 or centers.min() < 0 or centers.max() >= n:
        raise ParameterError(f"centers must be unit indices in [0, {n - 1}]; got "
                             f"{centers.tolist()[:10]}", column="centers")
    if len(np.unique(centers)) != len(centers):
        raise ParameterError("centers: two territories share a center unit; give each its own",
                             column="centers")
    if graph.nnz and graph.data.min() <= 0:
        raise ParameterError("graph edge lengths must be > 0 (strictly closer neighbours "
                             "define contiguity); drop or lengthen zero edges", column="graph")


def default_move_cost(w: np.ndarray, cost: np.ndarray, dist: np.ndarray,
                      disruption_weight: float) -> np.ndarray:
    """Cost of unit j leaving its current territory, as TerritoryBalancer prices it:
    ``disruption_weight x typical x w_j / mean(w)``, typical = mean_j min_i w_j d_ij."""
    finite = np.where(np.isfinite(dist), cost, np.inf).min(axis=0)
    typical = float(np.mean(finite[np.isfinite(finite)])) + 1e-12
    return disruption_weight * typical * (w / max(float(w.mean()), 1e-300))


def _possible_pairs(allowed: np.ndarray, center_of: np.ndarray, closer: np.ndarray,
                    row_of: np.ndarray, nbr: np.ndarray) -> np.ndarray:
    """Allowed pairs (i, j) reachable from center i through allowed, strictly closer units."""
    m, n = allowed.shape
    possible = np.zeros_like(allowed)
    possible[np.arange(m), center_of] = allowed[np.arange(m), center_of]
    while True:
        # support[i, j]: some neighbour p of j is possible for i and strictly closer to c_i
        hit = closer & possible[:, nbr]
        support = np.zeros((m, n), dtype=bool)
        ii, ee = np.nonzero(hit)
        support[ii, row_of[ee]] = True
        new = possible | (allowed & support)
        if (new == possible).all():
            return possible
        possible = new


def build_model(graph: sp.csr_matrix, metrics: np.ndarray, centers: Any, bounds: Any, *,
                weights: np.ndarray | None = None, current: np.ndarray | None = None,
                disruption_weight: float = 0.0, move_cost: np.ndarray | None = None,
                locked: np.ndarray | None = None, max_distance: Any = None,
                contiguity: bool = True) -> dict:
    """The MILP as arrays: ``c``, ``A`` (csr), ``lb``, ``ub``, fixed variables, pair index.

    Pairs that no feasible answer can use (beyond the maximum distance, another
    territory's center, a unit locked elsewhere, out of reach through allowed
    closer units) get no variable at all.
    """
    graph = sp.csr_matrix(graph, dtype=float)
    metrics = np.asarray(metrics, dtype=float)
    if metrics.ndim == 1:
        metrics = metrics[:, None]
    centers = np.asarray(centers, dtype=np.int64).ravel()
    _check_inputs(graph, metrics, centers)
    n, k = metrics.shape
    m = len(centers)
    lower, upper = _as_bounds(bounds, m, k)
    w = metrics[:, 0].copy() if weights is None else np.asarray(weights, dtype=float)

    dist = dijkstra(graph, directed=False, indices=centers)
    allowed = np.isfinite(dist)
    if max_distance is not None:
        maxd = np.broadcast_to(np.asarray(max_distance, dtype=float), (m,))
        allowed &= dist <= maxd[:, None] * (1 + 1e-12)
    dist_f = np.where(np.isfinite(dist), dist, 0.0)
    cost = w[None, :] * dist_f
    if current is not None and (disruption_weight > 0 or move_cost is not None):
        current = np.asarray(current, dtype=np.int64)
        if move_cost is None:
            move_cost = default_move_cost(w, cost, dist, disruption_weight)
        leaves = (np.arange(m)[:, None] != current[None, :]) & (current >= 0)[None, :]
        cost = cost + np.asarray(move_cost, dtype=float)[None, :] * leaves

    reason = ""
    others = np.ones((m, n), dtype=bool)
    others[:, centers] = False
    others[np.arange(m), centers] = True
    allowed &= others
    lock = np.full(n, -1, dtype=np.int64) if locked is None else np.asarray(locked, np.int64)
    if (lock >= m).any():
        raise ParameterError(f"locked: territory indices must be -1 or in [0, {m - 1}]; got "
                             f"{np.unique(lock[lock >= m]).tolist()[:10]}", column="locked")
    lk = np.flatnonzero(lock >= 0)
    if len(lk):
        center_terr = np.full(n, -1, dtype=np.int64)
        center_terr[centers] = np.arange(m)
        clash = lk[(center_terr[lk] >= 0) & (center_terr[lk] != lock[lk])]
        if len(clash):
            reason = (f"unit(s) {clash[:10].tolist()} are locked to territories "
                      f"{lock[clash[:10]].tolist()} but are the centers of territories "
                      f"{center_terr[clash[:10]].tolist()}")
        keep = np.zeros((m, len(lk)), dtype=bool)
        keep[lock[lk], np.arange(len(lk))] = True
        allowed[:, lk] &= keep

    indptr, nbr = graph.indptr, graph.indices
    row_of = np.repeat(np.arange(n), np.diff(indptr))
    if contiguity:
        closer = dist[:, nbr] < dist[:, row_of]  # (m, nnz): neighbour strictly closer
        possible = _possible_pairs(allowed, centers, closer, row_of, nbr)
    else:
        closer = None
        possible = allowed
    if not reason:
        reason = _pair_reason(possible, allowed, lock, dist, centers, contiguity)

    pair = np.full((m, n), -1, dtype=np.int64)
    ii, jj = np.nonzero(possible)
    pair[ii, jj] = np.arange(len(ii))
    nv = len(ii)
    c = cost[ii, jj]
    lb = np.zeros(nv)
    fixed = np.zeros(nv, dtype=bool)
    fixed[pair[np.arange(m), centers][pair[np.arange(m), centers] >= 0]] = True
    if len(lk):
        pl = pair[lock[lk], lk]
        fixed[pl[pl >= 0]] = True
    lb[fixed] = 1.0

    blocks_r, blocks_c, blocks_v, rlo, rhi = [], [], [], [], []
    # single assignment: row j
    blocks_r.append(jj)
    blocks_c.append(np.arange(nv))
    blocks_v.append(np.ones(nv))
    rlo.append(np.ones(n))
    rhi.append(np.ones(n))
    # balance: row n + i*k + q
    for q in range(k):
        blocks_r.append(n + ii * k + q)
        blocks_c.append(np.arange(nv))
        blocks_v.append(metrics[jj, q])
    rlo.append(lower.ravel())
    rhi.append(upper.ravel())
    n_rows = n + m * k
    if contiguity:
        # x_ij - sum_{p in A_ij} x_ip <= 0 for every variable (i, j) with j != c_i
        need = np.ones(nv, dtype=bool)
        need[pair[np.arange(m), centers][pair[np.arange(m), centers] >= 0]] = False
        var_rows = np.full(nv, -1, dtype=np.int64)
        var_rows[need] = n_rows + np.arange(int(need.sum()))
        blocks_r.append(var_rows[need])
        blocks_c.append(np.flatnonzero(need))
        blocks_v.append(np.ones(int(need.sum())))
        ti, te = np.nonzero(closer & possible[:, nbr] & possible[:, row_of])
        vj = pair[ti, row_of[te]]
        vp = pair[ti, nbr[te]]
        ok = need[vj]
        blocks_r.append(var_rows[vj[ok]])
        blocks_c.append(vp[ok])
        blocks_v.append(-np.ones(int(ok.sum())))
        rlo.append(np.full(int(need.sum()), -np.inf))
        rhi.append(np.zeros(int(need.sum())))
        n_rows += int(need.sum())
    a = sp.csr_matrix((np.concatenate(blocks_v),
                       (np.concatenate(blocks_r), np.concatenate(blocks_c))),
                      shape=(n_rows, nv))
    return {"c": c, "A": a, "row_lb": np.concatenate(rlo), "row_ub": np.concatenate(rhi),
            "lb": lb, "pair_i": ii, "pair_j": jj, "m": m, "n": n, "k": k,
            "metrics": metrics, "weights": w, "dist": dist, "cost": cost,
            "lower": lower, "upper": upper, "reason": reason}


def _pair_reason(possible: np.ndarray, allowed: np.ndarray, lock: np.ndarray,
                 dist: np.ndarray, centers: np.ndarray, contiguity: bool) -> str:
    """Why the model has no answer before any solve, or ''."""
    orphan = np.flatnonzero(~possible.any(axis=0))
    if len(orphan):
        why = "within the maximum distance"
        if not np.isfinite(dist[:, orphan]).any():
            why = "over the adjacency graph"
        elif contiguity and allowed[:, orphan].any():
            why = "through a contiguous chain of allowed units"
        return (f"{len(orphan)} unit(s) (e.g. {orphan[:10].tolist()}) cannot join any "
                f"territory {why}")
    lk = np.flatnonzero(lock >= 0)
    bad = lk[~possible[lock[lk], lk]]
    if len(bad):
        return (f"locked unit(s) {bad[:10].tolist()} cannot be reached by their territory "
                f"(territories {lock[bad[:10]].tolist()})")
    lost = np.flatnonzero(~possible[np.arange(len(centers)), centers])
    if len(lost):
        return f"center(s) of territories {lost.tolist()} are excluded by locks or distances"
    return ""


def _balance_reason(model: dict) -> str:
    """Bounds that no assignment could meet, whatever the contiguity (quick checks)."""
    metrics, lower, upper = model["metrics"], model["lower"], model["upper"]
    totals = metrics.sum(axis=0)
    for q in range(model["k"]):
        lo, hi = lower[:, q].sum(), upper[:, q].sum()
        if lo > totals[q] * (1 + 1e-9) + 1e-12 or hi < totals[q] * (1 - 1e-9) - 1e-12:
            return (f"metric {q}: territory bounds sum to [{lo:,.6g}, {hi:,.6g}] but the total "
                    f"is {totals[q]:,.6g}")
    return ""

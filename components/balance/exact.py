"""Exact territory balancing: a MILP solved by HiGHS (``scipy.optimize.milp``).

Model, for fixed centers ``c_i`` (territories ``i``), units ``j``, metrics ``k``::

    minimise    sum_ij (w_j d_ij + D delta_ij) x_ij
    subject to  sum_i x_ij = 1                          every unit in one territory
                lo_ik <= sum_j a_jk x_ij <= hi_ik       balance
                x_ij <= sum_{p in A_ij} x_ip            contiguity, j != c_i
                x_{i c_i} = 1,  x_{t j} = 1 for locked j (territory t)
                x_ij = 0 when d_ij > maxdist_i
                x_ij in {0, 1}

``d_ij`` is the shortest-path distance from center ``c_i`` to unit ``j`` over the
unit graph (edge lengths > 0). ``D_j delta_ij`` is the optional disruption cost:
``delta_ij = 1`` when unit ``j`` has a current territory and ``i`` is not it;
``D_j`` is ``move_cost[j]`` or, by default, :func:`default_move_cost` (the
pricing of :class:`~components.balance.solver.TerritoryBalancer`, so both
objectives compare; pass ``move_cost`` to pin it).

Contiguity (Zoltners & Sinha 1983; Shirabe 2005 gives the general flow form)::

    A_ij = { p : p adjacent to j and d_ip < d_ij }

the neighbours of ``j`` strictly closer to center ``i``. It contains the
predecessor of ``j`` on every shortest path from ``c_i`` (``d_ip = d_ij - l_pj <
d_ij`` since ``l_pj > 0``), so it is never empty for a reachable ``j != c_i``.

*Why the answer is contiguous.* If ``x_ij = 1`` the constraint gives a unit
``p_1`` of territory ``i`` adjacent to ``j`` with ``d_ip1 < d_ij``; repeating from
``p_1`` gives a walk inside territory ``i`` along which ``d_i.`` strictly
decreases. It cannot repeat a unit, so it ends, and the only unit where it can
end is ``c_i`` (every other member has a strictly closer member neighbour).
Hence every member is joined to the center inside the territory.

*What it costs.* The constraint admits exactly the territories that are
"star-shaped" around their center for the shortest-path metric (every member
has a member neighbour closer to the center). That is a subset of all contiguous
territories, so the optimum here is an upper bound on the optimum over all
contiguous alignments, and a heuristic answer that is contiguous but not
star-shaped may beat it (:func:`star_shaped` tells). The optimum of the model
with ``contiguity=False`` is a lower bound on every contiguous alignment.
The Lagrangian assignment of Zoltners & Sinha, ``argmin_i a_j (d_ij - lambda_i)``
(one metric, objective weight = that metric), is star-shaped up to ties: if
``j`` goes to ``i`` and ``p`` precedes ``j`` on a shortest path from ``c_i``,
``d_ip = d_ij - l_pj`` while ``d_i'p >= d_i'j - l_pj`` for every other ``i'``, so
``p`` prefers ``i`` too. That is why they chose this family.

Also here: :func:`lp_bound` (the LP relaxation, a bound) and :func:`hess_samuels`
(the LP-and-round baseline of Hess & Samuels that ALGORITHMS.md compares to).

>>> import numpy as np, scipy.sparse as sp
>>> g = sp.diags([1.0, 1.0], [-1, 1], shape=(6, 6), format="csr")  # a path
>>> r = solve_exact(g, np.ones((6, 1)), [0, 5], (np.full((2, 1), 3.0), np.full((2, 1), 3.0)))
>>> r.status, r.labels.tolist(), r.objective
('optimal', [0, 0, 0, 1, 1, 1], 6.0)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds as VarBounds
from scipy.optimize import LinearConstraint, linprog
from scipy.sparse.csgraph import dijkstra

from components.errors import ParameterError, SolverError
from components.highs import milp_walled

STATUSES = ("optimal", "time_limit_feasible", "infeasible", "time_limit_no_solution")


@dataclass
class ExactResult:
    """What :func:`solve_exact` found.

    ``labels`` is None when no assignment was found. ``objective`` is the cost
    of ``labels`` (with disruption), ``distance_objective`` its ``sum w_j d_ij``
    part; ``bound`` is HiGHS's dual bound (a lower bound on the model's optimum)
    and ``mip_gap`` = (objective - bound) / objective. ``reason`` says why when
    the model was found infeasible before calling HiGHS.
    """

    labels: np.ndarray | None
    objective: float
    bound: float
    mip_gap: float
    status: str
    seconds: float
    distance_objective: float = float("nan")
    n_variables: int = 0
    n_constraints: int = 0
    reason: str = ""
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class HessSamuelsResult:
    """LP-and-round: ``labels`` rounded to each unit's largest fraction."""

    labels: np.ndarray
    lp_objective: float
    objective: float
    split_units: int
    seconds: float


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


# -- solving -------------------------------------------------------------------------------
def solve_exact(graph: sp.csr_matrix, metrics: np.ndarray, centers: Any, bounds: Any, *,
                weights: np.ndarray | None = None, current: np.ndarray | None = None,
                disruption_weight: float = 0.0, move_cost: np.ndarray | None = None,
                locked: np.ndarray | None = None, max_distance: Any = None,
                contiguity: bool = True, time_limit: float = 60.0,
                mip_rel_gap: float = 1e-6, relax: bool = False,
                node_limit: int | None = None) -> ExactResult:
    """Solve the MILP of the module docstring (``relax=True``: its LP relaxation).

    graph : (n, n) symmetric csr, data = edge length (> 0).
    metrics : (n, k) balanced metrics. weights : (n,) objective weight, default
    metrics[:, 0]. centers : (m,) unit index of each territory's center.
    bounds : a :class:`~components.balance.solver.Bounds` or ``(lower, upper)``,
    each (m, k). current / disruption_weight / move_cost : see the module docstring.
    locked : (n,) territory index per unit or -1. max_distance : scalar or (m,).
    time_limit : wall seconds for the whole call (model building included).

    Status: ``optimal`` (gap <= ``mip_rel_gap``), ``time_limit_feasible`` (an
    answer, optimum not proven: see ``bound`` / ``mip_gap``), ``infeasible``
    (proven, ``reason`` says why when found before the search),
    ``time_limit_no_solution``.
    """
    start = time.monotonic()
    model = build_model(graph, metrics, centers, bounds, weights=weights, current=current,
                        disruption_weight=disruption_weight, move_cost=move_cost,
                        locked=locked, max_distance=max_distance, contiguity=contiguity)
    nv, nr = len(model["c"]), model["A"].shape[0]
    reason = model["reason"] or _balance_reason(model)
    if reason:
        return ExactResult(None, float("nan"), float("inf"), float("nan"), "infeasible",
                           time.monotonic() - start, n_variables=nv, n_constraints=nr,
                           reason=reason)
    left = max(float(time_limit) - (time.monotonic() - start), 0.05)
    res = milp_walled(model["c"], integrality=np.zeros(nv) if relax else np.ones(nv),
                      bounds=VarBounds(model["lb"], np.ones(nv)),
                      constraints=LinearConstraint(model["A"], model["row_lb"],
                                                   model["row_ub"]),
                      wall=left, options={"mip_rel_gap": mip_rel_gap, "presolve": True,
                                          **({"node_limit": int(node_limit)}
                                             if node_limit else {})})
    seconds = time.monotonic() - start
    if res is None:  # killed at the wall before HiGHS answered
        return ExactResult(None, float("nan"), -float("inf"), float("nan"),
                           "time_limit_no_solution", seconds, n_variables=nv,
                           n_constraints=nr, reason="time limit reached before HiGHS found "
                                                    "an assignment")
    info = {"highs_status": int(res.status), "message": str(res.message),
            "nodes": getattr(res, "mip_node_count", None)}
    if res.status == 2:
        return ExactResult(None, float("nan"), float("inf"), float("nan"), "infeasible",
                           seconds, n_variables=nv, n_constraints=nr,
                           reason="HiGHS proved that no assignment meets the bounds with "
                                  "contiguity" if contiguity else "HiGHS proved that no "
                                  "assignment meets the bounds", info=info)
    if res.status == 4 and "limit reached" in str(res.message).lower():
        res["status"] = 1  # scipy does not know HiGHS's node/solution limits: a budget stop
    if res.status not in (0, 1):
        raise SolverError(f"HiGHS failed: {res.message} (status {res.status})")
    if res.x is None:
        return ExactResult(None, float("nan"), _bound(res, relax), float("nan"),
                           "time_limit_no_solution", seconds, n_variables=nv,
                           n_constraints=nr, info=info)
    if relax:
        obj = float(res.fun)
        return ExactResult(None, obj, obj, 0.0, "optimal" if res.status == 0 else
                           "time_limit_no_solution", seconds, n_variables=nv,
                           n_constraints=nr, info={**info, "x": res.x})
    labels = _labels(model, res.x)
    obj = float(model["cost"][labels, np.arange(model["n"])].sum())
    dobj = float((model["weights"] * model["dist"][labels, np.arange(model["n"])]).sum())
    bound = _bound(res, relax)
    gap = max(0.0, (obj - bound) / abs(obj)) if obj != 0 else 0.0
    status = "optimal" if res.status == 0 else "time_limit_feasible"
    return ExactResult(labels, obj, bound, gap, status, seconds, distance_objective=dobj,
                       n_variables=nv, n_constraints=nr, info=info)


def _bound(res: Any, relax: bool) -> float:
    if relax:
        return float(res.fun) if res.fun is not None else -float("inf")
    b = getattr(res, "mip_dual_bound", None)
    return float(b) if b is not None and np.isfinite(b) else -float("inf")


def _labels(model: dict, x: np.ndarray) -> np.ndarray:
    """Integral solution to labels (largest value per unit guards against 1 - 1e-9)."""
    val = np.full((model["m"], model["n"]), -1.0)
    val[model["pair_i"], model["pair_j"]] = x
    return np.argmax(val, axis=0).astype(np.int64)


def lp_bound(graph: sp.csr_matrix, metrics: np.ndarray, centers: Any, bounds: Any,
             **kwargs: Any) -> float:
    """Optimum of the LP relaxation: a lower bound (``inf`` when even that is infeasible).

    Takes the arguments of :func:`solve_exact`; with ``contiguity=False`` it is
    a bound on every alignment, contiguous or not.
    """
    r = solve_exact(graph, metrics, centers, bounds, relax=True, **kwargs)
    return float("inf") if r.status == "infeasible" else r.bound


def hess_samuels(graph: sp.csr_matrix, metrics: np.ndarray, centers: Any,
                 bounds: Any = None, *, weights: np.ndarray | None = None) -> HessSamuelsResult:
    """Hess & Samuels (1971): LP of the balanced transportation problem, then round.

    ``min sum w_j d_ij x_ij`` s.t. ``sum_i x_ij = 1``, balance bounds (default:
    every territory exactly total / m on every metric), ``0 <= x <= 1``, no
    contiguity. A vertex solution (dual simplex) splits at most ``m*k - 1``
    units; each goes to its largest fraction, which breaks the balance.
    """
    start = time.monotonic()
    graph = sp.csr_matrix(graph, dtype=float)
    metrics = np.asarray(metrics, dtype=float)
    metrics = metrics[:, None] if metrics.ndim == 1 else metrics
    centers = np.asarray(centers, dtype=np.int64).ravel()
    n, k = metrics.shape
    m = len(centers)
    if bounds is None:
        target = np.broadcast_to(metrics.sum(axis=0) / m, (m, k))
        bounds = (target, target)
    lower, upper = _as_bounds(bounds, m, k)
    w = metrics[:, 0] if weights is None else np.asarray(weights, dtype=float)
    dist = dijkstra(graph, directed=False, indices=centers)
    dist = np.where(np.isfinite(dist), dist, np.nanmax(dist[np.isfinite(dist)]) * 10)
    cost = (w[None, :] * dist).ravel()  # variable i*n + j
    ii, jj = np.divmod(np.arange(m * n), n)
    a_eq = sp.csr_matrix((np.ones(m * n), (jj, np.arange(m * n))), shape=(n, m * n))
    rows = [sp.csr_matrix((metrics[jj, q], (ii, np.arange(m * n))), shape=(m, m * n))
            for q in range(k)]
    a_bal = sp.vstack(rows).tocsr()
    lo = np.concatenate([lower[:, q] for q in range(k)])
    hi = np.concatenate([upper[:, q] for q in range(k)])
    res = linprog(cost, A_ub=sp.vstack([a_bal, -a_bal]).tocsr(), b_ub=np.r_[hi, -lo],
                  A_eq=a_eq, b_eq=np.ones(n), bounds=(0, 1), method="highs-ds")
    if res.status != 0:
        raise SolverError(f"Hess & Samuels LP: {res.message}")
    x = res.x.reshape(m, n)
    labels = np.argmax(x, axis=0).astype(np.int64)
    split = int(((x > 1e-9) & (x < 1 - 1e-9)).any(axis=0).sum())
    obj = float(cost.reshape(m, n)[labels, np.arange(n)].sum())
    return HessSamuelsResult(labels, float(res.fun), obj, split, time.monotonic() - start)


# -- checks --------------------------------------------------------------------------------
def star_shaped(graph: sp.csr_matrix, labels: np.ndarray, centers: Any) -> np.ndarray:
    """``flags[i]``: every unit of territory i other than its center has a neighbour in
    territory i strictly closer to the center (the family the MILP searches)."""
    graph = sp.csr_matrix(graph, dtype=float)
    centers = np.asarray(centers, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    m, n = len(centers), graph.shape[0]
    dist = dijkstra(graph, directed=False, indices=centers)
    nbr = graph.indices
    row_of = np.repeat(np.arange(n), np.diff(graph.indptr))
    t = labels[row_of]
    ok_edge = (labels[nbr] == t) & (dist[t, nbr] < dist[t, row_of])
    has = np.zeros(n, dtype=bool)
    has[row_of[ok_edge]] = True
    has[centers] = labels[centers] == np.arange(m)
    flags = np.ones(m, dtype=bool)
    flags[np.unique(labels[~has])] = False
    return flags


def assignment_cost(graph: sp.csr_matrix, labels: np.ndarray, centers: Any,
                    weights: np.ndarray) -> float:
    """``sum_j w_j d(c_label(j), j)``: the model's distance objective of any assignment,
    so answers from different solvers are scored by one rule."""
    centers = np.asarray(centers, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    dist = dijkstra(sp.csr_matrix(graph, dtype=float), directed=False, indices=centers)
    return float((np.asarray(weights, float) * dist[labels, np.arange(len(labels))]).sum())

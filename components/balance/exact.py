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

The model's arrays are built in :mod:`components.balance.exact_model`; the references
only benchmarks and tests use (the LP bound, Hess & Samuels, the star-shaped check) live
in ``tests/benchmarks/balance_refs.py``.

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
from scipy.optimize import LinearConstraint
from scipy.sparse.csgraph import dijkstra

from components.balance.exact_model import _balance_reason, build_model
from components.errors import SolverError
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
    res: Any = milp_walled(model["c"], integrality=np.zeros(nv) if relax else np.ones(nv),
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


def assignment_cost(graph: sp.csr_matrix, labels: np.ndarray, centers: Any,
                    weights: np.ndarray) -> float:
    """``sum_j w_j d(c_label(j), j)``: the model's distance objective of any assignment,
    so answers from different solvers are scored by one rule."""
    centers = np.asarray(centers, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    dist = dijkstra(sp.csr_matrix(graph, dtype=float), directed=False, indices=centers)
    return float((np.asarray(weights, float) * dist[labels, np.arange(len(labels))]).sum())

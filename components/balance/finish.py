"""The results of a balance run: distances, cost, bound, gap, totals, status.

Split from :mod:`components.balance.solver` so each reads in one sitting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse.csgraph import dijkstra

from components.balance.contiguity import contiguous_flags
from components.balance.costs import LP_DENSE, PairCosts
from components.balance.local_search import violation
from components.balance.lp import min_tolerance

if TYPE_CHECKING:
    from components.balance.solver import TerritoryBalancer, _Attempt

def finish(b: TerritoryBalancer, data: dict, best: _Attempt) -> None:
    """Set the solver's results from the best attempt: labels, exact distances, cost,
    bound and gap, totals, contiguity, status and what stopped it."""
    res, labels = best.result, best.labels
    metrics, bounds, graph = data["metrics"], data["bounds"], data["graph"]
    m, n = b.n_territories, len(labels)
    rows = np.arange(n)
    b.labels_ = labels
    b.centers_ = best.centers
    pc: PairCosts = res["pc"]
    b.distances_ = pc.dist[labels, rows]
    lost = np.flatnonzero(~np.isfinite(b.distances_))
    if len(lost):  # pairs beyond the search's reach: their exact distance
        terr = np.unique(labels[lost])
        exact = dijkstra(graph, directed=False, indices=best.centers[terr])
        b.distances_[lost] = exact[np.searchsorted(terr, labels[lost]), lost]
    # reported with the user's weights exactly (the solver nudges zero weights up)
    b.objective_ = float(((b._w_user if b.objective == "compactness" else 1.0)
                             * b.distances_).sum())
    unit_cost = pc.cost[labels, rows].copy()
    if len(lost):  # the search priced these at a penalty; their true cost
        coef = data["w"][lost] if b.objective == "compactness" else 1.0
        unit_cost[lost] += coef * b.distances_[lost] - pc.base[labels[lost], lost]
    b.cost_objective_ = float(unit_cost.sum())
    # the bound holds for the nudged weights; the nudge adds at most this much
    nudged = (data["w"] - b._w_user) if b.objective == "compactness" else 0.0
    d = pc.dist.vals
    slack = float(np.sum(nudged * pc.pairs.row_max(np.where(np.isfinite(d), d, 0.0)))) \
        if np.any(nudged) else 0.0
    b.bound_ = float(res["bound"]) - slack
    b.bound_kind_ = res["bound_kind"]
    # a bound over every alignment only when no center was sought
    b.bound_scope_ = "all" if data["all_fixed"] else "these_centers"
    c = b.cost_objective_
    b.gap_ = max(0.0, (c - b.bound_) / abs(c)) if c > 0 else 0.0
    b.totals_ = np.zeros((m, metrics.shape[1]))
    np.add.at(b.totals_, labels, metrics)
    b.bounds_ = bounds
    scale = np.maximum(metrics.sum(axis=0) / m, 1e-300)
    b.violation_ = float(violation(b.totals_ / scale, bounds.lower / scale,
                                      bounds.upper / scale).sum())
    b.contiguous_ = contiguous_flags(graph, labels, m)
    b.forbidden_ = res["forbidden"]
    b.moved_share_ = res["moved"] if data["current"] is not None else None
    b.locked_ok_ = bool(np.all((data["locked"] < 0) | (labels == data["locked"])))
    ok = b.contiguous_.all() and b.forbidden_ == 0 and b.locked_ok_ \
        and res.get("cap_met", True)
    if not ok:
        b.status_ = "constraint_violated"
    elif b.violation_ > 1e-9:
        b.status_ = "tolerance_not_met"
    elif b.gap_ <= 1e-6:
        b.status_ = "optimal"
    else:
        b.status_ = "feasible"
    if b.status_ in ("constraint_violated", "tolerance_not_met"):
        # the bound holds for feasible answers only; an infeasible one may be cheaper
        b.gap_ = None
    # the clock cut some phase short: say so, whatever the last loop reported
    b.stopped_by_ = "time_limit" if b._clock.hit else res["stopped_by"]
    b.needed_tolerance_ = None
    if b.status_ == "tolerance_not_met" and not b._clock.expired():
        b.needed_tolerance_ = needed_tolerance(b, data, best.centers)
    b.seconds_ = b._clock.elapsed()

def needed_tolerance(solver: TerritoryBalancer, data: dict,
                     ctr: np.ndarray) -> float | None:
    """The smallest common tolerance no alignment with these centers can beat (LP)."""
    metrics, b = data["metrics"], data["bounds"]
    if len(ctr) * len(data["w"]) > LP_DENSE:
        return None  # the LP of every pair would not fit; no proof then
    _, cost_f, forbid = solver._costs(data, ctr, solver.disruption_weight).dense()
    scale = np.maximum(metrics.sum(axis=0) / len(ctr), 1e-300)
    return min_tolerance(cost_f, forbid, metrics / scale, b.target / scale,
                         solver._clock.real_remaining())

"""Capacitated p-center: the smallest radius within which p sites serve every point
without breaking a capacity (single sourcing).

The optimum is one of the distinct costs ``r``. For a threshold ``r`` the question
"can p sites serve every point within ``r`` and within the load limits?" is a
capacitated p-median on the costs with every pair beyond ``r`` forbidden (rows of
weight 0 are not measured, as in the uncapacitated p-center, but they still load a
site): a solution without violation answers yes; an
:class:`~components.errors.InfeasibleError` from that solve (the capacity check with the
numbers, or HiGHS proving the model infeasible) answers no, for ``r`` and every smaller
threshold; anything else settles nothing. A binary search over the thresholds between

* a lower bound: the uncapacitated p-center's proven bound (dropping the capacities
  only lowers the optimum), raised by every threshold proven too small, and
* an upper bound: the largest cost of the capacitated p-median answer,

keeps the best answer found. The reported bound moves only on proofs.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from components.errors import InfeasibleError, ParameterError

if TYPE_CHECKING:
    from components.locate.solver import LocationAllocator


def solve_capacitated_center(la: LocationAllocator, t0: float, costs: Any, weights: Any, *,
                             loads: Any, required: Any, eligible: Any, opening_costs: Any,
                             budget_costs: Any, capacities: Any, min_loads: Any, groups: Any,
                             group_max: Any, competitor_costs: Any, max_cost: float | None,
                             forbidden: Any, required_pairs: Any, site_rank: Any,
                             site_names: Any) -> LocationAllocator:
    cls = type(la)
    if competitor_costs is not None and np.asarray(competitor_costs).size:
        raise ParameterError("competitors are not taken into account by 'min_max_cost' with "
                             "load limits; drop the competitors table or the limits",
                             column="competitors")
    real = np.array(costs, dtype=float)
    n = real.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    measured = w > 0 if (w > 0).any() else np.ones(n, dtype=bool)
    deadline = t0 + float(la.time_limit)
    common: dict[str, Any] = dict(min_load=la.min_load, max_load=la.max_load, budget=la.budget,
                  exact=la.exact, seed=la.seed, max_iterations=la.max_iterations,
                  patience=la.patience)
    kw: dict[str, Any] = dict(loads=loads if loads is not None else weights, required=required,
              eligible=eligible, capacities=capacities, min_loads=min_loads,
              groups=groups, group_max=group_max, forbidden=forbidden,
              required_pairs=required_pairs, site_rank=site_rank, site_names=site_names,
              budget_costs=budget_costs if budget_costs is not None else opening_costs,
              max_cost=max_cost)

    def left(share: float) -> float:
        return max(share * (deadline - time.monotonic()), 0.01)

    # 1. the uncapacitated p-center: its proven bound holds here too
    free = cls("min_max_cost", la.facilities, exact=la.exact, seed=la.seed,
               budget=la.budget, time_limit=left(0.3)).solve(
        real, weights, required=required, eligible=eligible,
        budget_costs=kw["budget_costs"], groups=groups, group_max=group_max,
        max_cost=max_cost, forbidden=forbidden, required_pairs=required_pairs,
        site_rank=site_rank, site_names=site_names)
    lb = float(free.lower_bound_)
    # 2. the capacitated p-median: a first answer (InfeasibleError here is the user's)
    best = cls("min_total_cost", la.facilities, time_limit=left(0.3), **common).solve(
        real, weights, **kw)
    stats: dict = {"uncapacitated_bound": lb, "tests": 0, "proofs": 0, "unsettled": 0}

    def radius(sub: LocationAllocator) -> float:
        a = sub.assignment_
        served = measured & (a >= 0)
        return float(real[np.flatnonzero(served), a[served]].max()) if served.any() else 0.0

    ub = radius(best) if best.violation_ <= 1e-9 else np.inf
    values = np.unique(real[measured][np.isfinite(real[measured])])
    if max_cost is not None:
        values = values[values <= max_cost]
    proven = lo = int(np.searchsorted(values, lb))
    hi = int(np.searchsorted(values, ub)) if np.isfinite(ub) else len(values)
    while lo < hi and time.monotonic() < deadline:
        mid = (lo + hi) // 2
        r = float(values[mid])
        within = np.where(measured[:, None] & (real > r), np.inf, real)
        stats["tests"] += 1
        try:
            sub = cls("min_total_cost", la.facilities, time_limit=left(0.5), **common).solve(
                within, weights, **kw)
        except InfeasibleError:  # proven for r, hence for every smaller threshold
            stats["proofs"] += 1
            lo = proven = mid + 1
            continue
        if sub.violation_ <= 1e-9:
            best, ub = sub, radius(sub)
            hi = min(mid, int(np.searchsorted(values, ub)))
        else:  # nothing proven: look above
            stats["unsettled"] += 1
            lo = mid + 1
    bound = max(lb, float(values[min(proven, len(values) - 1)]) if len(values) else lb)
    la.__dict__.update({k: v for k, v in best.__dict__.items()
                        if k.endswith("_") or k.startswith("_")})
    la._D = np.where(np.isfinite(la._D), real, np.inf)
    a = la.assignment_
    la.unit_cost_ = np.where(a >= 0, real[np.arange(n), np.maximum(a, 0)], np.nan)
    la.objective_ = radius(best) if best.violation_ <= 1e-9 else float(
        np.nanmax(np.where(measured, la.unit_cost_, np.nan)))
    la.bound_ = min(bound, la.objective_) if best.violation_ <= 1e-9 else bound
    la.bound_kind_ = "lower"
    la._deadline = deadline
    stats["sub_status"] = best.status_
    la.stats_ = {**best.stats_, "capacitated_center": stats}
    la._finish(t0)
    return la

"""Capacitated coverage and capacitated set cover, as load-limited p-median problems.

Within the radius every pair costs 0 and beyond it no pair is allowed
(``c'_ij = 0 if c_ij <= R else inf``). Then

* ``max_coverage`` with load limits is ``min_total_cost`` on ``c'`` with points allowed
  to stay out at a penalty of their weight: the cost is exactly the uncovered demand,
  and a point is covered only when an open site within the radius has room for it;
* ``min_facilities`` with load limits is ``min_total_cost`` on ``c'`` with an opening
  cost of 1 per site and "at most every candidate" open (``facilities_mode='at_most'``):
  the cost is exactly the number of sites, and every point must be served within the
  radius without breaking a capacity.

Both run the load-limited pipeline (load search, HiGHS on the assignment model when
small; a HiGHS bound only when HiGHS proved it), and the answer is reported in the
strategy's own terms: uncovered demand, or the number of sites, with real unit costs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from components.errors import InfeasibleError, ParameterError

if TYPE_CHECKING:
    from components.locate.solver import LocationAllocator

# strategies where a load limit has no meaning: why, and what to use instead
NO_LOADS = {
    "max_backup_coverage": (
        "load limits do not apply to max_backup_coverage: it scores how many open sites "
        "cover each point, not which one serves it, so no site carries a load; use "
        "max_coverage with capacities (capacitated coverage) instead"),
    "max_market_share": (
        "load limits do not apply to the Huff market-share strategies: each customer's "
        "demand is split over every store by probability, so a store's load is an expected "
        "share, not an assignment a capacity can cap; use max_coverage or min_total_cost "
        "with capacities, or give a full store a lower attractiveness"),
}
NO_LOADS["target_market_share"] = NO_LOADS["max_market_share"]


def solve_loaded(la: LocationAllocator, t0: float, costs: Any, weights: Any,
                 **kw: Any) -> LocationAllocator:
    """Load limits with a strategy other than min_total_cost (the solver's one hook)."""
    if la.strategy in NO_LOADS:
        raise ParameterError(NO_LOADS[la.strategy], column="capacity")
    if la.strategy == "min_max_cost":
        from components.locate.capcenter import solve_capacitated_center

        return solve_capacitated_center(la, t0, costs, weights, **kw)
    return solve_loaded_cover(la, t0, costs, weights, **kw)


def solve_loaded_cover(la: LocationAllocator, t0: float, costs: Any, weights: Any, *,
                       loads: Any, required: Any, eligible: Any, opening_costs: Any,
                       budget_costs: Any, capacities: Any, min_loads: Any, groups: Any,
                       group_max: Any, competitor_costs: Any, max_cost: float | None,
                       forbidden: Any, required_pairs: Any, site_rank: Any,
                       site_names: Any) -> LocationAllocator:
    import time

    LocationAllocator = type(la)  # sub-problems are solved by the caller's class

    if competitor_costs is not None and np.asarray(competitor_costs).size:
        raise ParameterError(f"competitors are not taken into account by {la.strategy!r} "
                             "with load limits; drop the competitors table or the limits",
                             column="competitors")
    if opening_costs is not None and la.strategy == "min_facilities":
        raise ParameterError("min_facilities counts sites: opening costs do not apply (use "
                             "min_total_cost with facilities_mode 'at_most' to trade them)",
                             column="opening_cost")
    real = np.array(costs, dtype=float)
    assert la.radius is not None  # checked with the parameters
    reach = real <= min(la.radius, max_cost if max_cost is not None else np.inf)
    zero = np.where(reach, 0.0, np.inf)
    n, m = real.shape
    if la.strategy == "min_facilities":
        can = np.ones(m, dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool)
        lost = ~(reach & can[None, :]).any(axis=1) if can.dtype == bool and can.shape == (m,) \
            else np.zeros(n, dtype=bool)
        if lost.any():
            raise InfeasibleError(
                f"{int(lost.sum())} point(s) have no candidate site within radius "
                f"{la.radius:g} (e.g. point positions {np.flatnonzero(lost)[:5].tolist()}); "
                "with load limits every point must be covered: raise the radius, add "
                "candidates, or use max_coverage")
    common: dict[str, Any] = dict(min_load=la.min_load, max_load=la.max_load, budget=la.budget,
                  exact=la.exact, seed=la.seed, max_iterations=la.max_iterations,
                  patience=la.patience, target_gap=la.target_gap,
                  time_limit=max(la.time_limit - (time.monotonic() - t0), 0.01))
    kw: dict[str, Any] = dict(
        loads=loads, required=required, eligible=eligible, budget_costs=budget_costs,
        capacities=capacities, min_loads=min_loads, groups=groups, group_max=group_max,
        forbidden=forbidden, required_pairs=required_pairs, site_rank=site_rank,
        site_names=site_names)
    if la.strategy == "max_coverage":
        sub = LocationAllocator("min_total_cost", la.facilities, allow_unassigned=True,
                                unassigned_penalty=1.0, **common)
        sub.solve(zero, weights, opening_costs=opening_costs, **kw)
    else:
        n_open = m if eligible is None else int(np.count_nonzero(eligible)) + (
            0 if required is None else int(np.count_nonzero(required)))
        sub = LocationAllocator("min_total_cost", min(n_open, m), facilities_mode="at_most",
                                **common)
        sub.solve(zero, weights, opening_costs=np.ones(m), **kw)
    la.__dict__.update({k: v for k, v in sub.__dict__.items()
                        if k.endswith("_") or k.startswith("_")})
    la._D = np.where(np.isfinite(la._D), real, np.inf)  # report the real costs
    a = la.assignment_
    la.unit_cost_ = np.where(a >= 0, real[np.arange(n), np.maximum(a, 0)], np.nan)
    if la.strategy == "max_coverage":
        la.bound_kind_ = "coverage"
    else:
        la.objective_ = float(len(la.open_))
        la.bound_ = float(min(np.ceil(sub.lower_bound_ - 1e-6), la.objective_))
        la.bound_kind_ = "lower"
    la.stats_["loaded_cover"] = {"as": "min_total_cost on 0/inf costs within the radius",
                                 "sub_status": sub.status_}
    la._finish(t0)
    return la

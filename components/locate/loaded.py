"""min_total_cost with load limits (and closest assignment): restarts of the load
search from the p-median answer, then HiGHS on the assignment model when it is small.

Bound to :class:`~components.locate.solver.LocationAllocator` as a method (``self``).
The unconstrained p-median bound stays a valid lower bound; HiGHS's proven bound (never
its incumbent) may raise it; a HiGHS-proven infeasibility raises InfeasibleError.
"""

from __future__ import annotations

import time

import numpy as np

import components.locate.capacity as cap_mod
from components.errors import InfeasibleError
from components.locate.checks import _fmt
from components.locate.median import feasible_start, solve_median
from components.locate.milp import SiteSide, assignment_model


def min_total_cost(self, p, rules, rng, deadline, coords, w, iters, patience, cap_site,
                    low_site) -> None:
    D, allowed = self._D, self._allowed
    cap_unit = np.minimum(self._comp_cost, self._penalty)
    C = np.where(allowed, np.minimum(D, cap_unit[:, None]), cap_unit[:, None]) * w[:, None]
    loads = cap_site is not None or low_site is not None
    t0 = time.monotonic()
    share = 0.4 if loads else 1.0
    res = solve_median(C, p, rules, rng, deadline=t0 + share * (deadline - t0),
                       coords=coords, weights=w, exact="never" if loads else self.exact,
                       max_iterations=iters, patience=patience, target_gap=self.target_gap)
    self.stats_.update(res.stats)
    if not loads:
        self.open_, self.objective_, self.bound_ = res.open, res.objective, res.bound
        if res.exact_status:
            self.stats_["exact_status"] = res.exact_status
        self._allocate_nearest()
        return
    # load limits: the unconstrained p-median bound stays a valid lower bound
    n, m = C.shape
    upper = np.full(m, np.inf) if cap_site is None else cap_site
    lower = np.zeros(m) if low_site is None else low_site
    out_cost = np.where(np.isfinite(self._comp_cost), self._comp_cost * w, np.inf)
    if self.allow_unassigned:
        out_cost = np.minimum(out_cost, self._penalty * w)
    # a point strictly closer to a competitor is captured: no site of ours may serve it
    own_ok = allowed & (D <= self._comp_cost[:, None])
    a = self._a
    prob = cap_mod.LoadProblem(C, own_ok, a, lower, upper, self._rank, out_cost,
                               self._opening)

    def site_ok(sol):
        return feasible_start(sol, rules)

    # the search is sensitive to where it starts: restart, alternately from a
    # half-shaken best and from a fresh random set (independent streams of the seeded
    # generator), until several restarts in a row find nothing or time runs out.
    # Closest assignment with tight limits leaves feasible sets rare and isolated
    # (3 of 400 neighbours of a 50-SCU optimum; none of 20,000 random sets), so it
    # gets more restarts.
    sol, alloc, info = None, None, {"restarts": 0}
    start = res.open
    max_attempts, give_up = (60, 15) if self.closest_assignment else (4, 4)
    attempt = since = 0
    while attempt < max_attempts and since < give_up:
        if attempt and time.monotonic() >= deadline - 0.05 * (deadline - t0):
            break
        if attempt:
            start = sol.copy()
            free = np.flatnonzero(~rules.fixed[start])
            pool = np.setdiff1d(np.flatnonzero(rules.eligible), start)
            k = min(len(free), len(pool), max(1, p // 2) if attempt % 2 else len(free))
            if k == 0:
                break
            start[rng.choice(free, k, replace=False)] = rng.choice(pool, k, replace=False)
        s_i, a_i, inf_i = cap_mod.load_search(
            prob, start, rules.fixed, rules.eligible, rng, deadline,
            closest=self.closest_assignment, allow_out=self.allow_unassigned,
            max_iterations=iters, patience=max(20, patience // 2), site_ok=site_ok)
        if alloc is None or a_i.key < alloc.key:
            sol, alloc, since = s_i, a_i, 0
        else:
            since += 1
        info = {**inf_i, "restarts": attempt}
        attempt += 1
    self.stats_["load_search"] = info
    bound = res.bound
    cells = n * m * (m if self.closest_assignment else 1)
    small = cells <= (600_000 if self.closest_assignment else 400_000)
    if (self.exact == "always" or (self.exact == "auto" and small)) and \
            time.monotonic() < deadline:
        side = SiteSide(p, False, rules.fixed, ~rules.eligible & ~rules.fixed, self._opening,
                        rules.budget, rules.budget_cost, rules.group, rules.group_max)
        r = assignment_model(C, own_ok,
                             side, demand=a, lower=lower if low_site is not None else None,
                             upper=upper if cap_site is not None else None,
                             closest=self.closest_assignment, rank=self._rank,
                             out_cost=out_cost, out_in_closest=self.allow_unassigned,
                             time_limit=max(deadline - time.monotonic(), 0.01),
                             gap=self.target_gap * 0.1)
        self.stats_["exact"] = {"method": "HiGHS assignment model", "status": r.status,
                                "seconds": r.seconds, "size": list(r.size)}
        if r.x is not None:
            cand = cap_mod.Allocation(r.x, np.bincount(r.x[r.x >= 0],
                                                       weights=a[r.x >= 0], minlength=m),
                                      prob.total(r.x, r.open), 0.0)
            cand.violation = prob.violation(cand.loads, r.open) + cap_mod._lost(prob, r.x)
            if cand.key < alloc.key:
                sol, alloc = np.sort(r.open), cand
        if r.status == "infeasible":
            self.stats_["exact_infeasible"] = True
            if not self.allow_unassigned:
                least = cap_mod._lost(prob, alloc.assign) + prob.violation(alloc.loads, sol)
                raise InfeasibleError(
                    f"HiGHS proved that no {p} sites meet the load limits (min_load "
                    f"{_fmt(float(lower.max()))}, max_load/capacities "
                    f"{_fmt(float(upper.min()))}-{_fmt(float(upper.max()))}) with total "
                    f"demand {_fmt(float(a.sum()))}; the best set found violates them by "
                    f"{_fmt(least)}; relax the limits, change the number of facilities or "
                    "allow unassigned points")
        elif r.bound is not None:  # the bound HiGHS proved, finished or not
            bound = max(bound, r.bound)
    self.open_ = sol
    self.objective_ = alloc.cost
    self.bound_ = min(bound, alloc.cost) if alloc.violation <= 1e-9 else bound
    self.violation_ = alloc.violation
    self._set_assignment(alloc.assign, capacity_reason=True)

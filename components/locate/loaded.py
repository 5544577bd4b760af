"""min_total_cost with load limits (and closest assignment): restarts of the load
search from the p-median answer, then HiGHS on the assignment model when it is small.

Bound to :class:`~components.locate.solver.LocationAllocator` as a method (``self``).
The unconstrained p-median bound stays a valid lower bound; HiGHS's proven bound (never
its incumbent) may raise it; a HiGHS-proven infeasibility raises InfeasibleError.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

import components.locate.capacity as cap_mod
import components.locate.cpmp as cpmp_mod
from components.errors import InfeasibleError
from components.locate.checks import _fmt
from components.locate.median import feasible_start, solve_median
from components.locate.milp import MilpResult, SiteSide, assignment_model

LAGRANGE_ITERATIONS = 400  # subgradient steps for the capacitated p-median
EXACT_POINTS = 500  # HiGHS on the (reduced) model in exact='auto' up to this many points
EXACT_NODES = 5_000  # its branch-and-bound budget: the verdict does not depend on load
POOL_SETS, POOL_NEAR, POOL_NODES = 20, 6, 5_000  # the restricted model: sets, pairs, nodes


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

    cpmp = (cap_site is not None and low_site is None and not self.closest_assignment
            and not np.isfinite(out_cost).any())
    if cpmp:  # capacitated p-median: the Lagrangian method (components.locate.cpmp)
        _cpmp(self, prob, res, p, rules, rng, deadline, t0, iters, patience, site_ok)
        return
    sol, alloc, info = _restarts(self, prob, res.open, p, rules, rng, deadline, t0, iters,
                                 patience, site_ok)
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
                             gap=self.target_gap * 0.1, node_limit=EXACT_NODES)
        self.stats_["exact"] = {"method": "HiGHS assignment model", "status": r.status,
                                "seconds": r.seconds, "size": list(r.size),
                                "node_limit": EXACT_NODES}
        if r.x is not None and r.open is not None:
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


def _restarts(self, prob, start, p, rules, rng, deadline, t0, iters, patience, site_ok,
              max_attempts: int | None = None):
    """Load searches restarted from a shaken best or a fresh random set.

    The search is sensitive to where it starts: restart, alternately from a half-shaken
    best and from a fresh random set (independent streams of the seeded generator),
    until several restarts in a row find nothing or time runs out. Closest assignment
    with tight limits leaves feasible sets rare and isolated (3 of 400 neighbours of a
    50-SCU optimum; none of 20,000 random sets), so it gets more restarts.
    """
    sol: Any = None
    alloc: Any = None
    info: dict = {"restarts": 0}
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
    return sol, alloc, info


def _cpmp(self, prob, res, p, rules, rng, deadline, t0, iters, patience, site_ok) -> None:
    """Capacitated p-median (no min loads, no closest assignment, every point served).

    Budgets in iterations, the time limit only a cap: a short load search from the
    p-median sites, the Lagrangian (bound, heuristic, site fixing), a second load search
    from the best sites, then HiGHS on the model the fixings leave (n <= EXACT_POINTS).
    """
    n, m = prob.costs.shape
    best: dict = {"sol": None, "alloc": None}
    seen: dict[bytes, float | None] = {}

    def keep(sol: np.ndarray, alloc: cap_mod.Allocation) -> None:
        if best["alloc"] is None or alloc.key < best["alloc"].key:
            best["sol"], best["alloc"] = np.sort(sol), alloc

    def on_sites(sites: np.ndarray) -> float | None:
        key = np.sort(sites).tobytes()
        if key not in seen and time.monotonic() < deadline:
            seen[key] = None
            if site_ok(sites):
                alloc = cpmp_mod.allocate(prob, sites, deadline)
                keep(sites, alloc)
                seen[key] = alloc.cost if alloc.violation <= 1e-9 else None
        return seen.get(key)

    def search(start: np.ndarray, share: float, its: int) -> None:
        now = time.monotonic()
        if now >= deadline:
            return
        sol, alloc, info = cap_mod.load_search(
            prob, start, rules.fixed, rules.eligible, rng, now + share * (deadline - now),
            closest=False, allow_out=False, max_iterations=its, patience=max(10, its // 4),
            site_ok=site_ok)
        keep(sol, cpmp_mod.improve(prob, alloc, sol, deadline=deadline))
        self.stats_.setdefault("load_search", []).append(info)

    cpu = [time.process_time()]
    first = np.sort(res.open)  # always evaluated: the answer when time is short
    keep(first, cpmp_mod.allocate(prob, first, deadline))
    search(res.open, 0.3, min(iters, 60))
    cpu.append(time.process_time())
    upper = best["alloc"].cost if best["alloc"].violation <= 1e-9 else np.inf
    now = time.monotonic()
    st = cpmp_mod.subgradient(prob, p, rules.fixed, rules.eligible,
                              upper if np.isfinite(upper) else 2.0 * max(res.objective, 1.0),
                              now + 0.5 * (deadline - now), max_iterations=LAGRANGE_ITERATIONS,
                              on_sites=on_sites)
    cpu.append(time.process_time())
    # a restricted model (Stefanello et al. 2015): the sites of the best sets found, each
    # point to its nearest of them; HiGHS's answer is a solution, never a bound
    ranked = sorted((c, k) for k, c in seen.items() if c is not None)[:POOL_SETS]
    if n <= EXACT_POINTS and ranked and time.monotonic() < deadline:
        pool = np.unique(np.concatenate([np.frombuffer(k, dtype=np.int64) for _c, k in ranked]
                                        + [best["sol"]]))
        only = np.zeros(m, dtype=bool)
        only[pool] = True
        near = np.where(prob.allowed & only[None, :], prob.costs, np.inf)
        width = min(len(pool), max(POOL_NEAR, 2 * len(pool) // 3))
        kth = np.partition(near, width - 1, axis=1)[:, width - 1]
        allowed_r = prob.allowed & only[None, :] & (near <= kth[:, None])
        # keep the best solution's own pairs, so it stays inside the model
        allowed_r[np.arange(n), best["alloc"].assign] = True
        # budget and group limits hold in this model too
        side_r = SiteSide(p, False, rules.fixed, ~only, self._opening, rules.budget,
                          rules.budget_cost, rules.group, rules.group_max)
        r = assignment_model(prob.costs, allowed_r, side_r,
                             demand=prob.demand, lower=None, upper=prob.upper, closest=False,
                             rank=self._rank, out_cost=None, out_in_closest=False,
                             time_limit=max(0.3 * (deadline - time.monotonic()), 0.01),
                             gap=1e-9, node_limit=POOL_NODES)
        self.stats_["restricted_model"] = {"sites": len(pool), "nearest": width,
                                           "status": r.status, "seconds": r.seconds}
        if r.x is not None and r.open is not None and (r.x >= 0).all():
            loads = np.bincount(r.x, weights=prob.demand, minlength=m)
            keep(r.open, cap_mod.Allocation(r.x, loads, prob.total(r.x, r.open),
                                            prob.violation(loads, r.open)))
    cpu.append(time.process_time())
    search(best["sol"], 0.3, min(iters, 60))
    cpu.append(time.process_time())
    alloc, sol = best["alloc"], best["sol"]
    feasible = alloc.violation <= 1e-9
    upper = alloc.cost if feasible else np.inf
    bound = max(res.bound, st.bound)
    info: dict = {"lagrangian_bound": st.bound, "iterations": st.iterations,
                  "exact_knapsacks": st.exact_knapsack, "heuristic_sets": len(seen),
                  "phase_cpu_seconds": np.round(np.diff(cpu), 2).tolist()}
    exact = self.exact == "always" or (self.exact == "auto" and n <= EXACT_POINTS)
    if exact and time.monotonic() < deadline and not (feasible and upper - bound <= 1e-9
                                                       * max(1.0, abs(upper))):
        ok = prob.allowed
        integral = bool(np.all(prob.costs[ok] == np.round(prob.costs[ok])))
        closed, opened = (cpmp_mod.fixings(st, upper, integral) if feasible
                          else (np.zeros(m, bool), np.zeros(m, bool)))
        side = SiteSide(p, False, rules.fixed | opened, (~rules.eligible & ~rules.fixed) | closed,
                        self._opening, rules.budget, rules.budget_cost, rules.group,
                        rules.group_max)
        info["fixed_closed"] = int((closed & rules.eligible).sum())
        info["fixed_open"] = int((opened & ~rules.fixed).sum())
        if int((~side.closed).sum()) < p:  # the fixing left no room for a better answer
            r = MilpResult("infeasible", None, None, None, None)
        else:
            r = assignment_model(prob.costs, ok, side, demand=prob.demand, lower=None,
                                 upper=prob.upper, closest=False, rank=self._rank, out_cost=None,
                                 out_in_closest=False,
                                 time_limit=max(deadline - time.monotonic(), 0.01),
                                 gap=self.target_gap * 0.1, node_limit=EXACT_NODES)
        self.stats_["exact"] = {"method": "HiGHS assignment model on the sites left by the "
                                "Lagrangian fixing", "status": r.status, "seconds": r.seconds,
                                "size": list(r.size), "node_limit": EXACT_NODES}
        if r.x is not None and r.open is not None and (r.x >= 0).all():
            cand = cap_mod.Allocation(r.x, np.bincount(r.x, weights=prob.demand, minlength=m),
                                      prob.total(r.x, r.open), 0.0)
            cand.violation = prob.violation(cand.loads, r.open)
            keep(r.open, cand)
        if r.status == "infeasible":
            if not feasible:  # nothing was fixed: HiGHS proved the whole model infeasible
                raise InfeasibleError(
                    f"HiGHS proved that no {p} sites can hold the demand within their "
                    f"capacities ({_fmt(float(prob.upper.min()))}-"
                    f"{_fmt(float(prob.upper.max()))}; total demand "
                    f"{_fmt(float(prob.demand.sum()))}, largest point "
                    f"{_fmt(float(prob.demand.max()))}); the best set found violates them by "
                    f"{_fmt(alloc.violation)}; raise the capacities or open more facilities")
            bound = max(bound, upper)  # no better solution among the sites left
        elif r.bound is not None:  # proven, finished or not; min(UB, B) for the whole
            bound = max(bound, min(upper, r.bound))
    alloc, sol = best["alloc"], best["sol"]
    self.stats_["cpmp"] = info
    self.open_ = sol
    self.objective_ = alloc.cost
    self.bound_ = min(bound, alloc.cost) if alloc.violation <= 1e-9 else bound
    self.violation_ = alloc.violation
    self._set_assignment(alloc.assign, capacity_reason=True)

"""Radius strategies: p-center (min_max_cost) and fewest sites (min_facilities).

p-center: the optimal value is one of the distinct costs ``r``. For a threshold
``r``, "can ``p`` sites cover every point within ``r``?" is a set-cover question:

* heuristically, the fast interchange on 0/1 costs ``[C_ij > r]`` (uncovered
  demand) answers yes when it reaches 0: that gives the upper bound;
* the LP relaxation of the set cover needing more than ``p`` sites proves ``r``
  too small: that gives the lower bound;
* HiGHS on the set-cover MILP settles the thresholds in between (exact).

A binary search over the sorted distinct costs runs each test at most
``log2(#costs)`` times. min_facilities is one set cover at the radius: greedy
(largest uncovered demand first) with redundant sites dropped, then the
interchange tries ``k - 1`` sites, then HiGHS proves the count (or its LP bound
gives ``ceil(LP)``).
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from components.locate.engine import SiteRules, SwapEngine, vns
from components.locate.milp import SiteSide, set_cover


def covers_with(costs: np.ndarray, r: float, p: int, rules: SiteRules, rng, deadline: float,
                start: np.ndarray) -> np.ndarray | None:
    """Open set of ``p`` sites covering every row within ``r`` (heuristic), or None."""
    zero_one = (costs > r).astype(float)
    engine = SwapEngine(zero_one, rules, start)
    if engine.objective > 0:
        vns(engine, rng, deadline, max_iterations=60, patience=30)
    return engine.slots.copy() if engine.objective == 0 else None


def _side(rules: SiteRules, p: int | None) -> SiteSide:
    return SiteSide(p, True, rules.fixed.copy(), ~rules.eligible & ~rules.fixed, None,
                    rules.budget, rules.budget_cost, rules.group, rules.group_max)


def p_center(costs: np.ndarray, p: int, rules: SiteRules, rng, deadline: float,
             start: np.ndarray, exact: bool,
             node_limit: int = 20_000) -> tuple[np.ndarray, float, float, dict]:
    """(open sites, max cost, lower bound, stats) for unweighted costs (n, m).

    The lower bound only rises on a proof: a threshold is "too small" when HiGHS proves
    that no ``p`` sites cover it (status ``infeasible`` of the feasibility MILP, or the
    LP relaxation needing more than ``p``), never because a solve cut short by the time
    limit found nothing (issue #19: that read an unfinished proof as a proof).
    """
    values = np.unique(costs)
    best_open = np.asarray(start)
    ub = float(costs[:, best_open].min(axis=1).max())
    lb = float(costs[:, rules.eligible | rules.fixed].min(axis=1).max())
    stats: dict = {"tests": 0, "milp_tests": 0, "proofs": 0, "unsettled": 0}
    # heuristic binary search for the upper bound: its budget is in iterations (each test
    # is a VNS of at most 60 moves), the time limit only a cap, so the answer does not
    # depend on how busy the machine is
    lo = int(np.searchsorted(values, lb))
    hi = int(np.searchsorted(values, ub))
    while lo < hi and time.monotonic() < deadline:
        mid = (lo + hi) // 2
        stats["tests"] += 1
        got = covers_with(costs, values[mid], p, rules, rng, deadline, best_open)
        if got is not None:
            best_open, hi = got, mid
            ub = float(costs[:, got].min(axis=1).max())
            hi = int(np.searchsorted(values, ub))
        else:
            lo = mid + 1
    # proofs over [lb, ub): thresholds that p sites cannot cover form a prefix of the
    # sorted costs. ``proven`` is the first threshold not yet proven too small. Each
    # test has a budget in branch-and-bound nodes (so one hard threshold cannot eat the
    # time the tests above it need, whatever the load); the time limit is only a cap.
    proven = int(np.searchsorted(values, lb))
    hi = int(np.searchsorted(values, ub))
    lo = proven
    first = True
    while lo < hi and time.monotonic() < deadline:
        # the search usually ends at the optimum: the threshold just below it, proven too
        # small, settles every lower one at once (one MILP instead of log2 of them)
        mid = hi - 1 if first else (lo + hi) // 2
        first = False
        cover = sp.csr_matrix(costs <= values[mid])
        stats["milp_tests"] += 1
        verdict = _cover_test(cover, rules, p, deadline - time.monotonic(), exact, node_limit)
        if isinstance(verdict, str) and verdict == "too_small":
            stats["proofs"] += 1
            lo = proven = mid + 1
        elif isinstance(verdict, str):  # no proof here: look for the LP's own boundary below
            hi = mid
        elif isinstance(verdict, np.ndarray):
            hi = mid
            best_open = _pad(verdict, p, best_open, rules)
            ub = float(costs[:, best_open].min(axis=1).max())
            hi = min(hi, int(np.searchsorted(values, ub)))
        else:  # unsettled (node budget or time limit): nothing proven; look above it
            stats["unsettled"] += 1
            lo = mid + 1
    bound = float(values[min(proven, len(values) - 1)])
    return np.sort(best_open), ub, min(max(bound, lb), ub), stats


def _cover_test(cover: sp.csr_matrix, rules: SiteRules, p: int, time_limit: float,
                exact: bool, node_limit: int):
    """'too_small' (proven), a cover of at most p sites, 'lp_fits' (LP only: the
    relaxation fits within p, nothing proven) or None (not settled).

    The MILP minimises the number of sites rather than asking for any cover within p:
    with an objective HiGHS proves "more than p" from its bound, often at the root
    (pmed32 at radius 28: 1.9 CPU s against no answer in 60 s for the feasibility form).
    """
    lp = set_cover(cover, _side(rules, None), time_limit=time_limit, relax=True)
    if lp.status == "infeasible":  # budget/groups leave no cover at all
        return "too_small"
    if lp.status == "optimal" and lp.bound is not None and lp.bound > p + 1e-6:
        return "too_small"
    if not exact:
        return "lp_fits" if lp.status == "optimal" else None
    res = set_cover(cover, _side(rules, None), node_limit=node_limit,
                    time_limit=max(time_limit - lp.seconds, 0.01))
    if res.status == "infeasible":
        return "too_small"
    if res.open is not None and len(res.open) <= p:  # a real cover within the limits
        return res.open
    # the proven bound (never the incumbent): the site count is an integer
    if res.bound is not None and res.bound > p + 1e-6:
        return "too_small"
    return None


def _pad(open_idx: np.ndarray, p: int, fallback: np.ndarray, rules: SiteRules) -> np.ndarray:
    """A cover with fewer than p sites, topped up with sites of ``fallback``."""
    out = list(dict.fromkeys(open_idx.tolist()))
    for j in fallback.tolist():
        if len(out) >= p:
            break
        if j not in out:
            out.append(j)
    pool = np.flatnonzero(rules.eligible)
    for j in pool.tolist():
        if len(out) >= p:
            break
        if j not in out:
            out.append(j)
    return np.asarray(out[:max(p, len(open_idx))], dtype=np.int64)


def greedy_cover(cover: np.ndarray, weights: np.ndarray, rules: SiteRules,
                 per_cost: bool = False) -> np.ndarray:
    """Greedy set cover (largest uncovered demand first), then drop redundant sites.

    Budget and group limits hold throughout (sites that would break them are skipped);
    ``per_cost`` ranks sites by uncovered demand per unit of budget cost instead.
    """
    n, _m = cover.shape
    chosen: list[int] = [int(j) for j in np.flatnonzero(rules.fixed)]
    covered = cover[:, chosen].any(axis=1) if chosen else np.zeros(n, dtype=bool)
    w = np.where(weights > 0, weights, 1e-9)
    allowed = rules.eligible & ~rules.fixed
    budget_cost = rules.budget_cost
    budget = rules.budget if budget_cost is not None else None
    while not covered.all():
        gain = (w * ~covered) @ cover
        gain[~allowed] = -1
        if budget is not None and budget_cost is not None:  # sites that no longer fit
            spent = float(budget_cost[chosen].sum()) if chosen else 0.0
            gain[spent + budget_cost > budget * (1 + 1e-12)] = -1
            if per_cost:  # a cheap site covering a little can beat a dear one
                gain = np.where(gain > 0, gain / np.maximum(budget_cost, 1e-12), gain)
        counts = rules.count_groups(np.asarray(chosen, dtype=np.int64))
        if counts is not None:
            assert rules.group is not None and rules.group_max is not None  # counts says so
            g = rules.group
            full = (g >= 0) & (counts[np.maximum(g, 0)] >= rules.group_max[np.maximum(g, 0)])
            gain[full] = -1
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        chosen.append(j)
        allowed[j] = False
        covered |= cover[:, j]
    # drop sites whose points are all covered twice (last added first)
    counts = cover[:, chosen].sum(axis=1)
    for j in reversed(list(chosen)):
        if rules.fixed[j]:
            continue
        col = cover[:, j]
        if np.all(counts[col] >= 2):
            chosen.remove(j)
            counts -= col
    return np.asarray(chosen, dtype=np.int64)


def min_facilities(cover: np.ndarray, weights: np.ndarray, rules: SiteRules, rng,
                   deadline: float, exact: bool) -> tuple[np.ndarray, float, dict]:
    """(open sites, lower bound on their number, stats); every coverable row covered."""
    best = greedy_cover(cover, weights, rules)
    if rules.budget is not None and not cover[:, best].any(axis=1).all():
        alt = greedy_cover(cover, weights, rules, per_cost=True)
        if cover[:, alt].any(axis=1).all():
            best = alt
    stats: dict = {"greedy": len(best)}
    zero_one = (~cover).astype(float)
    n_fixed = int(rules.fixed.sum())
    while len(best) - 1 >= max(n_fixed, 1) and time.monotonic() < deadline:
        k = len(best) - 1
        start = np.concatenate([np.flatnonzero(rules.fixed),
                                [j for j in best if not rules.fixed[j]]])[:k]
        engine = SwapEngine(zero_one, rules, start.astype(np.int64))
        vns(engine, rng, deadline, max_iterations=100, patience=40)
        if engine.objective > 0:
            break
        best = engine.slots.copy()
    stats["interchange"] = len(best)
    res = set_cover(sp.csr_matrix(cover), _side(rules, None),
                    time_limit=max(deadline - time.monotonic(), 0.01), relax=not exact)
    # without a proof from HiGHS: the required sites, and at least one site for any point
    trivial = float(max(n_fixed, 1 if cover.shape[0] else 0))
    bound = max(float(np.ceil(res.bound - 1e-6)), trivial) if res.bound is not None else trivial
    complete = bool(cover[:, best].any(axis=1).all())
    if exact and res.open is not None and (len(res.open) < len(best) or not complete):
        best = res.open
    stats["milp_status"] = res.status
    return np.sort(best), min(bound, len(best)), stats

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
             start: np.ndarray, exact: bool) -> tuple[np.ndarray, float, float, dict]:
    """(open sites, max cost, lower bound, stats) for unweighted costs (n, m)."""
    values = np.unique(costs)
    best_open = np.asarray(start)
    ub = float(costs[:, best_open].min(axis=1).max())
    lb = float(costs[:, rules.eligible | rules.fixed].min(axis=1).max())
    stats = {"tests": 0, "milp_tests": 0}
    lo = int(np.searchsorted(values, lb))
    hi = int(np.searchsorted(values, ub))
    # heuristic binary search for the upper bound
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
    # proofs: thresholds whose set cover (LP relaxation, or MILP when exact) needs more
    # than p sites are infeasible; they form a prefix of the sorted costs
    lo = int(np.searchsorted(values, lb))
    hi = int(np.searchsorted(values, ub))
    while lo < hi and time.monotonic() < deadline:
        mid = (lo + hi) // 2
        cover = sp.csr_matrix(costs <= values[mid])
        res = set_cover(cover, _side(rules, None), time_limit=deadline - time.monotonic(),
                        relax=not exact)
        stats["milp_tests"] += 1
        needs = res.objective if res.objective is not None else np.inf
        if res.status == "infeasible" or needs > p + 1e-6:
            lo = mid + 1
        elif res.status != "optimal":
            break
        else:
            hi = mid
            if exact:
                best_open = _pad(res.open, p, best_open, rules)
                ub = float(costs[:, best_open].min(axis=1).max())
    proven = float(values[min(lo, len(values) - 1)])
    return np.sort(best_open), ub, min(max(proven, lb), ub), stats


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
    chosen = list(np.flatnonzero(rules.fixed))
    covered = cover[:, chosen].any(axis=1) if chosen else np.zeros(n, dtype=bool)
    w = np.where(weights > 0, weights, 1e-9)
    allowed = rules.eligible & ~rules.fixed
    budget = rules.budget if rules.budget_cost is not None else None
    while not covered.all():
        gain = (w * ~covered) @ cover
        gain[~allowed] = -1
        if budget is not None:  # sites that no longer fit the budget
            spent = float(rules.budget_cost[chosen].sum()) if chosen else 0.0
            gain[spent + rules.budget_cost > budget * (1 + 1e-12)] = -1
            if per_cost:  # a cheap site covering a little can beat a dear one
                gain = np.where(gain > 0, gain / np.maximum(rules.budget_cost, 1e-12), gain)
        counts = rules.count_groups(np.asarray(chosen, dtype=np.int64))
        if counts is not None:
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
    bound = float(np.ceil(res.bound - 1e-6)) if res.bound is not None else float(n_fixed)
    complete = bool(cover[:, best].any(axis=1).all())
    if exact and res.open is not None and (len(res.open) < len(best) or not complete):
        best = res.open
    stats["milp_status"] = res.status
    return np.sort(best), min(bound, len(best)), stats

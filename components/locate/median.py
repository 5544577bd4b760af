"""The median pipeline: Weber start, fast interchange + VNS, Lagrangian bound, exact.

Used for ``min_total_cost`` without load limits and, on 0/1 costs, for
``max_coverage``. The exact step only runs when the Lagrangian bound leaves a gap:
sites the bound proves useless are dropped or fixed, and the covering model is
solved on costs truncated at a per-point threshold ``T_i`` (``min(C_ij, T_i)``
is a relaxation, so its optimum is a lower bound). If every point's real cost in
that solution is within its threshold, the solution is optimal for the real
costs; otherwise the thresholds of the points that went past them are raised and
the model is solved again (Garcia, Labbe & Marin's radius idea, 2011).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from components.locate.engine import SiteRules, SwapEngine, vns
from components.locate.lagrange import fix_sites, lagrangian_bound
from components.locate.milp import SiteSide, median_levels
from components.locate.sparse import CandidateLists, SparseSwapEngine
from components.locate.weber import greedy_start, weber_start


@dataclass
class MedianResult:
    open: np.ndarray
    objective: float
    bound: float
    stats: dict = field(default_factory=dict)
    exact_status: str | None = None


def feasible_start(start: np.ndarray, rules: SiteRules) -> bool:
    if rules.budget is not None and rules.budget_cost is not None and \
            rules.budget_cost[start].sum() > rules.budget * (1 + 1e-12):
        return False
    counts = rules.count_groups(start)
    return counts is None or bool(np.all(counts <= rules.group_max))


def constrained_greedy(costs: np.ndarray, p: int, rules: SiteRules) -> np.ndarray:
    """Greedy adding that respects the budget and group limits."""
    open_idx: list[int] = [int(j) for j in np.flatnonzero(rules.fixed)]
    best = costs[:, open_idx].min(axis=1) if open_idx else costs.max(axis=1)
    allowed = rules.eligible & ~rules.fixed
    spent = 0.0 if rules.budget_cost is None else float(rules.budget_cost[open_idx].sum())
    while len(open_idx) < p:
        gain = np.maximum(best[:, None] - costs, 0.0).sum(axis=0)
        if rules.opening is not None:
            gain = gain - rules.opening
        ok = allowed.copy()
        if rules.budget is not None and rules.budget_cost is not None:
            ok &= spent + rules.budget_cost <= rules.budget * (1 + 1e-12)
        counts = rules.count_groups(np.asarray(open_idx, dtype=np.int64))
        if counts is not None:
            assert rules.group is not None and rules.group_max is not None  # counts says so
            g = rules.group
            has = g >= 0
            ok[has] &= counts[g[has]] < rules.group_max[g[has]]
        if not ok.any():
            break
        gain[~ok] = -np.inf
        j = int(np.argmax(gain))
        open_idx.append(j)
        allowed[j] = False
        if rules.budget_cost is not None:
            spent += float(rules.budget_cost[j])
        best = np.minimum(best, costs[:, j])
    return np.asarray(open_idx, dtype=np.int64)


def solve_median(costs: np.ndarray | CandidateLists, p: int, rules: SiteRules,
                 rng: np.random.Generator, *,
                 deadline: float, coords: tuple[np.ndarray, np.ndarray] | None,
                 weights: np.ndarray, exact: str, max_iterations: int, patience: int,
                 target_gap: float, heuristic_share: float = 0.5,
                 start: np.ndarray | None = None, max_rounds: int = 2) -> MedianResult:
    """``costs``: the weighted dense matrix, or weighted candidate lists (no exact step)."""
    lists = costs if isinstance(costs, CandidateLists) else None
    dense: np.ndarray | None = None if isinstance(costs, CandidateLists) else costs
    n, m = costs.shape
    t0 = time.monotonic()
    stats: dict = {}
    if start is None:
        if coords is not None:
            start = weber_start(coords[0], weights, coords[1], p, rules.fixed, rules.eligible,
                                rng, deadline=t0 + 0.25 * max(deadline - t0, 0.0))
            stats["start"] = "weber"
        elif lists is not None:
            start = _random_start(p, rules, rng)
            stats["start"] = "random"
        else:
            assert dense is not None
            start = greedy_start(dense, p, rules.fixed, rules.eligible, rules.opening)
            stats["start"] = "greedy"
        if not feasible_start(start, rules):
            if lists is not None:
                raise ValueError("budget and group limits need the dense path")
            assert dense is not None
            start = constrained_greedy(dense, p, rules)
            stats["start"] = "greedy (budget/groups)"
    if lists is not None:
        beyond = lists.beyond if lists.beyond is not None else 10.0 * lists.cost[:, -1]
        engine: SwapEngine = SparseSwapEngine(lists.idx, lists.cost, beyond, m, rules, start)
    else:
        assert dense is not None
        width = None if m <= 1200 else int(min(m, max(64, 10 * m // max(p, 1) + 32)))
        engine = SwapEngine(dense, rules, start, width=width)
    stats["start_objective"] = engine.objective
    # the first answer is a local optimum (FasterPAM-class): its descent may use the whole
    # limit, so a short limit still gets a real answer; VNS then gets its share
    engine.local_search(deadline)
    stats["descent_objective"] = engine.objective
    stats["descent_seconds"] = time.monotonic() - t0
    budget = min(deadline, t0 + heuristic_share * max(deadline - t0, 0.0))
    info = vns(engine, rng, budget, max_iterations=max_iterations, patience=patience)
    stats.update(vns=info, swaps=engine.swaps, heuristic_seconds=time.monotonic() - t0)
    upper = engine.objective
    full_m = engine.near_cost.shape[1] == m and dense is not None
    t_bound = time.monotonic()
    lb = lagrangian_bound(engine.near_idx, engine.near_cost, m, p, rules.fixed, rules.eligible,
                          upper, engine.d1.copy(), opening=rules.opening, deadline=deadline,
                          costs=dense if full_m else None, target_gap=target_gap * 0.5,
                          # dense steps on small instances; sparse lists (large ones) are
                          # cheap per step next to the search, so the bound gets more
                          max_iterations=400 if full_m else 600,
                          min_iterations=3)
    iterations, bound_seconds = lb.iterations, time.monotonic() - t_bound
    # The bound steers the rest of the search: while it leaves a gap, try the relaxed
    # solution as a new start (a Lagrangian heuristic, nearly free) and run one more VNS
    # round from the best; stop when a round finds nothing (the gap is then most likely the
    # bound's). After an improvement the bound is re-tightened from its own multipliers,
    # which also gives the next round a fresh relaxed solution to start from.
    rounds = 0
    while _gap(upper, lb.bound) > target_gap and rounds < max_rounds and \
            time.monotonic() < budget:
        rounds += 1
        before = upper
        _try_start(engine, lb.chosen, rules, budget)
        more = vns(engine, rng, budget, max_iterations=max_iterations,
                   patience=max(10, patience // 2))
        info["iterations"] += more["iterations"]
        if engine.objective >= before - 1e-10 * max(1.0, abs(before)):
            break
        upper = engine.objective
        t_bound = time.monotonic()
        lb2 = lagrangian_bound(engine.near_idx, engine.near_cost, m, p, rules.fixed,
                               rules.eligible, upper, lb.u, opening=rules.opening,
                               deadline=deadline, costs=dense if full_m else None,
                               target_gap=target_gap * 0.5, max_iterations=200)
        iterations += lb2.iterations
        bound_seconds += time.monotonic() - t_bound
        if lb2.bound > lb.bound:
            lb = lb2
    best_open, upper = engine.slots.copy(), min(upper, engine.objective)
    # every point pays at least its cheapest site: valid even when the time limit left the
    # Lagrangian no step (a bound of 0 would say nothing)
    trivial = float(engine.near_cost[:, 0].sum())
    bound = max(lb.bound, trivial)
    stats.update(heuristic_seconds=time.monotonic() - t0 - bound_seconds,
                 bound_seconds=bound_seconds, search_rounds=rounds + 1)
    stats["lagrangian"] = {"bound": lb.bound, "iterations": iterations,
                           "stopped_by": lb.stopped_by,
                           "list_width": int(engine.near_cost.shape[1])}
    res = MedianResult(np.sort(best_open), upper, min(bound, upper), stats)
    gap = (upper - bound) / max(abs(upper), 1e-12)
    small = n * m <= 1_000_000 and dense is not None
    if dense is not None and gap > target_gap and (
            exact == "always" or (exact == "auto" and small)) and time.monotonic() < deadline:
        _exact(dense, p, rules, engine, lb, res, deadline, full_m, target_gap)
    return res


def _random_start(p: int, rules: SiteRules, rng: np.random.Generator) -> np.ndarray:
    fixed = np.flatnonzero(rules.fixed)
    pool = np.flatnonzero(rules.eligible & ~rules.fixed)
    return np.concatenate([fixed, rng.choice(pool, p - len(fixed), replace=False)])


def _gap(upper: float, bound: float) -> float:
    return (upper - bound) / max(abs(upper), 1e-12)


def _try_start(engine: SwapEngine, sites: np.ndarray, rules: SiteRules, deadline: float) -> None:
    """Descend from ``sites``; keep the result only if it beats the engine's current best."""
    if len(sites) != engine.p or not feasible_start(sites, rules):
        return
    saved, before = engine.snapshot(), engine.objective
    engine.slots = np.asarray(sites, dtype=np.int64).copy()
    engine.rebuild()
    engine.local_search(deadline)
    if engine.objective >= before - 1e-10 * max(1.0, abs(before)):
        engine.restore(saved)


def _exact(costs: np.ndarray, p: int, rules: SiteRules, engine: SwapEngine, lb, res: MedianResult,
           deadline: float, full_m: bool, target_gap: float) -> None:
    t0 = time.monotonic()
    upper = res.objective
    closed, opened = (fix_sites(lb, p, rules.fixed, rules.eligible, upper) if full_m
                      else (~rules.eligible & ~rules.fixed, rules.fixed.copy()))
    side = SiteSide(p, False, opened, closed, rules.opening, rules.budget, rules.budget_cost,
                    rules.group, rules.group_max)
    thresholds = np.maximum(engine.d2, engine.d1)
    rounds, status = 0, "time_limit"
    best_bound = res.bound
    while time.monotonic() < deadline:
        rounds += 1
        trunc = np.minimum(costs, thresholds[:, None])
        r = median_levels(trunc, side, time_limit=deadline - time.monotonic(),
                          gap=target_gap * 0.1)
        if r.bound is not None and r.status in ("optimal", "time_limit", "node_limit"):
            best_bound = max(best_bound, min(r.bound, upper))
        if r.open is None:
            status = r.status
            break
        real = costs[:, r.open].min(axis=1)
        value = float(real.sum() + (rules.opening[r.open].sum() if rules.opening is not None
                                    else 0.0))
        if value < upper - 1e-9 * abs(upper):
            upper, res.open, res.objective = value, np.sort(r.open), value
        if r.status != "optimal":
            status = r.status
            break
        # finished: the truncated model's proven bound is a bound for the real costs (never
        # its incumbent, which only equals the bound within HiGHS's gap tolerance)
        if r.objective is not None and r.objective >= upper - 1e-9 * max(1.0, abs(upper)):
            status = "optimal"
            break
        over = real > thresholds + 1e-12 * np.abs(thresholds)
        if not over.any():
            status = "optimal"
            break
        thresholds[over] = real[over]
    res.bound = min(best_bound, res.objective)
    res.exact_status = status
    res.stats["exact"] = {"method": "HiGHS covering model (Elloumi), Lagrangian site fixing, "
                                    "truncated costs", "status": status, "rounds": rounds,
                          "fixed_closed": int(closed.sum()), "fixed_open": int(opened.sum()),
                          "seconds": time.monotonic() - t0}

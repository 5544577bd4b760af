"""The median pipeline (components/locate/median.py) against oracles written here.

The optimum comes from enumerating every feasible set of p sites (tests/oracles.py), the LP
relaxation from HiGHS through scipy. The pipeline must find the optimum on tiny instances
under every site rule, report a bound that is never above it (and never above the LP when
the exact step is off), prove optimality through the exact step when the Lagrangian leaves
a gap, and keep its helpers (the constrained greedy, the start check) to their contracts.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from components.locate.engine import SiteRules
from components.locate.median import constrained_greedy, feasible_start, solve_median
from tests.oracles import pmedian_brute, pmedian_lp


def site_rules(m: int, **kw) -> SiteRules:
    kw.setdefault("fixed", np.zeros(m, bool))
    kw.setdefault("eligible", np.ones(m, bool))
    return SiteRules(**kw)


def solve(costs, p, rules=None, *, exact="auto", target_gap=1e-6, coords=None, seed=0,
          seconds=60.0, **kw):
    n, m = costs.shape
    kw.setdefault("max_iterations", 60)
    kw.setdefault("patience", 15)
    return solve_median(costs, p, rules or site_rules(m), np.random.default_rng(seed),
                        deadline=time.monotonic() + seconds, coords=coords,
                        weights=np.ones(n), exact=exact, target_gap=target_gap, **kw)


def value(costs, sites, opening=None) -> float:
    sites = list(sites)
    return float(costs[:, sites].min(axis=1).sum()
                 + (0.0 if opening is None else opening[sites].sum()))


def gap_instance(seed: int) -> tuple[np.ndarray, float, float]:
    """Integer costs whose LP relaxation is below the optimum (the Lagrangian cannot
    close the gap, so only the exact step can prove the answer)."""
    costs = np.random.default_rng(seed).integers(1, 20, (9, 8)).astype(float)
    opt, _ = pmedian_brute(costs, 3)
    lp = pmedian_lp(costs, 3)
    assert lp < opt - 0.2  # the instance does what the test needs
    return costs, opt, lp


GAP_SEEDS = [18, 22, 33, 69, 71, 93]


def check_answer(res, costs, p, opt, rules, opening=None):
    """The answer is feasible, its objective is its real cost, and the bound is honest."""
    open_ = res.open.tolist()
    assert len(open_) == p and len(set(open_)) == p and open_ == sorted(open_)
    assert rules.fixed[open_].sum() == rules.fixed.sum()
    assert (rules.eligible | rules.fixed)[open_].all()
    assert feasible_start(res.open, rules)
    assert res.objective == pytest.approx(value(costs, open_, opening), rel=1e-12)
    assert res.objective >= opt - 1e-9 * opt
    assert res.bound <= opt + 1e-9 * opt
    assert res.bound <= res.objective
    assert res.bound >= costs.min(axis=1).sum() - 1e-9  # at least the trivial bound


# -- the optimum under every site rule --------------------------------------------------------

BUDGET_BUG = pytest.mark.xfail(strict=True, reason=(
    "bug: the constrained greedy start opens an expensive site first, then no third site "
    "fits the budget; the swap search keeps 2 sites and the answer has 2 of the 3 facilities "
    "asked for ('exactly' p), reported optimal; see test_budget_never_leaves_fewer_than_p"))
CASES = [pytest.param(case, seed, marks=BUDGET_BUG if (case, seed) == ("budget", 2) else ())
         for case in ["plain", "fixed", "eligible", "opening", "budget", "groups"]
         for seed in range(3)]


@pytest.mark.parametrize("case,seed", CASES)
def test_finds_and_proves_the_enumerated_optimum(case, seed):
    rng = np.random.default_rng(seed)
    n, m, p = 12, 10, 3
    pts, sites = rng.uniform(0, 10, (n, 2)), rng.uniform(0, 10, (m, 2))
    costs = np.linalg.norm(pts[:, None] - sites[None], axis=2) * rng.uniform(1, 3, n)[:, None]
    kw: dict = {}
    if case == "fixed":
        kw["fixed"] = np.isin(np.arange(m), [int(rng.integers(m))])
    if case == "eligible":
        kw["eligible"] = np.isin(np.arange(m), rng.choice(m, 5, replace=False))
    if case in ("opening", "budget"):
        kw["opening"] = rng.uniform(1, 6, m)
    if case == "budget":
        kw["budget_cost"] = kw["opening"]
        kw["budget"] = float(np.sort(kw["opening"])[:p].sum() + 1.0)  # binds
    if case == "groups":
        kw["group"] = np.arange(m) % 3
        kw["group_max"] = np.array([1, 1, 2])
    rules = site_rules(m, **kw)
    opt, sols = pmedian_brute(costs, p, fixed=rules.fixed, eligible=rules.eligible,
                              opening=rules.opening, budget=rules.budget,
                              budget_cost=rules.budget_cost, group=rules.group,
                              group_max=rules.group_max)
    res = solve(costs, p, rules, coords=(pts, sites) if seed == 1 else None)
    check_answer(res, costs, p, opt, rules, rules.opening)
    assert tuple(res.open.tolist()) in sols
    assert (opt - res.bound) / opt <= 1e-6  # proven (by the bound or the exact step)
    assert res.exact_status in (None, "optimal")
    assert res.stats["start"] == ("weber" if seed == 1 else "greedy") or \
        res.stats["start"] == "greedy (budget/groups)"


@pytest.mark.parametrize("seed", GAP_SEEDS)
def test_without_the_exact_step_the_bound_stays_under_the_lp(seed):
    costs, opt, lp = gap_instance(seed)
    res = solve(costs, 3, exact="never")
    check_answer(res, costs, 3, opt, site_rules(8))
    assert res.bound <= lp + 1e-7 * lp  # a Lagrangian bound is at most the LP value
    assert res.bound >= lp - 0.01 * lp  # and close to it: the ascent ran
    assert res.exact_status is None and "exact" not in res.stats
    assert res.stats["lagrangian"]["bound"] == pytest.approx(res.bound, rel=1e-12)


@pytest.mark.parametrize("seed", GAP_SEEDS)
def test_exact_step_proves_the_optimum_the_lagrangian_cannot(seed):
    costs, opt, lp = gap_instance(seed)
    for exact in ("auto", "always"):
        res = solve(costs, 3, exact=exact)
        check_answer(res, costs, 3, opt, site_rules(8))
        assert res.objective == pytest.approx(opt)
        assert res.exact_status == "optimal"
        assert res.stats["exact"]["status"] == "optimal" and res.stats["exact"]["rounds"] >= 1
        assert res.bound == pytest.approx(opt, rel=1e-6)  # the gap the LP left is closed
        assert res.bound > lp + 0.1


@pytest.mark.parametrize("seed", GAP_SEEDS)
def test_exact_step_repairs_a_poor_incumbent(seed):
    """No search time (heuristic_share 0): the start stands; the exact step must replace it
    by an optimum and report the optimum's cost, not the start's."""
    costs, opt, _ = gap_instance(seed)
    worst = max(itertools.combinations(range(8), 3), key=lambda s: value(costs, s))
    res = solve(costs, 3, start=np.array(worst), heuristic_share=0.0)
    assert "start" not in res.stats  # a given start is used as is
    assert res.stats["start_objective"] == pytest.approx(value(costs, worst))
    assert value(costs, worst) > opt
    check_answer(res, costs, 3, opt, site_rules(8))
    assert res.objective == pytest.approx(opt) and res.exact_status == "optimal"


@pytest.mark.parametrize("seed", [8, 17, 70])
def test_exact_step_on_coverage_costs_with_zero_cost_ties(seed):
    """0/w costs (as max_coverage builds them): many points cost 0 at their first and
    second site, so the truncation thresholds are 0; a point exactly at its threshold is
    not over it, and the exact step must finish, not spin until the deadline."""
    rng = np.random.default_rng(seed)
    costs = (rng.uniform(size=(10, 9)) < 0.6) * rng.integers(1, 4, 10)[:, None] * 1.0
    opt, _ = pmedian_brute(costs, 3)
    assert pmedian_lp(costs, 3) < opt - 0.2
    res = solve(costs, 3, seconds=20.0)
    check_answer(res, costs, 3, opt, site_rules(9))
    assert res.objective == pytest.approx(opt) and res.exact_status == "optimal"
    assert res.bound == pytest.approx(opt)


@pytest.mark.parametrize("seed", [1, 3, 9])
def test_lagrangian_solution_restarts_a_stuck_search(seed):
    """With no VNS iterations the search stops at its first local optimum; one round from
    the Lagrangian relaxed solution (a Lagrangian heuristic) finds a better one."""
    rng = np.random.default_rng(seed)
    pts, sites = rng.uniform(0, 10, (60, 2)), rng.uniform(0, 10, (40, 2))
    costs = np.linalg.norm(pts[:, None] - sites[None], axis=2)
    kw = dict(exact="never", max_iterations=0, patience=0)
    stuck = solve(costs, 8, max_rounds=0, **kw)
    restarted = solve(costs, 8, max_rounds=1, **kw)
    assert restarted.objective < stuck.objective - 1e-6
    assert restarted.objective == pytest.approx(value(costs, restarted.open))
    assert restarted.stats["search_rounds"] == 2 and stuck.stats["search_rounds"] == 1


def test_no_exact_step_when_the_gap_is_within_target():
    costs, _opt, lp = gap_instance(18)
    res = solve(costs, 3, exact="always", target_gap=0.5)
    assert res.exact_status is None and "exact" not in res.stats
    assert res.bound <= lp + 1e-7 * lp and (res.objective - res.bound) / res.objective <= 0.5


def test_long_lists_on_many_sites_still_give_a_valid_bound():
    """Over 1,200 sites the bound runs on neighbour lists; it must stay under the LP."""
    rng = np.random.default_rng(5)
    pts, sites = rng.uniform(0, 10, (20, 2)), rng.uniform(0, 10, (1300, 2))
    costs = np.linalg.norm(pts[:, None] - sites[None], axis=2)
    res = solve(costs, 15, exact="never", max_iterations=20, patience=5)
    width = res.stats["lagrangian"]["list_width"]
    assert 64 <= width < 1300
    lp = pmedian_lp(costs, 15)
    assert res.bound <= lp + 1e-7 * max(lp, 1.0) and res.objective >= lp - 1e-9
    full = solve(costs[:, :1200], 15, exact="never", max_iterations=20, patience=5)
    assert full.stats["lagrangian"]["list_width"] == 1200  # dense up to 1,200 sites
    over = solve(costs[:, :1201], 15, exact="never", max_iterations=20, patience=5)
    assert over.stats["lagrangian"]["list_width"] < 1201  # lists from 1,201


def test_search_rounds_are_counted_and_bounded():
    costs, _opt, _ = gap_instance(22)
    res = solve(costs, 3, exact="never", max_rounds=0)
    assert res.stats["search_rounds"] == 1
    res = solve(costs, 3, exact="never", max_rounds=2)
    assert 1 <= res.stats["search_rounds"] <= 3


# -- helpers ----------------------------------------------------------------------------------

def test_feasible_start_budget_and_groups_at_the_boundary():
    f = np.array([3.0, 4.0, 5.0, 6.0])
    rules = site_rules(4, budget=9.0, budget_cost=f)
    assert feasible_start(np.array([1, 2]), rules)  # exactly the budget
    assert not feasible_start(np.array([2, 3]), rules)
    assert not feasible_start(np.array([1, 2]), site_rules(4, budget=9.0 - 1e-6, budget_cost=f))
    grouped = site_rules(4, group=np.array([0, 0, 1, -1]), group_max=np.array([1, 1]))
    assert feasible_start(np.array([0, 2, 3]), grouped)
    assert not feasible_start(np.array([0, 1]), grouped)
    assert feasible_start(np.array([0, 1, 2, 3]), site_rules(4))  # no rules: anything goes


@pytest.mark.parametrize("seed", range(5))
def test_constrained_greedy_adds_the_best_allowed_site_each_time(seed):
    rng = np.random.default_rng(seed)
    n, m, p = 15, 12, 4
    costs = rng.uniform(1, 20, (n, m))
    opening = rng.uniform(0, 5, m) if seed % 2 else None
    bc = rng.uniform(1, 4, m)
    fixed = np.zeros(m, bool)
    if seed >= 2:
        fixed[int(rng.integers(m))] = True
    eligible = rng.uniform(size=m) < 0.8
    group = rng.integers(-1, 3, m)
    group_max = np.array([1, 2, 1])
    budget = float(bc[fixed].sum() + 6.0)
    rules = site_rules(m, fixed=fixed, eligible=eligible, opening=opening, budget=budget,
                       budget_cost=bc, group=group, group_max=group_max)
    out = constrained_greedy(costs, p, rules).tolist()
    assert out[:int(fixed.sum())] == np.flatnonzero(fixed).tolist()
    assert len(out) == len(set(out)) <= p
    assert feasible_start(np.array(out), rules)

    def can_add(chosen, j):
        trial = np.array([*chosen, j])
        return j not in chosen and eligible[j] and not fixed[j] and feasible_start(trial, rules)

    chosen = out[:int(fixed.sum())]
    for j in out[len(chosen):]:
        options = [k for k in range(m) if can_add(chosen, k)]
        assert j in options
        best = min(value(costs, [*chosen, k], opening) for k in options)
        assert value(costs, [*chosen, j], opening) == pytest.approx(best)
        chosen.append(j)
    if len(out) < p:  # it stopped only because nothing more could be added
        assert not [k for k in range(m) if can_add(out, k)]


def test_budget_allows_float_rounding_and_nothing_more():
    """Sums of float costs may land a hair over the budget: 1e-12 relative is allowed."""
    costs = np.array([[1.0, 5.0], [5.0, 1.0]])
    edge = 1.0 * (1 + 1e-12)  # the budget with its rounding slack, exactly
    for cost, fits in [(edge, True), (1.0 + 1e-9, False), (1.0 + 1e-6, False)]:
        rules = site_rules(2, budget=1.0, budget_cost=np.array([cost, 0.0]))
        assert feasible_start(np.array([0]), rules) is fits
        picked = constrained_greedy(costs, 2, rules).tolist()
        assert (0 in picked) is fits, cost


def test_budget_needs_both_a_limit_and_what_it_counts():
    """A budget limit without budget costs (or the reverse) limits nothing."""
    costs = np.random.default_rng(0).uniform(1, 20, (12, 8))
    plain = constrained_greedy(costs, 3, site_rules(8)).tolist()
    assert len(plain) == 3
    assert constrained_greedy(costs, 3, site_rules(8, budget_cost=np.full(8, 9.0))
                              ).tolist() == plain
    assert constrained_greedy(costs, 3, site_rules(8, budget=1.0)).tolist() == plain
    assert feasible_start(np.array(plain), site_rules(8, budget_cost=np.full(8, 9.0)))
    assert feasible_start(np.array(plain), site_rules(8, budget=1.0))


def test_constrained_greedy_spends_the_budget_exactly_and_no_more():
    costs = np.array([[1.0, 9.0, 9.0], [9.0, 1.0, 9.0], [9.0, 9.0, 1.0]])
    rules = site_rules(3, budget=5.0, budget_cost=np.array([2.0, 3.0, 0.5]))
    assert sorted(constrained_greedy(costs, 3, rules).tolist()) == [0, 1]
    rules = site_rules(3, budget=5.5, budget_cost=np.array([2.0, 3.0, 0.5]))
    assert sorted(constrained_greedy(costs, 3, rules).tolist()) == [0, 1, 2]


def test_an_over_budget_start_is_replaced_by_the_constrained_greedy():
    rng = np.random.default_rng(4)
    costs = rng.uniform(1, 20, (12, 10))
    bc = np.ones(10)
    bc[np.argsort(costs.sum(axis=0))[:3]] = 50.0  # the sites the plain greedy wants cost most
    rules = site_rules(10, budget=3.0, budget_cost=bc)
    res = solve(costs, 3, rules)
    assert res.stats["start"] == "greedy (budget/groups)"
    opt, _ = pmedian_brute(costs, 3, budget=3.0, budget_cost=bc)
    check_answer(res, costs, 3, opt, rules)
    assert res.objective == pytest.approx(opt)


@pytest.mark.xfail(strict=True, reason=(
    "bug (median.constrained_greedy + SwapEngine): with a binding budget the start can hold "
    "fewer than p sites and nothing adds the missing ones; LocationAllocator then answers "
    "2 of 3 facilities (facilities_mode 'exactly') with status 'optimal'"))
def test_budget_never_leaves_fewer_than_p():
    from components.locate import LocationAllocator

    rng = np.random.default_rng(2)
    n, m, p = 12, 10, 3
    pts, sites = rng.uniform(0, 10, (n, 2)), rng.uniform(0, 10, (m, 2))
    costs = np.linalg.norm(pts[:, None] - sites[None], axis=2) * rng.uniform(1, 3, n)[:, None]
    f = rng.uniform(1, 6, m)
    budget = float(np.sort(f)[:p].sum() + 1.0)  # three sites fit: the 3 cheapest do
    opt, _ = pmedian_brute(costs, p, opening=f, budget=budget, budget_cost=f)
    assert np.isfinite(opt)
    la = LocationAllocator("min_total_cost", p, budget=budget).solve(costs, np.ones(n),
                                                                     opening_costs=f)
    assert len(la.open_) == p
    assert la.objective_ == pytest.approx(opt)


def test_search_gets_its_share_of_the_time_and_the_bound_the_rest(monkeypatch):
    """heuristic_share=0.5: the VNS stops at half the time, the bound then runs. Time is an
    injected clock (0.01 s per reading), so this holds however loaded the machine is."""
    from tests.contract import SteppingTime, stepping

    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 100, (200, 2))
    costs = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    with stepping(monkeypatch, SteppingTime(0.01)) as fake:
        res = solve_median(costs, 10, site_rules(200), np.random.default_rng(0),
                           deadline=fake.t + 4.0, coords=None, weights=np.ones(200),
                           exact="never", max_iterations=10**6, patience=10**6,
                           target_gap=0.0, heuristic_share=0.5)
    assert res.stats["vns"]["stopped_by"] == "time_limit"
    assert 1.5 <= res.stats["heuristic_seconds"] <= 2.0 + 0.2
    assert res.stats["lagrangian"]["iterations"] >= 3

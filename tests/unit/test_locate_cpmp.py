"""Capacitated p-median (Lagrangian method) and the capacitated p-center (issue #13),
checked against brute force over every site subset and every single-source assignment,
and against the published optima of the public sets (tests/benchmarks/data/cpmp)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from components.locate import LocationAllocator
from components.locate.capacity import LoadProblem
from components.locate.cpmp import fixings, knapsacks, subgradient
from tests.benchmarks.bench_cpmp import DATA, read_pmedcap, read_sjc


def instance(seed: int, n: int = 8, share: float = 0.45):
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 100, (n, 2))
    a = rng.integers(1, 6, n).astype(float)
    return np.round(cdist(pts, pts)), a, share * a.sum()


def solutions(d: np.ndarray, a: np.ndarray, cap: float, p: int):
    """Every (sites, assignment) within the capacity: (sum cost, max cost, sites)."""
    n, m = d.shape
    choice = np.array(list(itertools.product(range(p), repeat=n)))
    for s in itertools.combinations(range(m), p):
        cols = np.asarray(s)[choice]
        loads = np.stack([(a * (choice == k)).sum(axis=1) for k in range(p)], axis=1)
        ok = (loads <= cap + 1e-9).all(axis=1)
        if ok.any():
            unit = d[np.arange(n), cols[ok]]
            yield unit.sum(axis=1), unit.max(axis=1), s


def brute(d, a, cap, p):
    """(min total cost, min max cost, site sets reaching the min total cost)."""
    best_sum, best_max, sets = np.inf, np.inf, []
    for sums, maxes, s in solutions(d, a, cap, p):
        low = float(sums.min())
        if low < best_sum - 1e-9:
            best_sum, sets = low, [s]
        elif abs(low - best_sum) <= 1e-9:
            sets.append(s)
        best_max = min(best_max, float(maxes.min()))
    return best_sum, best_max, sets


def check_answer(la: LocationAllocator, d: np.ndarray, a: np.ndarray, cap: float, p: int):
    """The oracle: every point served by an open site, capacities held, cost recomputed."""
    x = la.assignment_
    assert (x >= 0).all() and np.isin(x, la.open_).all() and len(la.open_) == p
    assert (np.bincount(x, weights=a, minlength=d.shape[1]) <= cap + 1e-9).all()
    return d[np.arange(len(x)), x]


def test_knapsacks_match_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(60):
        R = rng.normal(size=(7, 4))
        ok = rng.random((7, 4)) < 0.8
        a = rng.integers(1, 6, 7).astype(float)
        Q = rng.integers(3, 12, 4).astype(float)
        v, chosen, exact = knapsacks(R, ok, a, Q, True)
        lp, _, lp_exact = knapsacks(R, ok, a, Q, False)
        assert exact and (not lp_exact or (lp == v).all())
        for j in range(4):
            best = min([0.0] + [R[list(x), j].sum() for k in range(1, 8)
                                for x in itertools.combinations(range(7), k)
                                if ok[list(x), j].all() and a[list(x)].sum() <= Q[j]])
            assert v[j] == pytest.approx(best)
            assert R[chosen[:, j], j].sum() == pytest.approx(best)
            assert a[chosen[:, j]].sum() <= Q[j] and not (chosen[:, j] & ~ok[:, j]).any()
            assert lp[j] <= best + 1e-9  # the LP relaxation stands in: a lower value


@pytest.mark.parametrize("seed,p", [(1, 2), (2, 3), (5, 2)])
def test_lagrangian_bound_and_fixings_keep_every_optimum(seed, p):
    d, a, cap = instance(seed, share=0.55 if p == 2 else 0.4)
    best, _, sets = brute(d, a, cap, p)
    n = len(a)
    prob = LoadProblem(d, np.ones_like(d, bool), a, np.zeros(n), np.full(n, cap),
                       np.arange(n), np.full(n, np.inf))
    upper = best + 1.0  # a solution one unit dearer than the optimum was found
    st = subgradient(prob, p, np.zeros(n, bool), np.ones(n, bool), upper, 1e18,
                     max_iterations=300)
    assert st.bound <= best + 1e-6
    closed, opened = fixings(st, upper, integral_costs=True)
    for s in sets:  # no optimal solution is cut off
        assert not closed[list(s)].any()
        assert set(np.flatnonzero(opened)) <= set(s)


@pytest.mark.parametrize("seed,p,exact", [(1, 2, "auto"), (2, 3, "auto"), (3, 2, "never"),
                                          (4, 3, "never")])
def test_cpmp_matches_brute_force(seed, p, exact):
    d, a, cap = instance(seed, share=0.55 if p == 2 else 0.4)
    best, _, _ = brute(d, a, cap, p)
    la = LocationAllocator("min_total_cost", p, max_load=cap, exact=exact,
                           time_limit=30).solve(d, None, loads=a)
    unit = check_answer(la, d, a, cap, p)
    assert unit.sum() == pytest.approx(la.objective_)
    assert la.lower_bound_ <= best + 1e-6
    assert la.objective_ == pytest.approx(best)  # heuristic alone too, at this size
    assert la.stats_["cpmp"]["iterations"] > 0


def test_sjc1_published_optimum_is_read_right():
    inst = read_sjc("SJC1")
    lines = (DATA / "SJC1.solution.txt").read_text().splitlines()
    p = inst["p"]
    sites = [int(v) - 1 for v in lines[:p]]
    pairs = np.array([ln.split() for ln in lines[p:p + len(inst["demand"])]], dtype=int) - 1
    assign = np.full(len(inst["demand"]), -1)
    assign[pairs[:, 0]] = pairs[:, 1]
    assert set(assign) == set(sites)
    loads = np.bincount(assign, weights=inst["demand"], minlength=len(assign))
    assert (loads <= inst["capacity"] + 1e-9).all()
    cost = inst["costs"][np.arange(len(assign)), assign].sum()
    assert cost == pytest.approx(17288.99, abs=0.01) == inst["optimum"]


def test_pmedcap_problem_1_reaches_its_published_optimum():
    inst = read_pmedcap()[0]
    assert (len(inst["demand"]), inst["p"], inst["optimum"]) == (50, 5, 713)
    la = LocationAllocator("min_total_cost", inst["p"], time_limit=120, seed=0).solve(
        inst["costs"], None, loads=inst["demand"], capacities=inst["capacity"])
    unit = check_answer(la, inst["costs"], inst["demand"], 120.0, 5)
    assert unit.sum() == la.objective_ == 713
    assert la.lower_bound_ <= 713


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_capacitated_p_center_matches_brute_force(seed):
    d, a, cap = instance(seed, share=0.55)
    _, best, _ = brute(d, a, cap, 2)
    la = LocationAllocator("min_max_cost", 2, max_load=cap, time_limit=30).solve(
        d, None, loads=a)
    unit = check_answer(la, d, a, cap, 2)
    assert unit.max() == la.objective_ == best
    assert la.lower_bound_ <= best


def test_capacitated_p_center_binds_and_proves():
    d, a, cap = instance(1, share=0.55)
    _, best, _ = brute(d, a, cap, 2)
    free = min(d[:, list(s)].min(axis=1).max() for s in itertools.combinations(range(8), 2))
    assert free < best  # precondition: the capacity changes the answer
    la = LocationAllocator("min_max_cost", 2, max_load=cap, exact="always",
                           time_limit=30).solve(d, None, loads=a)
    assert la.objective_ == best and la.lower_bound_ == best and la.status_ == "optimal"
    assert la.stats_["capacitated_center"]["proofs"] >= 1


def test_shifts_and_swaps_keep_capacities_and_recompute_the_cost():
    from components.locate.capacity import capacitated_allocation
    from components.locate.cpmp import improve

    for seed in range(6):
        rng = np.random.default_rng(seed)
        pts = rng.uniform(0, 100, (60, 2))
        d = cdist(pts, pts)
        a = rng.integers(1, 9, 60).astype(float)
        cap = np.full(60, 1.08 * a.sum() / 5)
        prob = LoadProblem(d, np.ones_like(d, bool), a, np.zeros(60), cap, np.arange(60),
                           np.full(60, np.inf))
        sites = np.sort(rng.choice(60, 5, replace=False))
        start = capacitated_allocation(prob, sites, False)
        if start.violation > 0:
            continue
        got = improve(prob, start, sites)
        x = got.assign
        assert np.isin(x, sites).all()
        assert (np.bincount(x, weights=a, minlength=60) <= cap + 1e-9).all()
        assert got.cost == pytest.approx(d[np.arange(60), x].sum())
        assert got.cost <= start.cost + 1e-9


def test_cpmp_keeps_the_budget_in_every_model():
    d, a, cap = instance(2, share=0.55)
    f = np.arange(8, dtype=float) + 1.0
    best_free, _, sets = brute(d, a, cap, 2)
    budget = min(f[list(s)].sum() for s in sets) - 0.5  # every optimal pair is too dear
    best = min(float(sums.min()) for sums, _, s in solutions(d, a, cap, 2)
               if f[list(s)].sum() <= budget)
    assert best > best_free  # precondition: the budget binds
    la = LocationAllocator("min_total_cost", 2, max_load=cap, budget=budget,
                           time_limit=30).solve(d, None, loads=a, budget_costs=f)
    unit = check_answer(la, d, a, cap, 2)
    assert f[la.open_].sum() <= budget
    assert unit.sum() == pytest.approx(la.objective_) == pytest.approx(best)

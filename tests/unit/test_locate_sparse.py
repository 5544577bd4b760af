"""The p-median on candidate lists (issue #19): answers, bounds and size messages.

Oracles are written here: objectives are recomputed from the coordinates, bounds are
compared with brute-force optima, and the sparse engine's swap tables are compared
with a from-scratch recount after every swap.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.spatial.distance import cdist

import components.locate.lagrange as lagrange
from components.errors import InputError, ParameterError
from components.locate import LocationAllocator
from components.locate.engine import SiteRules
from components.locate.sparse import (
    CandidateLists,
    SparseSwapEngine,
    check_dense,
    dense_lists,
    knn_lists,
    true_assignment,
)


def instance(n: int, m: int, seed: int):
    rng = np.random.default_rng(seed)
    pts, sites = rng.uniform(0, 100, (n, 2)), rng.uniform(0, 100, (m, 2))
    return pts, sites, rng.integers(1, 6, n).astype(float)


def brute_force(d: np.ndarray, w: np.ndarray, p: int) -> float:
    return min(float((w * d[:, list(s)].min(axis=1)).sum())
               for s in itertools.combinations(range(d.shape[1]), p))


@pytest.mark.parametrize("k", [3, 6, 12])
def test_sparse_answer_is_a_real_solution_and_its_bound_holds(k):
    pts, sites, w = instance(120, 14, 3)
    d = cdist(pts, sites)
    opt = brute_force(d, w, 3)
    la = LocationAllocator("min_total_cost", 3, seed=0).solve(
        knn_lists(pts, sites, k), w, coords=(pts, sites))
    a = la.assignment_
    assert (a >= 0).all() and set(a) <= set(la.open_.tolist()) and len(la.open_) == 3
    # every point at its nearest open site, priced from the coordinates (outside its list
    # too): the reported objective is the full problem's, not the restricted one's
    nearest = d[:, la.open_].min(axis=1)
    assert np.allclose(d[np.arange(len(a)), a], nearest)
    assert la.objective_ == pytest.approx(float((w * nearest).sum()), rel=1e-12)
    assert la.lower_bound_ <= opt * (1 + 1e-9) and la.objective_ >= opt * (1 - 1e-9)
    assert la.status_ in ("optimal", "feasible")
    if la.status_ == "optimal":
        assert la.objective_ == pytest.approx(opt, rel=1e-9)


def test_full_lists_reach_the_brute_force_optimum():
    pts, sites, w = instance(80, 12, 5)
    d = cdist(pts, sites)
    la = LocationAllocator("min_total_cost", 4, seed=0).solve(
        knn_lists(pts, sites, 12), w, coords=(pts, sites))
    assert la.objective_ == pytest.approx(brute_force(d, w, 4), rel=1e-12)


def test_required_sites_stay_open_and_ineligible_ones_closed():
    pts, sites, w = instance(150, 20, 7)
    elig = np.ones(20, bool)
    elig[[1, 2, 3]] = False
    la = LocationAllocator("min_total_cost", 4, seed=0).solve(
        knn_lists(pts, sites, 10), w, required=[5, 6], eligible=elig, coords=(pts, sites))
    assert {5, 6} <= set(la.open_.tolist()) and not {1, 2, 3} & set(la.open_.tolist())


def test_sparse_engine_tables_match_a_recount_after_every_swap():
    pts, sites, w = instance(200, 30, 11)
    lists = knn_lists(pts, sites, 8)
    cost = lists.cost * w[:, None]
    rules = SiteRules(fixed=np.zeros(30, bool), eligible=np.ones(30, bool))
    eng = SparseSwapEngine(lists.idx, cost, 10 * w * cost[:, -1] / w, 30, rules,
                           np.arange(5))
    rng = np.random.default_rng(0)
    full = np.full((200, 30), np.inf)
    np.put_along_axis(full, lists.idx, cost, axis=1)
    full = np.minimum(full, eng.vmax[:, None])  # outside the list: the fallback cost
    for _ in range(25):
        prof = eng.profits()
        slot, site = divmod(int(rng.choice(np.flatnonzero(np.isfinite(prof.ravel())))), 30)
        before = eng.objective
        eng.swap(slot, site)
        truth = full[:, eng.slots].min(axis=1).sum()
        assert eng.objective == pytest.approx(truth, rel=1e-12)
        assert before - prof[slot, site] == pytest.approx(truth, rel=1e-9, abs=1e-9)
        fresh = SparseSwapEngine(lists.idx, cost, eng.vmax, 30, rules, eng.slots)
        for name in ("gain", "loss", "extra", "d1", "d2"):
            assert np.allclose(getattr(eng, name), getattr(fresh, name), atol=1e-8), name


def test_subgradient_from_the_lists_gives_the_dense_bound():
    # with full-width lists the sparse subgradient must equal the dense one step by step
    pts, sites, w = instance(300, 40, 2)
    c = cdist(pts, sites) * w[:, None]
    lists = dense_lists(c, 40)
    args = (lists.idx, lists.cost, 40, 5, np.zeros(40, bool), np.ones(40, bool),
            float(c[:, :5].min(axis=1).sum()), c.min(axis=1))
    a = lagrange.lagrangian_bound(*args, deadline=np.inf, costs=c, max_iterations=150)
    b = lagrange.lagrangian_bound(*args, deadline=np.inf, costs=None, max_iterations=150)
    assert a.iterations == b.iterations
    assert a.bound == pytest.approx(b.bound, rel=1e-9)


def test_true_assignment_prices_points_outside_their_list():
    pts, sites, _ = instance(60, 10, 4)
    lists = knn_lists(pts, sites, 2)
    d = cdist(pts, sites)
    far = int(np.argmax(d[:, 0]))
    site, unit = true_assignment(lists, np.array([0, 9]))
    assert np.array_equal(site, np.where(d[:, 0] <= d[:, 9], 0, 9))
    assert np.allclose(unit, d[:, [0, 9]].min(axis=1))
    bare = CandidateLists(lists.idx, lists.cost, 10)  # no coordinates: cannot price them
    site, unit = true_assignment(bare, np.array([0]))
    assert site[far] in (-1, 0) and (site[site < 0].size == 0 or np.isinf(unit[site < 0]).all())


def test_a_dense_matrix_that_would_not_fit_gets_a_size_message(monkeypatch):
    monkeypatch.setenv("TERRAPLAN_MEMORY_LIMIT_BYTES", str(2**20))
    with pytest.raises(InputError) as err:
        check_dense(20_000, 20_000)
    text = str(err.value)
    assert "20,000 demand x 20,000 candidates" in text and "GiB" in text
    assert "--candidate-list" in text and "\n" not in text
    d = np.zeros((400, 400))  # 1.2 MiB in 3 copies: over the 1 MiB limit
    with pytest.raises(InputError, match="candidate-list"):
        LocationAllocator("min_total_cost", 3).solve(d)


def test_options_the_lists_cannot_serve_are_refused_with_the_fix():
    pts, sites, w = instance(50, 10, 1)
    lists = knn_lists(pts, sites, 5)
    with pytest.raises(ParameterError, match="drop the candidate list"):
        LocationAllocator("min_max_cost", 2).solve(lists, w)
    with pytest.raises(ParameterError, match="capacities"):
        LocationAllocator("min_total_cost", 2).solve(lists, w, capacities=np.ones(10))


def test_sparse_solve_is_deterministic_and_clean_on_reuse():
    pts, sites, w = instance(400, 60, 8)
    lists = knn_lists(pts, sites, 12)
    reused = LocationAllocator("min_total_cost", 6, seed=3)
    reused.solve(knn_lists(pts[:100], sites, 12), w[:100], coords=(pts[:100], sites))
    reused.solve(lists, w, coords=(pts, sites))
    fresh = LocationAllocator("min_total_cost", 6, seed=3).solve(lists, w, coords=(pts, sites))
    for name in ("status_", "objective_", "lower_bound_", "gap_", "violation_"):
        assert getattr(reused, name) == getattr(fresh, name), name
    assert np.array_equal(reused.assignment_, fresh.assignment_)


@pytest.mark.parametrize("k", [1, 2, 4])
def test_a_bound_from_short_lists_holds_for_the_full_problem(k):
    # multipliers above a list's last cost would count sites outside the list as free:
    # whatever the start, the bound must stay at or below the full problem's optimum
    pts, sites, w = instance(90, 12, 6)
    c = cdist(pts, sites) * w[:, None]
    opt = brute_force(c, np.ones(90), 3)
    lists = dense_lists(c, k)
    for start in (c.max(axis=1) * 10, c.min(axis=1), np.zeros(90)):
        lb = lagrange.lagrangian_bound(lists.idx, lists.cost, 12, 3, np.zeros(12, bool),
                                       np.ones(12, bool), opt * 1.5, start, deadline=np.inf,
                                       max_iterations=50)
        assert lb.bound <= opt * (1 + 1e-9)

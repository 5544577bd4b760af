"""Exact territory balancing (HiGHS MILP): brute force, bounds, heuristic, statuses."""

from __future__ import annotations

import doctest
import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra

from components.balance import TerritoryBalancer
from components.balance import exact as exact_mod
from components.balance.exact import assignment_cost, solve_exact
from components.balance.solver import tolerance_bounds
from tests.benchmarks import instances as instances_mod
from tests.benchmarks.balance_refs import hess_samuels, lp_bound, star_shaped
from tests.benchmarks.instances import make_instance
from tests.oracles import array_split


def grid_graph(nx: int, ny: int, rng: np.random.Generator) -> sp.csr_matrix:
    idx = np.arange(nx * ny).reshape(ny, nx)
    a = np.r_[idx[:, :-1].ravel(), idx[:-1, :].ravel()]
    b = np.r_[idx[:, 1:].ravel(), idx[1:, :].ravel()]
    length = rng.uniform(1.0, 1.4, len(a))
    n = nx * ny
    return sp.coo_matrix((np.r_[length, length], (np.r_[a, b], np.r_[b, a])),
                         shape=(n, n)).tocsr()


def path_graph(n: int) -> sp.csr_matrix:
    return sp.diags([np.ones(n - 1), np.ones(n - 1)], [-1, 1], format="csr")


def brute_force(graph, metrics, centers, lower, upper, w, kind: str):
    """Best assignment by enumeration; kind: 'star' (the MILP's family), 'connected', 'none'."""
    n, m = graph.shape[0], len(centers)
    dist = dijkstra(graph, directed=False, indices=centers)
    free = np.setdiff1d(np.arange(n), centers)
    combos = np.array(list(itertools.product(range(m), repeat=len(free))))
    labels = np.zeros((len(combos), n), dtype=np.int64)
    labels[:, free] = combos
    labels[:, centers] = np.arange(m)
    tot = np.stack([np.stack([(metrics[:, q] * (labels == i)).sum(1) for q in
                              range(metrics.shape[1])], axis=1) for i in range(m)], axis=1)
    ok = ((tot >= lower[None] - 1e-9) & (tot <= upper[None] + 1e-9)).all(axis=(1, 2))
    cost = (w[None, :] * dist[labels, np.arange(n)]).sum(1)
    best, best_lab = np.inf, None
    for r in np.flatnonzero(ok)[np.argsort(cost[ok], kind="stable")]:
        if kind == "star" and not star_shaped(graph, labels[r], centers).all():
            continue
        if kind == "connected" and array_split(graph, labels[r]):
            continue
        best, best_lab = cost[r], labels[r]
        break
    return best, best_lab


@pytest.mark.parametrize("seed", range(6))
def test_matches_brute_force_on_tiny_instances(seed):
    rng = np.random.default_rng(seed)
    g = grid_graph(3, 3, rng)
    metrics = rng.uniform(1, 5, (9, 1))
    w = metrics[:, 0]
    m = 2 + seed % 2
    centers = rng.choice(9, m, replace=False)
    b = tolerance_bounds(metrics, m, np.array([0.25]))
    star, _ = brute_force(g, metrics, centers, b.lower, b.upper, w, "star")
    conn, _ = brute_force(g, metrics, centers, b.lower, b.upper, w, "connected")
    free, _ = brute_force(g, metrics, centers, b.lower, b.upper, w, "none")
    r = solve_exact(g, metrics, centers, b, weights=w, time_limit=20)
    if not np.isfinite(star):
        assert r.status == "infeasible"
    else:
        assert r.status == "optimal"
        assert r.objective == pytest.approx(star, rel=1e-7)
        assert r.bound <= r.objective + 1e-6
        assert array_split(g, r.labels) == []
        assert star_shaped(g, r.labels, centers).all()
    # star-shaped territories are a subset of the contiguous ones
    assert free <= conn + 1e-9 <= star + 2e-9 or not np.isfinite(conn)
    relaxed = solve_exact(g, metrics, centers, b, weights=w, contiguity=False)
    if np.isfinite(free):
        assert relaxed.objective == pytest.approx(free, rel=1e-7)
        assert lp_bound(g, metrics, centers, b, weights=w, contiguity=False) <= free + 1e-6
    if np.isfinite(star):
        assert lp_bound(g, metrics, centers, b, weights=w) <= star + 1e-6


def test_multi_metric_and_explicit_bounds_match_brute_force():
    rng = np.random.default_rng(11)
    g = grid_graph(4, 2, rng)
    metrics = np.column_stack([rng.uniform(1, 5, 8), rng.integers(1, 4, 8)])
    centers = np.array([0, 7])
    total = metrics.sum(axis=0)
    # uneven explicit bounds: territory 0 gets 30-45 % of the first metric, 1 the rest
    lower = np.array([[0.30, 0.35], [0.55, 0.35]]) * total
    upper = np.array([[0.45, 0.65], [0.70, 0.65]]) * total
    w = np.ones(8)
    best, _ = brute_force(g, metrics, centers, lower, upper, w, "star")
    r = solve_exact(g, metrics, centers, (lower, upper), weights=w)
    assert np.isfinite(best) and r.status == "optimal"
    assert r.objective == pytest.approx(best, rel=1e-7)
    tot = np.stack([metrics[r.labels == i].sum(0) for i in range(2)])
    assert (tot >= lower - 1e-9).all() and (tot <= upper + 1e-9).all()


def test_at_least_as_good_as_the_heuristic_and_heuristic_close():
    inst = make_instance("uniform", 150, seed=2)
    a, m, tol = inst.metrics, 6, 0.05
    h = TerritoryBalancer(m, tolerance=tol, seed=0, time_limit=20).solve(
        inst.graph, a, coords=inst.coords, weights=a[:, 0])
    b = tolerance_bounds(a, m, np.array([tol]))
    r = solve_exact(inst.graph, a, h.centers_, b, weights=a[:, 0], time_limit=30)
    assert r.status == "optimal"
    assert array_split(inst.graph, r.labels) == []
    assert (r.labels[h.centers_] == np.arange(m)).all()
    ratio = np.bincount(r.labels, weights=a[:, 0], minlength=m) / (a.sum() / m)
    assert ratio.min() >= 1 - tol - 1e-9 and ratio.max() <= 1 + tol + 1e-9
    h_obj = assignment_cost(inst.graph, h.labels_, h.centers_, a[:, 0])
    assert r.objective == pytest.approx(assignment_cost(inst.graph, r.labels, h.centers_,
                                                        a[:, 0]))
    if star_shaped(inst.graph, h.labels_, h.centers_).all():
        # the heuristic's answer is in the MILP's family: the optimum cannot be worse
        assert r.objective <= h_obj * (1 + 1e-7)
    assert h.status_ in ("feasible", "optimal")
    assert h_obj <= r.objective * 1.03


def test_infeasible_bounds_are_reported():
    g = path_graph(4)
    ones = np.ones((4, 1))
    # bounds that cannot hold the total: found before HiGHS, with the numbers
    r = solve_exact(g, ones, [0, 3], (np.full((2, 1), 3.0), np.full((2, 1), 3.0)))
    assert r.status == "infeasible" and r.labels is None and "total is 4" in r.reason
    # contiguity is the only obstacle: 1,1,2,1,1 on a path cannot split 3 / 3 contiguously
    g5 = path_graph(5)
    a = np.array([[1.0], [1.0], [2.0], [1.0], [1.0]])
    b = (np.full((2, 1), 3.0), np.full((2, 1), 3.0))
    assert solve_exact(g5, a, [0, 4], b).status == "infeasible"
    free = solve_exact(g5, a, [0, 4], b, contiguity=False)
    assert free.status == "optimal" and sorted(np.bincount(free.labels).tolist()) == [2, 3]
    assert lp_bound(g5, a, [0, 4], b) == np.inf or lp_bound(g5, a, [0, 4], b) > 0


def test_locked_units_are_honoured():
    inst = make_instance("uniform", 60, seed=1)
    a, m = inst.metrics, 3
    centers = np.array([5, 25, 45])
    b = tolerance_bounds(a, m, np.array([0.1]))
    free = solve_exact(inst.graph, a, centers, b, time_limit=20)
    assert free.status == "optimal"
    # lock two units on territory 0's border (not in it, not centers) to territory 0
    g = inst.graph.tocoo()
    border = g.col[(free.labels[g.row] == 0) & (free.labels[g.col] != 0)]
    movers = np.setdiff1d(np.unique(border), centers)[:2]
    locked = np.full(60, -1)
    locked[movers] = 0
    r = solve_exact(inst.graph, a, centers, b, locked=locked, time_limit=20)
    assert r.status == "optimal"
    assert (r.labels[movers] == 0).all()
    assert array_split(inst.graph, r.labels) == []
    assert r.objective >= free.objective - 1e-6
    # a center locked to another territory cannot be satisfied, and says so
    clash = np.full(60, -1)
    clash[25] = 0
    bad = solve_exact(inst.graph, a, centers, b, locked=clash)
    assert bad.status == "infeasible" and "25" in bad.reason and "center" in bad.reason


def test_max_distance_and_disruption():
    inst = make_instance("uniform", 60, seed=4)
    a, m = inst.metrics, 3
    centers = np.array([5, 25, 45])
    b = tolerance_bounds(a, m, np.array([0.1]))
    base = solve_exact(inst.graph, a, centers, b)
    assert base.status == "optimal"
    dist = dijkstra(inst.graph, directed=False, indices=centers)
    far = dist[base.labels, np.arange(60)].max()
    capped = solve_exact(inst.graph, a, centers, b, max_distance=far * 0.9)
    if capped.status == "optimal":
        assert dist[capped.labels, np.arange(60)].max() <= far * 0.9 + 1e-9
    tight = solve_exact(inst.graph, a, centers, b, max_distance=1e-3)
    assert tight.status == "infeasible" and "maximum distance" in tight.reason
    # a feasible current alignment with a heavy disruption weight is kept as it is
    current = np.roll(base.labels, 0)
    keep = solve_exact(inst.graph, a, centers, b, current=current, disruption_weight=100.0)
    assert np.array_equal(keep.labels, current)
    assert keep.distance_objective == pytest.approx(base.distance_objective)
    # an explicit per-unit move cost is charged once per moved unit; no current, no charge
    other = np.where(current == 0, 1, current)
    priced = solve_exact(inst.graph, a, centers, b, current=other, move_cost=np.full(60, 0.5))
    moved = int((priced.labels != other).sum())
    assert priced.objective == pytest.approx(priced.distance_objective + 0.5 * moved)
    none = solve_exact(inst.graph, a, centers, b, current=np.full(60, -1), disruption_weight=9.0)
    assert none.objective == pytest.approx(base.objective)


def test_time_limit_status_is_honest():
    inst = make_instance("uniform", 400, seed=0)
    a, m = inst.metrics, 13
    h = TerritoryBalancer(m, tolerance=0.01, seed=0, time_limit=10).solve(
        inst.graph, a, coords=inst.coords, weights=a[:, 0])
    b = tolerance_bounds(a, m, np.array([0.01]))
    r = solve_exact(inst.graph, a, h.centers_, b, weights=a[:, 0], time_limit=0.5)
    assert r.seconds < 3.0
    assert r.status in ("time_limit_feasible", "time_limit_no_solution", "optimal")
    if r.status == "time_limit_feasible":
        assert r.bound <= r.objective + 1e-6 and r.mip_gap >= 0
        assert array_split(inst.graph, r.labels) == []
    if r.status == "time_limit_no_solution":
        assert r.labels is None and np.isnan(r.objective)
    if r.status == "optimal":
        assert r.mip_gap <= 1e-6
    else:  # not proven: the answer says so with a gap, or has no labels at all
        assert r.labels is None or r.mip_gap > 1e-6


def test_hess_samuels_splits_few_units_and_breaks_balance():
    inst = make_instance("uniform", 120, seed=3)
    a, m = inst.metrics, 5
    centers = np.array([1, 30, 60, 90, 110])
    hs = hess_samuels(inst.graph, a, centers)
    assert hs.split_units <= m - 1
    assert len(hs.labels) == 120 and set(np.unique(hs.labels)) <= set(range(m))
    target = a.sum() / m
    equal = (np.full((m, 1), target), np.full((m, 1), target))
    lb = lp_bound(inst.graph, a, centers, equal, contiguity=False)
    assert hs.lp_objective <= lb + 1e-6 * lb
    ratio = np.bincount(hs.labels, weights=a[:, 0], minlength=m) / target
    assert hs.split_units == 0 or np.abs(ratio - 1).max() > 1e-9


def test_bad_inputs_name_the_parameter():
    g = path_graph(4)
    with pytest.raises(Exception, match="centers"):
        solve_exact(g, np.ones((4, 1)), [0, 0], (np.zeros((2, 1)), np.full((2, 1), 4.0)))
    with pytest.raises(Exception, match="lower"):
        solve_exact(g, np.ones((4, 1)), [0, 3], (np.full((2, 1), 3.0), np.ones((2, 1))))


def test_docstring_examples():
    assert doctest.testmod(exact_mod).failed == 0
    assert doctest.testmod(instances_mod).failed == 0


def test_instances_are_seeded_and_connected():
    a, b = make_instance("clustered", 300, seed=5), make_instance("clustered", 300, seed=5)
    assert np.array_equal(a.coords, b.coords) and (a.graph != b.graph).nnz == 0
    assert not np.array_equal(a.coords, make_instance("clustered", 300, seed=6).coords)
    assert connected_components(a.graph)[0] == 1 and a.graph.data.min() > 0


def test_time_limit_is_a_wall_even_when_highs_overruns():
    """A MILP HiGHS cannot finish: the child is killed at the wall, nothing hangs."""
    import time

    import scipy.sparse as sp
    from scipy.optimize import LinearConstraint

    from components.highs import milp_walled

    rng = np.random.default_rng(0)
    n = 400  # a random multi-dimensional knapsack, hard for branch and bound
    a = sp.csr_matrix(rng.integers(1, 1000, (30, n)).astype(float))
    t0 = time.monotonic()
    res = milp_walled(-rng.integers(1, 1000, n).astype(float), integrality=np.ones(n),
                      bounds=(0, 1), constraints=LinearConstraint(a, -np.inf, a.sum(1).A1 / 3),
                      wall=1.0, options={"mip_rel_gap": 0.0, "presolve": False})
    elapsed = time.monotonic() - t0
    assert elapsed < 2.5
    assert res is None or res.status in (0, 1)

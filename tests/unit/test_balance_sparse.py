"""The solver keeps territory-unit pairs per unit (sparse), not (m, n) arrays.

Oracles are dense and written here: full Dijkstra distances from every center, the
Lagrangian value over every pair, territory totals and BFS contiguity from the input.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
from scipy.sparse.csgraph import connected_components, dijkstra

from components.balance import TerritoryBalancer
from components.balance.costs import pair_costs
from components.balance.relaxation import CandidateRelaxation
from tests.benchmarks.instances import delaunay_graph


def _map(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 100, (n, 2))
    return pts, rng.uniform(4, 8, (n, 2)), delaunay_graph(pts)


def _data(g, a, n):
    return dict(graph=g, w=a[:, 0].copy(), locked=np.full(n, -1), current=None, regions=None,
                all_fixed=True)


def test_pairs_are_few_per_unit_and_agree_with_dense_distances():
    n, m = 4000, 80
    _, a, g = _map(n)
    ctr = np.random.default_rng(1).choice(n, m, replace=False)
    pc = pair_costs(_data(g, a, n), ctr, 0.0, "compactness", None)
    assert len(pc.pairs) <= 0.5 * m * n  # most pairs lie beyond the search limit
    full = dijkstra(g, directed=False, indices=ctr)
    t, u = pc.pairs.t, pc.pairs.u
    fin = np.isfinite(pc.dist.vals)
    np.testing.assert_allclose(pc.dist.vals[fin], full[t[fin], u[fin]], rtol=1e-12)
    # every unit keeps its nearest center, and a pair not stored is at least the limit away
    near = np.argmin(full, axis=0)
    assert np.isfinite(pc.dist[near, np.arange(n)]).all()
    stored = np.zeros((m, n), dtype=bool)
    stored[t, u] = True
    assert (full[~stored] >= pc.limit * (1 - 1e-12)).all()
    # indexing as a dense array: stored values, the default elsewhere
    tt, uu = np.nonzero(~stored)
    assert np.isinf(pc.dist[tt[:50], uu[:50]]).all()
    assert pc.cost[int(t[7]), int(u[7])] == pc.cost.vals[7]


def test_bound_is_below_the_dense_lagrangian_for_any_multipliers():
    n, m = 3000, 60
    _, a, g = _map(n, 2)
    ctr = np.random.default_rng(3).choice(n, m, replace=False)
    pc = pair_costs(_data(g, a, n), ctr, 0.0, "compactness", None)
    full = dijkstra(g, directed=False, indices=ctr)
    cost = a[:, 0][None, :] * full
    cost[:, ctr] = np.inf  # a center stays in its own territory
    cost[np.arange(m), ctr] = 0.0
    load = a / (a.sum(axis=0) / m)
    lo, hi = np.full((m, 2), 0.95), np.full((m, 2), 1.05)
    rng = np.random.default_rng(4)
    for scale in (0.0, 10.0, 1e3, 1e5):
        lam = rng.normal(0, scale, (m, 2))
        dense = float((cost - lam @ load.T).min(axis=0).sum()
                      + np.where(lam > 0, lam * lo, lam * hi).sum())
        got = pc.bound(lam, load, lo, hi)
        assert got <= dense * (1 + 1e-12) + 1e-6 * max(1.0, abs(dense))
        if scale == 0.0:  # no pull: every unit's nearest center is stored, so it is exact
            assert got == np.float64(dense) or abs(got - dense) <= 1e-9 * abs(dense)


def test_costs_and_relaxation_memory_follow_the_pairs_not_m_times_n():
    n, m = 10_000, 1_000
    _, a, g = _map(n, 5)
    ctr = np.random.default_rng(1).choice(n, m, replace=False)
    load = a / (a.sum(axis=0) / m)
    lo, hi = np.full((m, 2), 0.95), np.full((m, 2), 1.05)
    tracemalloc.start()
    pc = pair_costs(_data(g, a, n), ctr, 0.0, "compactness", None)
    labels, _, sums = CandidateRelaxation(pc, load, lo, hi).evaluate(np.zeros((m, 2)))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # one dense float (m, n) array alone would be 80 MB; the dense solver held several
    assert peak < 40e6, f"peak {peak / 1e6:.0f} MB"
    assert len(pc.pairs) < 0.1 * m * n
    # the relaxed labels at lambda = 0: every unit's nearest center (dense oracle)
    full = dijkstra(g, directed=False, indices=ctr)
    near = np.argmin(full, axis=0)
    assert (full[labels, np.arange(n)] <= full[near, np.arange(n)] * (1 + 1e-12)).all()
    np.testing.assert_allclose(sums[:, 0], np.bincount(labels, load[:, 0], minlength=m))


def test_solver_on_stored_pairs_is_whole_and_contiguous():
    n, m = 6_000, 120
    pts, a, g = _map(n, 6)
    b = TerritoryBalancer(m, tolerance=0.05, seed=0, max_iter=20, center_iterations=2,
                          time_limit=600).solve(g, a[:, :1], coords=pts)
    labels = b.labels_
    assert labels.shape == (n,) and set(np.unique(labels)) == set(range(m))
    for t in range(m):  # contiguity by BFS over the adjacency, per territory
        rows = np.flatnonzero(labels == t)
        assert connected_components(g[rows][:, rows], directed=False)[0] == 1
    ratio = np.bincount(labels, a[:, 0], minlength=m) / (a[:, 0].sum() / m)
    if b.status_ in ("optimal", "feasible"):
        assert ratio.min() >= 0.95 - 1e-9 and ratio.max() <= 1.05 + 1e-9


def test_rules_hold_for_pairs_not_stored():
    """A pair beyond the search limit breaks a rule only where the rule says so."""
    n, m = 4000, 80
    pts, a, g = _map(n, 7)
    ctr = np.random.default_rng(8).choice(n, m, replace=False)
    unit_r = (pts[:, 0] > 50).astype(np.int64)  # two regions, west and east
    data = _data(g, a, n) | {"regions": (unit_r, unit_r[ctr]), "all_fixed": False}
    pc = pair_costs(data, ctr, 0.0, "compactness", None)
    stored = np.zeros((m, n), dtype=bool)
    stored[pc.pairs.t, pc.pairs.u] = True
    tt, uu = np.nonzero(~stored)
    free = ~np.isin(uu, ctr)
    tt, uu = tt[free], uu[free]
    other = unit_r[uu] != unit_r[ctr][tt]
    assert other.any() and (~other).any()
    np.testing.assert_array_equal(pc.hard_at(tt, uu), other)  # oracle: the regions
    # with a max distance inside the search limit every pair beyond it is forbidden
    capped = pair_costs(_data(g, a, n) | {"all_fixed": False}, ctr, 0.0, "compactness", 5.0)
    assert capped.hard_at(tt[:100], uu[:100]).all()

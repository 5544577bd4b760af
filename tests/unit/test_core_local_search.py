"""Boundary local search (components/balance/local_search.py) against oracles written here.

Contiguity is checked by the BFS oracle (tests/oracles.py); violation, deviation, totals and
costs are recomputed here from their definitions. The search must keep every territory
whole and non-empty, keep fixed units and forbidden pairs, never increase the violation,
never increase the cost when the violation stays, end where no single cost move is left
that its own rules allow, and unstick balance with swaps when single moves cannot.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from components.balance.clock import Clock
from components.balance.contiguity import repair
from components.balance.local_search import EPS, LocalSearch, violation
from tests.oracles import array_split, graph_pairs, piece_ids


def grid(nx: int, ny: int) -> sp.csr_matrix:
    idx = np.arange(nx * ny).reshape(ny, nx)
    a = np.r_[idx[:, :-1].ravel(), idx[:-1, :].ravel()]
    b = np.r_[idx[:, 1:].ravel(), idx[1:, :].ravel()]
    n = nx * ny
    return sp.coo_matrix((np.ones(2 * len(a)), (np.r_[a, b], np.r_[b, a])), shape=(n, n)).tocsr()


def viol(totals, lo, hi) -> float:
    """Sum over territories and metrics of the distance outside [lo, hi] (the definition)."""
    total = 0.0
    for t in range(totals.shape[0]):
        for k in range(totals.shape[1]):
            x = totals[t, k]
            total += max(x - hi[t, k], 0.0) + max(lo[t, k] - x, 0.0)
    return total


def sums(labels, load, m):
    out = np.zeros((m, load.shape[1]))
    for j, t in enumerate(labels):
        out[t] += load[j]
    return out


def cost_of(labels, cost) -> float:
    return float(sum(cost[t, j] for j, t in enumerate(labels)))


def whole_without(graph, labels, u) -> bool:
    rest = [int(v) for v in np.flatnonzero(labels == labels[u]) if v != u]
    return bool(rest) and len(set(piece_ids(graph_pairs(graph), dict.fromkeys(rest, 0))
                                   .values())) == 1


class Case:
    """A grid, m territories grown from random centers, metrics in target units."""

    def __init__(self, seed: int, nx: int = 7, ny: int = 6, m: int = 4, k: int = 1,
                 tol: float = 0.05, forbid: bool = False) -> None:
        rng = np.random.default_rng(seed)
        self.g = grid(nx, ny)
        n = nx * ny
        self.n, self.m = n, m
        self.centers = rng.choice(n, m, replace=False)
        xy = np.c_[np.arange(n) % nx, np.arange(n) // nx].astype(float)
        dist = np.abs(xy[None, :, :] - xy[self.centers][:, None, :]).sum(axis=2)
        self.cost = dist * rng.uniform(1, 2, n)[None, :]
        raw = rng.uniform(1, 5, (n, k))
        self.load = raw / (raw.sum(axis=0) / m)
        self.lo = np.full((m, k), 1 - tol)
        self.hi = np.full((m, k), 1 + tol)
        self.target = np.ones((m, k))
        self.fixed = np.zeros(n, bool)
        self.fixed[self.centers] = True
        self.fixed[rng.choice(n, 3, replace=False)] = True  # a few locked units too
        self.start = repair(self.g, np.argmin(dist, axis=0), self.centers, dist)
        self.forbid = None
        if forbid:
            self.forbid = rng.uniform(size=(m, n)) < 0.25
            self.forbid[self.start, np.arange(n)] = False  # the start is allowed

    def search(self) -> LocalSearch:
        return LocalSearch(self.g, self.cost, self.load, self.lo, self.hi, self.target,
                           self.fixed, self.forbid)

    def check(self, out: np.ndarray) -> None:
        assert array_split(self.g, out) == []
        assert len(np.unique(out)) == self.m
        assert (out[self.fixed] == self.start[self.fixed]).all()
        if self.forbid is not None:
            assert not self.forbid[out, np.arange(self.n)].any()


CASES = [dict(seed=s) for s in range(4)] + [
    dict(seed=10, k=2, tol=0.1), dict(seed=11, k=2, tol=0.03), dict(seed=12, forbid=True),
    dict(seed=13, m=6, tol=0.02, forbid=True), dict(seed=14, nx=9, ny=8, m=5, k=3, tol=0.15)]


@pytest.mark.parametrize("kw", CASES, ids=lambda kw: "-".join(f"{k}{v}" for k, v in kw.items()))
def test_run_keeps_the_invariants_and_never_gets_worse(kw):
    case = Case(**kw)
    search = case.search()
    start = case.start.copy()
    out = search.run(start, Clock(60))
    assert np.array_equal(start, case.start)  # the caller's labels are not touched
    case.check(out)
    v0 = viol(sums(case.start, case.load, case.m), case.lo, case.hi)
    v1 = viol(sums(out, case.load, case.m), case.lo, case.hi)
    assert v1 <= v0 + 1e-9
    if v0 <= 1e-9:
        assert cost_of(out, case.cost) <= cost_of(case.start, case.cost) + 1e-9
    assert search.moves >= int((out != case.start).sum())
    # totals() is the plain per-territory sum
    assert np.allclose(search.totals(out), sums(out, case.load, case.m))


@pytest.mark.parametrize("kw", CASES[:6], ids=lambda kw: "-".join(f"{k}{v}"
                                                                   for k, v in kw.items()))
def test_run_ends_where_no_cost_move_is_left(kw):
    """The cost phase stops only when no allowed boundary move lowers the cost without
    raising the violation (a local optimum by the module's own rules, checked here)."""
    case = Case(**kw)
    out = case.search().run(case.start, Clock(60))
    totals = sums(out, case.load, case.m)
    v = viol(totals, case.lo, case.hi)
    scale = max(float(np.abs(case.cost).max()), 1.0)
    for u, w in graph_pairs(case.g):
        a, b = int(out[u]), int(out[w])
        if a == b or case.fixed[u] or (case.forbid is not None and case.forbid[b, u]):
            continue
        if not whole_without(case.g, out, u):
            continue
        moved = totals.copy()
        moved[a] -= case.load[u]
        moved[b] += case.load[u]
        dv = viol(moved, case.lo, case.hi) - v
        dc = case.cost[b, u] - case.cost[a, u]
        assert not (dv <= EPS and dc < -EPS * scale), (u, a, b, dv, dc)


@pytest.mark.parametrize("n", [8, 12, 15])
def test_balance_on_a_path_is_reached(n):
    """Units of load 1 on a path, 2 territories from a lopsided start: halves (up to one)."""
    g = sp.diags([np.ones(n - 1), np.ones(n - 1)], [-1, 1], format="csr")
    start = np.r_[[0], np.ones(n - 1, dtype=np.int64)]
    load = np.full((n, 1), 2.0 / n)
    fixed = np.zeros(n, bool)
    fixed[[0, n - 1]] = True
    tol = 1.0 / n + 1e-9  # an odd count may be one unit off
    search = LocalSearch(g, np.zeros((2, n)), load, np.full((2, 1), 1 - tol),
                         np.full((2, 1), 1 + tol), np.ones((2, 1)), fixed)
    out = search.run(start, Clock(60))
    assert sorted(np.bincount(out).tolist()) == [n // 2, n - n // 2]
    assert array_split(g, out) == [] and out[0] == 0 and out[-1] == 1
    assert search.moves == n // 2 - 1


def test_balance_phase_prefers_lower_deviation_when_the_violation_cannot_move():
    """Inside the bounds, a move that brings totals nearer the target is still taken."""
    g = sp.diags([np.ones(5), np.ones(5)], [-1, 1], format="csr")  # 6 units on a path
    load = np.full((6, 1), 2.0 / 6)
    fixed = np.zeros(6, bool)
    fixed[[0, 5]] = True
    wide = LocalSearch(g, np.zeros((2, 6)), load, np.full((2, 1), 0.0), np.full((2, 1), 5.0),
                       np.ones((2, 1)), fixed)
    out = wide.run(np.array([0, 1, 1, 1, 1, 1]), Clock(60))
    assert np.bincount(out).tolist() == [3, 3]


def test_swaps_unstick_what_single_moves_cannot():
    """0 1 2 / 3 4 5 with A = {0, 1, 3}, B = {2, 4, 5}: loads 1 1 2 / 1 2 1. A holds 3 and
    B 5 (target 4). Every single move keeps or worsens the imbalance; swapping 1 and 4
    makes both exactly 4 and keeps both territories whole."""
    g = sp.csr_matrix((np.ones(7), ([0, 1, 3, 4, 0, 1, 2], [1, 2, 4, 5, 3, 4, 5])),
                      shape=(6, 6))
    g = (g + g.T).tocsr()
    w = np.array([1.0, 1, 2, 1, 2, 1])
    load = (w / 4.0)[:, None]
    fixed = np.zeros(6, bool)
    fixed[[0, 5]] = True
    search = LocalSearch(g, np.zeros((2, 6)), load, np.full((2, 1), 0.97),
                         np.full((2, 1), 1.03), np.ones((2, 1)), fixed)
    out = search.run(np.array([0, 0, 1, 0, 1, 1]), Clock(60))
    assert out.tolist() == [0, 1, 1, 0, 0, 1]
    assert search.moves == 2
    assert viol(sums(out, load, 2), search.lo, search.hi) == 0.0
    # a forbidden pair takes the swap away
    forbid = np.zeros((2, 6), bool)
    forbid[1, 1] = True
    blocked = LocalSearch(g, np.zeros((2, 6)), load, search.lo, search.hi, search.target,
                          fixed, forbid)
    other = blocked.run(np.array([0, 0, 1, 0, 1, 1]), Clock(60))
    assert other[1] != 1 and array_split(g, other) == []
    assert other.tolist() == [0, 0, 0, 1, 1, 1]  # the other swap (2 and 3) does it


def test_an_expired_clock_changes_nothing():
    case = Case(3)
    clock = Clock(0.0, now=iter(np.arange(0.0, 1e6, 1.0)).__next__)
    search = case.search()
    out = search.run(case.start, clock)
    assert np.array_equal(out, case.start) and search.moves == 0 and clock.hit


@pytest.mark.parametrize("seed", range(4))
def test_kick_keeps_territories_whole_and_moves_at_most_n(seed):
    case = Case(20 + seed, forbid=seed % 2 == 1)
    search = case.search()
    out = search.kick(case.start, np.random.default_rng(seed), 6)
    case.check(out)
    changed = int((out != case.start).sum())
    assert 1 <= changed <= 6
    again = search.kick(case.start, np.random.default_rng(seed), 6)
    assert np.array_equal(out, again)  # the same generator state, the same kick
    assert search.kick(case.start, np.random.default_rng(seed), 0).tolist() == \
        case.start.tolist()


def test_violation_is_the_distance_outside_the_bounds():
    s = np.array([[0.5, 1.0], [1.2, 0.9], [1.0, 1.0]])
    lo = np.full((3, 2), 0.9)
    hi = np.full((3, 2), 1.1)
    assert violation(s, lo, hi).tolist() == pytest.approx([0.4, 0.1, 0.0])
    assert violation(s[0], lo[0], hi[0]) == pytest.approx(0.4)


def test_swap_rounds_repeat_while_they_help():
    """0 1 2 / 3 4 5 with A = {0, 1, 3, 4} (loads 2 1 1 1 = 5) and B = {2, 5} (4 + 5 = 9),
    target 7: balance (A = {0, 1, 2}) takes more than one round of swaps, so the rounds
    must go on after a round that made a single swap."""
    g = sp.csr_matrix((np.ones(7), ([0, 1, 3, 4, 0, 1, 2], [1, 2, 4, 5, 3, 4, 5])),
                      shape=(6, 6))
    g = (g + g.T).tocsr()
    w = np.array([2.0, 1, 4, 1, 1, 5])
    load = (w / 7.0)[:, None]
    fixed = np.zeros(6, bool)
    fixed[[0, 5]] = True
    search = LocalSearch(g, np.zeros((2, 6)), load, np.full((2, 1), 0.97),
                         np.full((2, 1), 1.03), np.ones((2, 1)), fixed)
    out = search.run(np.array([0, 0, 1, 0, 0, 1]), Clock(60))
    assert viol(sums(out, load, 2), search.lo, search.hi) == 0.0
    assert array_split(g, out) == [] and out[0] == 0 and out[5] == 1

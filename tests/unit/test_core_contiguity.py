"""Contiguity (components/balance/contiguity.py) against the BFS oracle in tests/oracles.py.

- ``territory_parts`` / ``contiguous_flags`` agree with the oracle on random labelings,
  split territories and empty ones included;
- ``repair`` follows its contract, checked against a plain-Python rendering of the wave
  rule written here: units in their territory's main part stay, cut-off units go, wave by
  wave, to the adjacent territory with the lowest reduced cost (ties: lowest index);
  locked units stay and are joined to their centers; the inputs are not modified;
- ``Territories.removable`` never says yes when removing the unit would split or empty its
  territory, says yes whenever it would not (within its visit budget), and stays right
  through a sequence of moves (its cache).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from components.balance.contiguity import (
    Territories,
    contiguous_flags,
    repair,
    territory_parts,
)
from tests.oracles import array_flags, array_split, graph_pairs, piece_ids


def grid(nx: int, ny: int, seed: int = 0, weighted: bool = False) -> sp.csr_matrix:
    idx = np.arange(nx * ny).reshape(ny, nx)
    a = np.r_[idx[:, :-1].ravel(), idx[:-1, :].ravel()]
    b = np.r_[idx[:, 1:].ravel(), idx[1:, :].ravel()]
    w = np.random.default_rng(seed).uniform(1, 2, len(a)) if weighted else np.ones(len(a))
    n = nx * ny
    return sp.coo_matrix((np.r_[w, w], (np.r_[a, b], np.r_[b, a])), shape=(n, n)).tocsr()


def path(n: int) -> sp.csr_matrix:
    return sp.diags([np.ones(n - 1), np.ones(n - 1)], [-1, 1], format="csr")


def neighbours(graph: sp.csr_matrix) -> list[set[int]]:
    adj: list[set[int]] = [set() for _ in range(graph.shape[0])]
    for a, b in graph_pairs(graph):
        adj[a].add(b)
        adj[b].add(a)
    return adj


# -- parts and flags --------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(12))
def test_parts_and_flags_match_the_oracle(seed):
    rng = np.random.default_rng(seed)
    g = grid(int(rng.integers(2, 7)), int(rng.integers(2, 7)), seed)
    n = g.shape[0]
    m = int(rng.integers(1, 6))
    labels = rng.integers(0, m, n)
    m_all = m + 2  # two territories with no units: one piece by definition (flag True)
    parts = territory_parts(g, labels)
    oracle = piece_ids(graph_pairs(g), dict(enumerate(labels.tolist())))
    for i in range(n):
        for j in range(n):
            assert (parts[i] == parts[j]) == (oracle[i] == oracle[j]), (i, j)
    flags = contiguous_flags(g, labels, m_all)
    assert flags.dtype == bool and flags.shape == (m_all,)
    assert flags.tolist() == array_flags(g, labels, m_all).tolist()
    assert flags[m:].all()


def test_two_part_territory_is_not_contiguous():
    # 0-1-2-3-4: territory 0 = {0, 4} is two parts; territory 1 = {1, 2, 3} one
    g = path(5)
    labels = np.array([0, 1, 1, 1, 0])
    assert contiguous_flags(g, labels, 2).tolist() == [False, True]
    assert contiguous_flags(g, np.array([0, 0, 1, 1, 1]), 2).tolist() == [True, True]
    parts = territory_parts(g, labels)
    assert parts[0] != parts[4] and parts[1] == parts[2] == parts[3]


# -- repair -----------------------------------------------------------------------------------

def waves(graph, labels, anchors, reduced_cost):
    """The documented rule, in plain Python: release units outside their territory's main
    part, then in waves give each released unit next to an assigned one the cheapest
    adjacent territory (ties: the lowest territory index)."""
    adj = neighbours(graph)
    lab = labels.copy()
    lab[anchors] = np.arange(len(anchors))
    piece = piece_ids(graph_pairs(graph), dict(enumerate(lab.tolist())))
    main = {t: piece[int(a)] for t, a in enumerate(anchors)}
    free = {u for u in range(len(lab)) if piece[u] != main[int(lab[u])]}
    for u in free:
        lab[u] = -1
    while free:
        step = {}
        for u in sorted(free):
            options = {int(lab[v]) for v in adj[u] if lab[v] >= 0}
            if options:
                step[u] = min(options, key=lambda t: (reduced_cost[t, u], t))
        assert step, "disconnected"
        for u, t in step.items():
            lab[u] = t
        free -= set(step)
    return lab


@pytest.mark.parametrize("seed", range(10))
def test_repair_follows_the_wave_rule_and_makes_every_territory_whole(seed):
    rng = np.random.default_rng(seed)
    g = grid(int(rng.integers(3, 8)), int(rng.integers(3, 8)), seed)
    n = g.shape[0]
    m = int(rng.integers(2, 6))
    anchors = rng.choice(n, m, replace=False)
    labels = rng.integers(0, m, n)
    cost = rng.uniform(0, 10, (m, n))
    if seed % 3 == 0:
        cost = np.round(cost)  # ties: the lowest territory index wins
    before = labels.copy()
    out = repair(g, labels, anchors, cost)
    assert np.array_equal(labels, before)  # the caller's labels are not touched
    assert out.tolist() == waves(g, labels, anchors, cost).tolist()
    assert array_split(g, out) == []
    assert (out[anchors] == np.arange(m)).all()
    # units already in their territory's main part keep their territory
    lab = labels.copy()
    lab[anchors] = np.arange(m)
    piece = piece_ids(graph_pairs(g), dict(enumerate(lab.tolist())))
    kept = [u for u in range(n) if piece[u] == piece[int(anchors[lab[u]])]]
    assert (out[kept] == lab[kept]).all()


def test_repair_by_hand_on_a_path():
    g = path(6)
    out = repair(g, np.array([0, 1, 0, 1, 0, 1]), np.array([0, 5]), np.zeros((2, 6)))
    assert out.tolist() == [0, 0, 0, 1, 1, 1]  # two waves from each end
    # unit 3 belongs to territory 2 but only touches 0 and 1: it takes the cheaper one
    g = sp.csr_matrix(([1.0] * 6, ([0, 3, 3, 1, 1, 2], [3, 0, 1, 3, 2, 1])), shape=(4, 4))
    for c0, c1, want in [(1.0, 0.0, 1), (0.0, 1.0, 0), (2.0, 2.0, 0)]:
        cost = np.zeros((3, 4))
        cost[0, 3], cost[1, 3] = c0, c1
        out = repair(g, np.array([0, 1, 2, 2]), np.array([0, 1, 2]), cost)
        assert out.tolist() == [0, 1, 2, want]
    out = repair(path(3), np.array([0, 0, 1]), np.array([0, 2]), np.array([[5.0, 5, 5],
                                                                          [0, 0, 0]]))
    assert out.tolist() == [0, 0, 1]  # unit 1 is in 0's main part: it stays, cost or not


def test_repair_raises_when_a_unit_cannot_be_reached():
    g = sp.csr_matrix((4, 4))
    g = (g + sp.csr_matrix(([1.0, 1.0], ([0, 1], [1, 0])), shape=(4, 4))).tocsr()
    with pytest.raises(RuntimeError, match="disconnected"):
        repair(g, np.array([0, 0, 1, 0]), np.array([0, 2]), np.zeros((2, 4)))


def test_locked_unit_is_joined_to_its_center_along_the_cheapest_path():
    # 5 x 3 grid, centers at the left (0) and right (14) ends of the middle row... a unit at
    # the far right locked to the left territory pulls the cheapest path with it
    g = grid(5, 3, weighted=True)
    n = g.shape[0]
    anchors = np.array([5, 9])  # middle row: left end, right end
    labels = np.where(np.arange(n) % 5 < 3, 0, 1)
    locked = np.full(n, -1)
    locked[4] = 0  # top right corner belongs to the left territory
    graph_before = g.copy()
    out = repair(g, labels, anchors, np.zeros((2, n)), locked)
    assert (g != graph_before).nnz == 0 and np.array_equal(g.indices, graph_before.indices)
    assert out[4] == 0 and (out[anchors] == [0, 1]).all()
    assert array_split(g, out) == []
    # the path taken is a cheapest one from the center to the locked unit
    from scipy.sparse.csgraph import dijkstra

    dist = dijkstra(g, directed=False, indices=5)
    members = np.flatnonzero(out == 0)
    sub = g[members][:, members]
    inner = dijkstra(sub, directed=False, indices=int(np.flatnonzero(members == 5)[0]))
    assert inner[np.flatnonzero(members == 4)[0]] == pytest.approx(dist[4])


def test_locked_paths_go_around_units_fixed_elsewhere():
    # a 3 x 3 grid; territory 1 holds the middle column's locked units, so the path from
    # territory 0's center (0) to its locked unit (2) must go around through the bottom row
    g = grid(3, 3)
    anchors = np.array([0, 4])
    labels = np.array([0, 1, 1, 0, 1, 1, 0, 0, 1])
    locked = np.full(9, -1)
    locked[[1, 2]] = [1, 0]
    out = repair(g, labels, anchors, np.zeros((2, 9)), locked)
    assert out[1] == 1 and out[2] == 0 and out[4] == 1
    assert array_split(g, out) == []
    assert out.tolist() == [0, 1, 0, 0, 1, 0, 0, 0, 0]


def test_locked_path_through_unit_zero():
    """3 - 2 - 0 - 1 and 0 - 4: unit 1 is locked to territory 0 (center 3) but 0 and 2 sit
    in territory 1 (center 4). The path 3-2-0-1 goes to territory 0, unit 0 included."""
    rows, cols = [3, 2, 0, 0], [2, 0, 1, 4]
    g = sp.csr_matrix((np.ones(8), (rows + cols, cols + rows)), shape=(5, 5))
    locked = np.full(5, -1)
    locked[1] = 0
    out = repair(g, np.array([1, 0, 1, 0, 1]), np.array([3, 4]), np.zeros((2, 5)), locked)
    assert out.tolist() == [0, 0, 0, 0, 1]
    assert array_split(g, out) == []


# -- removable and moves ----------------------------------------------------------------------

def whole_without(graph, labels, u) -> bool:
    t = labels[u]
    rest = np.flatnonzero(labels == t)
    rest = rest[rest != u]
    if len(rest) == 0:
        return False
    sub = {int(v): 0 for v in rest}
    ids = piece_ids(graph_pairs(graph), sub)
    return len(set(ids.values())) == 1


def contiguous_start(g, m, rng):
    n = g.shape[0]
    anchors = rng.choice(n, m, replace=False)
    return repair(g, rng.integers(0, m, n), anchors, rng.uniform(0, 1, (m, n)))


def triangulated(nx: int, ny: int) -> sp.csr_matrix:
    """The grid plus one diagonal per cell: neighbours of a unit touch each other, so the
    local test (are u's neighbours in its territory connected among themselves) matters."""
    g = grid(nx, ny).tolil()
    for y in range(ny - 1):
        for x in range(nx - 1):
            a, b = y * nx + x, (y + 1) * nx + x + 1
            g[a, b] = g[b, a] = 1.0
    return g.tocsr()


@pytest.mark.parametrize("seed", range(8))
def test_removable_is_safe_and_complete(seed):
    rng = np.random.default_rng(seed)
    shape = int(rng.integers(3, 9)), int(rng.integers(3, 9))
    g = triangulated(*shape) if seed % 2 else grid(*shape)
    m = int(rng.integers(2, 6))
    labels = contiguous_start(g, m, rng)
    state = Territories(g, labels, m)
    for u in range(g.shape[0]):
        assert state.removable(u) == whole_without(g, labels, u), u


def test_removable_gives_up_safely_past_its_visit_budget():
    # a ring of 200 units in one territory: removing any unit leaves a path (fine), but
    # proving it needs a walk around the ring, longer than the budget: answered "no"
    n = 200
    rows = np.arange(n)
    g = sp.csr_matrix((np.ones(2 * n), (np.r_[rows, (rows + 1) % n], np.r_[(rows + 1) % n,
                                                                        rows])), shape=(n, n))
    state = Territories(g, np.zeros(n, dtype=np.int64), 1)
    assert not state.removable(7)
    small = Territories(g[:40, :40] + sp.csr_matrix(([1.0, 1.0], ([0, 39], [39, 0])),
                                                    shape=(40, 40)), np.zeros(40, np.int64), 1)
    assert small.removable(7)  # a ring of 40 is within the budget


@pytest.mark.parametrize("seed", range(5))
def test_moves_keep_sizes_and_answers_right(seed):
    """After every move the cached answers equal a fresh object's and the oracle's."""
    rng = np.random.default_rng(seed)
    g = grid(6, 5)
    m = 4
    labels = contiguous_start(g, m, rng)
    state = Territories(g, labels, m)
    adj = neighbours(g)
    for _ in range(40):
        for u in range(g.shape[0]):
            state.removable(u)  # fill the cache
        options = [(u, int(state.labels[v])) for u in range(g.shape[0]) for v in adj[u]
                   if state.labels[v] != state.labels[u] and state.removable(u)]
        if not options:
            break
        u, to = options[int(rng.integers(len(options)))]
        state.move(u, to)
        assert state.labels[u] == to
        assert state.size.tolist() == np.bincount(state.labels, minlength=m).tolist()
        assert array_split(g, state.labels) == []
        fresh = Territories(g, state.labels, m)
        for v in range(g.shape[0]):
            assert state.removable(v) == fresh.removable(v) == \
                whole_without(g, state.labels, v), v


def test_last_unit_of_a_territory_is_never_removable():
    g = path(4)
    state = Territories(g, np.array([0, 0, 1, 1]), 2)
    assert state.removable(1) and state.removable(2)
    state.move(1, 1)  # territory 0 keeps unit 0 alone
    assert not state.removable(0)
    assert state.size.tolist() == [1, 3]
    assert state.removable(1)


def test_cached_answers_expire_when_a_territory_loses_then_gains_a_unit():
    """A ring 0-1-2-3-4-5, A = {0, 1, 2}, B = {3, 4, 5}. Unit 1 is not removable (A would
    split). 0 leaves A, then 3 joins it: A = {1, 2, 3} has 1 at its end, so 1 is now
    removable; an answer cached before both moves must not be reused."""
    ring = sp.csr_matrix((np.ones(12), (np.r_[np.arange(6), (np.arange(6) + 1) % 6],
                                        np.r_[(np.arange(6) + 1) % 6, np.arange(6)])),
                         shape=(6, 6))
    state = Territories(ring, np.array([0, 0, 0, 1, 1, 1]), 2)
    assert not state.removable(1)
    state.move(0, 1)
    state.move(3, 0)
    assert state.labels.tolist() == [1, 0, 0, 0, 1, 1]
    assert state.removable(1) and whole_without(ring, state.labels, 1)

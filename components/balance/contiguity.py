"""Contiguity of territories on an SCU adjacency graph.

Territory ``t`` is contiguous when the subgraph induced by its units is
connected. With shortest-path distances the Lagrangian assignment
``argmin_i (d_ij - lambda_i)`` is contiguous in theory (Zoltners & Sinha); ties
and multi-metric multipliers break that, so every assignment passes through
:func:`repair`, which keeps the part holding the center and hands each cut-off
piece to the best adjacent territory.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra

from components.balance.pairs import PairArray


def _same_territory_graph(graph: sp.csr_matrix, labels: np.ndarray) -> sp.csr_matrix:
    coo = graph.tocoo()
    keep = labels[coo.row] == labels[coo.col]
    n = graph.shape[0]
    return sp.csr_matrix((np.ones(int(keep.sum())), (coo.row[keep], coo.col[keep])), shape=(n, n))


def territory_parts(graph: sp.csr_matrix, labels: np.ndarray) -> np.ndarray:
    """Connected-part label of every unit within its own territory."""
    _, parts = connected_components(_same_territory_graph(graph, labels), directed=False)
    return parts


def contiguous_flags(graph: sp.csr_matrix, labels: np.ndarray, m: int) -> np.ndarray:
    """``flags[t]`` is True when territory ``t`` is one connected piece (or empty)."""
    parts = territory_parts(graph, labels)
    n_parts = np.zeros(m, dtype=np.int64)
    pairs = np.unique(np.column_stack([labels, parts]), axis=0)
    np.add.at(n_parts, pairs[:, 0], 1)
    return n_parts <= 1


def repair(graph: sp.csr_matrix, labels: np.ndarray, anchors: np.ndarray,
           reduced_cost: np.ndarray | PairArray,
           locked: np.ndarray | None = None) -> np.ndarray:
    """Make every territory connected.

    ``anchors[t]`` is the unit that defines territory ``t``'s main part (its
    center). Units outside their territory's main part are released and
    re-assigned, in waves, to the adjacent territory with the lowest
    ``reduced_cost[t, j]`` (a dense (m, n) array or the stored pairs' PairArray);
    adding a unit next to a connected territory keeps it connected, so the result is
    contiguous whenever the graph is connected.

    ``locked[j] = t`` keeps unit ``j`` in territory ``t``: a locked unit cut off
    from its center is joined to it along the cheapest path of units that are not
    fixed elsewhere, and the repair runs again for the territories that path cut.
    """
    labels = labels.copy()
    fixed = np.full(len(labels), -1) if locked is None else np.asarray(locked)
    fixed = fixed.copy()
    fixed[anchors] = np.arange(len(anchors))
    labels[fixed >= 0] = fixed[fixed >= 0]
    for _ in range(4):
        labels = _release_and_refill(graph, labels, anchors, reduced_cost, fixed)
        stranded = _stranded_locked(graph, labels, anchors, fixed)
        if not len(stranded):
            break
        for j in stranded:
            # the path is fixed for the rest of this repair, so later paths go around it
            _connect(graph, labels, int(j), anchors[fixed[j]], fixed)
    return labels


def _stranded_locked(graph, labels, anchors, fixed) -> np.ndarray:
    parts = territory_parts(graph, labels)
    main = parts[anchors]
    locked = np.flatnonzero(fixed >= 0)
    return locked[parts[locked] != main[labels[locked]]]


def _connect(graph: sp.csr_matrix, labels: np.ndarray, j: int, center: int,
             fixed: np.ndarray) -> None:
    """Give territory of ``center`` the cheapest path from it to unit ``j``."""
    t = labels[center]
    usable = (fixed < 0) | (fixed == t)
    keep = usable[graph.indices] & np.repeat(usable, np.diff(graph.indptr))
    # copy: eliminate_zeros works in place and must not touch the caller's graph
    sub = sp.csr_matrix((graph.data * keep, graph.indices.copy(), graph.indptr.copy()),
                        shape=graph.shape)
    sub.eliminate_zeros()
    _, pred = dijkstra(sub, directed=False, indices=center, return_predecessors=True)
    if pred[j] < 0:
        return  # blocked by other paths: left to the caller's contiguity report
    v = j
    while v != center and v >= 0:
        labels[v] = t
        fixed[v] = t
        v = pred[v]


def _release_and_refill(graph, labels, anchors, reduced_cost, fixed) -> np.ndarray:
    parts = territory_parts(graph, labels)
    main_part = parts[anchors]
    free = (parts != main_part[labels]) & (fixed < 0)
    if not free.any():
        return labels
    labels[free] = -1
    indices = graph.indices
    row_of = np.repeat(np.arange(graph.shape[0]), np.diff(graph.indptr))
    while free.any():
        # candidate (unit, territory) pairs: free unit next to an assigned unit
        nbr_lab = labels[indices]
        ok = free[row_of] & (nbr_lab >= 0)
        if not ok.any():
            raise RuntimeError("units unreachable from every center: the graph is disconnected")
        units, terr = row_of[ok], nbr_lab[ok]
        cost = reduced_cost[terr, units]
        order = np.lexsort((terr, cost, units))
        units, terr = units[order], terr[order]
        first = np.r_[True, units[1:] != units[:-1]]
        labels[units[first]] = terr[first]
        free[units[first]] = False
    return labels


MAX_VISIT = 64  # units a removability BFS may visit before it gives up (safely)


class Territories:
    """Mutable assignment state with the adjacency lists local search needs."""

    def __init__(self, graph: sp.csr_matrix, labels: np.ndarray, m: int) -> None:
        self.indptr = graph.indptr
        self.indices = graph.indices
        self.labels = labels.copy()
        self.m = m
        self.size = np.bincount(labels, minlength=m)
        self.version = np.zeros(m, dtype=np.int64)  # bumped when a territory changes
        self._cache: dict[int, tuple[int, int, bool]] = {}

    def neighbours(self, u: int) -> np.ndarray:
        return self.indices[self.indptr[u]:self.indptr[u + 1]]

    def removable(self, u: int) -> bool:
        """Can unit ``u`` leave its territory without splitting it or emptying it?"""
        t = int(self.labels[u])
        hit = self._cache.get(u)
        if hit is not None and hit[0] == t and hit[1] == self.version[t]:
            return hit[2]
        result = self._removable(u, t)
        self._cache[u] = (t, int(self.version[t]), result)
        return result

    def _removable(self, u: int, t: int) -> bool:
        if self.size[t] <= 1:
            return False
        nb = self.neighbours(u)
        same = nb[self.labels[nb] == t]
        if len(same) <= 1:
            return len(same) == 1
        if self._connected_around(same):
            return True
        # BFS inside territory t without u, from one neighbour, until all are reached.
        # Bounded: past MAX_VISIT units we answer "not removable", which is always safe
        # (it only forgoes a move) and keeps big territories cheap.
        targets = set(same[1:].tolist())
        seen = {u, int(same[0])}
        stack = deque([int(same[0])])
        labels, indptr, indices = self.labels, self.indptr, self.indices
        while stack and targets:
            if len(seen) > MAX_VISIT:
                return False
            v = stack.popleft()
            for w in indices[indptr[v]:indptr[v + 1]]:
                w = int(w)
                if w not in seen and labels[w] == t:
                    seen.add(w)
                    targets.discard(w)
                    stack.append(w)
        return not targets

    def _connected_around(self, same: np.ndarray) -> bool:
        """Are u's same-territory neighbours connected among themselves (a local test)?"""
        members = set(same.tolist())
        seen = {int(same[0])}
        stack = [int(same[0])]
        while stack:
            v = stack.pop()
            for w in self.indices[self.indptr[v]:self.indptr[v + 1]]:
                w = int(w)
                if w in members and w not in seen:
                    seen.add(w)
                    stack.append(w)
        return len(seen) == len(members)

    def move(self, u: int, to: int) -> None:
        self.version[self.labels[u]] += 1
        self.version[to] += 1
        self.size[self.labels[u]] -= 1
        self.size[to] += 1
        self.labels[u] = to

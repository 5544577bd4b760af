"""Candidate lists: the p-median on the ``k`` nearest candidates of every demand point.

A dense n x m cost matrix stops fitting long before the p-median stops being solvable:
50,000 demand x 10,000 candidates is 4 GB per float64 copy, 100,000 x 20,000 is 16 GB.
Here every point keeps its ``k`` cheapest candidates, sorted by cost
(:class:`CandidateLists`, ``O(n k)`` memory), and every pair outside a point's list
costs ``beyond_i`` in the search. The search (:class:`SparseSwapEngine`), the
Lagrangian bound and the size checks work on the lists alone; nothing n x m exists.

Why the answers stay honest:

* the lists are the ``k`` nearest by the real metric, so a pair outside a list costs at
  least the list's last cost; the Lagrangian multipliers are capped there
  (:mod:`~components.locate.lagrange`), so the bound is valid for the full problem,
  not only for the one restricted to the lists;
* the reported objective is recomputed from the real costs: a point with no open site
  in its list is served by its nearest open site, found by a KD-tree on the open sites
  (:func:`true_assignment`), so the answer is a real solution of the full problem.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from components.costs.metrics import chord_to_arc, earth_radius, search_space
from components.errors import InputError
from components.locate.engine import SiteRules, SwapEngine


@dataclass
class CandidateLists:
    """Row ``i``: sites ``idx[i]`` at unit costs ``cost[i]`` (ascending); ``m`` sites."""

    idx: np.ndarray  # (n, k) int64 site indices
    cost: np.ndarray  # (n, k) float64 unit costs, ascending per row
    m: int
    points: np.ndarray | None = None  # coordinates, to price pairs outside the lists
    sites: np.ndarray | None = None
    metric: str = "euclidean"
    beyond: np.ndarray | None = None  # (n,) cost of a pair outside the list in the search

    @property
    def shape(self) -> tuple[int, int]:
        return (self.idx.shape[0], self.m)

    @property
    def width(self) -> int:
        return int(self.idx.shape[1])


def _to_cost(dist: np.ndarray, metric: str) -> np.ndarray:
    return chord_to_arc(dist, earth_radius("km")) if metric == "haversine" else dist


def knn_lists(points: np.ndarray, sites: np.ndarray, k: int,
              metric: str = "euclidean") -> CandidateLists:
    """The ``k`` nearest sites of every point (KD-tree, ``O((n + m) + n k)`` memory)."""
    points, sites = np.asarray(points, dtype=float), np.asarray(sites, dtype=float)
    n, m = len(points), len(sites)
    k = max(1, min(int(k), m))
    check_memory(n * k * 16 * 3, f"candidate lists of {n:,} points x {k} candidates",
                 "a smaller candidate list (--candidate-list K)")
    tree = cKDTree(search_space(sites, metric))
    space = search_space(points, metric)
    idx = np.empty((n, k), dtype=np.int64)
    cost = np.empty((n, k))
    step = max(1, (1 << 22) // k)
    for s in range(0, n, step):
        d, j = tree.query(space[s:s + step], k=k)
        idx[s:s + step] = np.asarray(j).reshape(-1, k)
        cost[s:s + step] = _to_cost(np.asarray(d, dtype=float).reshape(-1, k), metric)
    return CandidateLists(idx, cost, m, points, sites, metric)


def dense_lists(costs: np.ndarray, k: int) -> CandidateLists:
    """The ``k`` cheapest finite sites of every row of a dense matrix (tests, small data)."""
    from components.locate.engine import neighbour_lists

    idx, val = neighbour_lists(np.where(np.isfinite(costs), costs, np.inf), k)
    return CandidateLists(idx.astype(np.int64), val, costs.shape[1])


# ------------------------------------------------------------------ size checks
def available_bytes() -> int:
    """Memory this process may still take: MemAvailable, else physical memory."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def _gib(b: float) -> str:
    return f"{b / 2**30:,.1f} GiB"


def check_memory(need: int, what: str, fix: str, limit: int | None = None) -> None:
    """A one-line InputError, before allocating, when ``need`` bytes would not fit."""
    have = available_bytes() if limit is None else limit
    env = os.environ.get("TERRAPLAN_MEMORY_LIMIT_BYTES")
    if env:
        have = min(have, int(float(env)))
    if need > have:
        raise InputError(f"{what} need about {_gib(need)} but only {_gib(have)} of memory is "
                         f"available; use {fix}", column="candidate_list")


def check_dense(n: int, m: int, copies: int = 4) -> None:
    """The dense p-median path holds ~``copies`` float64 n x m arrays at once."""
    k = max(8, min(m, 64))
    check_memory(n * m * 8 * copies,
                 f"{n:,} demand x {m:,} candidates as a dense cost matrix ({copies} copies of "
                 f"{_gib(n * m * 8)})",
                 f"candidate lists: each point keeps its k nearest candidates "
                 f"(--candidate-list {k}, candidate_list={k} in SQL: {_gib(n * k * 16)})")


# ------------------------------------------------------------------ the search
class SparseSwapEngine(SwapEngine):
    """:class:`SwapEngine` on candidate lists: every table is ``O(n k + p m)``.

    ``near_idx``/``near_cost`` are the lists (weighted costs); a pair outside a list
    costs ``vmax_i`` (>= the list's last cost), which is also the virtual site every
    point falls back on. Sites cheaper than a point's second-closest cost are then a
    prefix of its list, so the sparse count is exact and no dense pass is ever needed;
    the points a newly opened site may serve come from the lists' inverse (by site).
    """

    def __init__(self, near_idx: np.ndarray, near_cost: np.ndarray, vmax: np.ndarray, m: int,
                 rules: SiteRules, start: np.ndarray) -> None:
        self.n, self.m = near_idx.shape[0], m
        self.rules = rules
        self.near_idx, self.near_cost = near_idx, near_cost
        self.vmax = np.maximum(vmax, near_cost[:, -1])
        k = near_idx.shape[1]
        # the lists by site (who may a newly opened site serve?): a linear-time CSR -> CSC
        # conversion, not an O(nk log nk) argsort (2.4 of 7 loaded s at 10k x 300)
        by_site = sp.csr_matrix((near_cost.ravel(), near_idx.ravel(),
                                 np.arange(0, self.n * k + 1, k)), shape=(self.n, m)).tocsc()
        self._col_rows = by_site.indices.astype(np.int64)
        self._col_cost = by_site.data
        self._col_ptr = by_site.indptr.astype(np.int64)
        self.window = k
        self.slots = np.asarray(start, dtype=np.int64).copy()
        self.swaps = 0
        self.rebuild()

    def rebuild(self) -> None:
        self.is_open = np.zeros(self.m, dtype=bool)
        self.is_open[self.slots] = True
        rows = np.arange(self.n)
        self.c1, self.d1, self.c2, self.d2 = self._closest(rows)
        self.gain, self.loss = np.zeros(self.m), np.zeros(self.p)
        self.extra = np.zeros((self.p, self.m))
        step = max(1, (1 << 21) // self.near_idx.shape[1])
        for start in range(0, self.n, step):
            self._count(rows[start:start + step], 1.0)

    def _closest(self, rows: np.ndarray):
        slot_of = np.full(self.m, -1, dtype=np.int64)
        slot_of[self.slots] = np.arange(self.p)
        s = slot_of[self.near_idx[rows]]
        cost = self.near_cost[rows]
        r = np.arange(len(rows))
        is_open = s >= 0
        first = np.argmax(is_open, axis=1)
        has1 = is_open[r, first]
        is_open[r, first] = False
        second = np.argmax(is_open, axis=1)
        has2 = has1 & is_open[r, second]
        vmax = self.vmax[rows]
        d1 = np.where(has1, cost[r, first], vmax)
        c1 = np.where(has1, s[r, first], 0)  # no open site listed: any slot, cost vmax
        d2 = np.where(has2, cost[r, second], vmax)
        c2 = np.where(has2, s[r, second], -1)
        return c1.astype(np.int64), d1, c2.astype(np.int64), d2

    def _count(self, rows: np.ndarray, sign: float) -> None:
        if len(rows) == 0:
            return
        d1, d2, c1 = self.d1[rows], self.d2[rows], self.c1[rows]
        self.loss += sign * np.bincount(c1, weights=d2 - d1, minlength=self.p)
        cost = self.near_cost[rows]
        mask = cost < d2[:, None]
        counts = mask.sum(axis=1)
        cols = self.near_idx[rows][mask]
        vals = cost[mask]
        rd1, rd2, slot = np.repeat(d1, counts), np.repeat(d2, counts), np.repeat(c1, counts)
        self.gain += sign * np.bincount(cols, weights=np.maximum(rd1 - vals, 0.0),
                                        minlength=self.m)
        keys = slot * self.m + cols
        contrib = rd2 - np.maximum(vals, rd1)
        flat = self.extra.reshape(-1)
        if len(keys) * 8 >= flat.size:
            flat += sign * np.bincount(keys, weights=contrib, minlength=flat.size)
        else:  # a swap touches few pairs: add them without a p x m temporary
            uniq, inv = np.unique(keys, return_inverse=True)
            flat[uniq] += sign * np.bincount(inv, weights=contrib, minlength=len(uniq))

    def swap(self, slot: int, site: int) -> int:
        old = int(self.slots[slot])
        lo, hi = self._col_ptr[site], self._col_ptr[site + 1]
        col_rows, col_cost = self._col_rows[lo:hi], self._col_cost[lo:hi]
        hit = (self.c1 == slot) | (self.c2 == slot)
        hit[col_rows[col_cost < self.d2[col_rows]]] = True
        rows = np.flatnonzero(hit)
        self._count(rows, -1.0)
        self.extra[slot] = 0.0
        self.loss[slot] = 0.0
        self.slots[slot] = site
        self.is_open[old], self.is_open[site] = False, True
        c1, d1, c2, d2 = self._closest(rows)
        self.c1[rows], self.d1[rows], self.c2[rows], self.d2[rows] = c1, d1, c2, d2
        self._count(rows, 1.0)
        self.swaps += 1
        if self.swaps % 1000 == 0:
            self.rebuild()
        return old


def true_assignment(lists: CandidateLists, open_: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(site per point, unit cost) with the real costs: the nearest open site in the list,
    else (coordinates known) the nearest open site of all (KD-tree), else -1 / inf."""
    n = lists.idx.shape[0]
    is_open = np.zeros(lists.m, dtype=bool)
    is_open[open_] = True
    ok = is_open[lists.idx]
    first = np.argmax(ok, axis=1)
    r = np.arange(n)
    has = ok[r, first]
    site = np.where(has, lists.idx[r, first], -1)
    unit = np.where(has, lists.cost[r, first], np.inf)
    miss = np.flatnonzero(~has)
    if len(miss) and lists.points is not None and lists.sites is not None:
        opened = np.sort(np.asarray(open_, dtype=np.int64))
        tree = cKDTree(search_space(lists.sites[opened], lists.metric))
        d, j = tree.query(search_space(lists.points[miss], lists.metric))
        site[miss] = opened[j]
        unit[miss] = _to_cost(np.asarray(d, dtype=float), lists.metric)
    return site, unit

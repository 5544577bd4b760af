"""Fast vertex interchange for median-type objectives (Resende & Werneck, 2003).

The objective is ``sum_i min_{j open} C[i, j] + sum_{j open} f_j`` on a dense, finite,
already weighted cost matrix ``C`` (n points x m candidate sites). Coverage problems
use the same engine on 0/1 costs, and fallbacks (competitors, unassigned penalties)
are folded into ``C`` as ``min(C, cap)`` before it arrives here, so the engine knows
nothing about them.

Bookkeeping per point ``i``: its closest open site (slot ``c1``, cost ``d1``) and the
second closest (``c2``, ``d2``; a virtual site costing the row maximum stands in when
fewer than two are open). Three arrays give the exact profit of every swap at once::

    gain[f]     = sum_i max(0, d1_i - C_if)                        (insert f)
    loss[s]     = sum_{i: c1_i = s} (d2_i - d1_i)                  (remove slot s)
    extra[s, f] = sum_{i: c1_i = s, C_if < d2_i} (d2_i - max(C_if, d1_i))
    profit(s -> f) = gain[f] - loss[s] + extra[s, f] + f_{site(s)} - f_f

After a swap only the points whose closest or second-closest site changed (those
served by the removed site, or closer to the new one than their second site) are
re-counted: their old contributions are subtracted and the new ones added. That is
what makes the interchange fast: no swap is evaluated by re-assigning all points.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

# Rows per block when (re)building contributions: block x m float64 stays ~16 MiB.
_BLOCK_ELEMENTS = 1 << 21


@dataclass
class SiteRules:
    """Location-side constraints the interchange must respect (all optional)."""

    fixed: np.ndarray  # bool (m,): always open (required sites)
    eligible: np.ndarray  # bool (m,): may be opened
    opening: np.ndarray | None = None  # (m,) opening cost, added to the objective
    budget: float | None = None  # sum of opening costs of open sites <= budget
    budget_cost: np.ndarray | None = None  # (m,) what the budget counts
    group: np.ndarray | None = None  # (m,) int group code (-1: no group)
    group_max: np.ndarray | None = None  # (n_groups,) max open sites per group

    def count_groups(self, slots: np.ndarray) -> np.ndarray | None:
        if self.group is None or self.group_max is None:
            return None
        g = self.group[slots]
        return np.bincount(g[g >= 0], minlength=len(self.group_max))


def neighbour_lists(costs: np.ndarray, width: int | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The ``width`` cheapest sites of every row, sorted by cost (ties by site index)."""
    n, m = costs.shape
    width = m if width is None else max(1, min(int(width), m))
    idx = np.empty((n, width), dtype=np.int32 if m < 2**31 else np.int64)
    val = np.empty((n, width))
    step = max(1, _BLOCK_ELEMENTS // max(m, 1))
    for s in range(0, n, step):
        block = costs[s:s + step]
        if width < m:
            part = np.argpartition(block, width - 1, axis=1)[:, :width]
            pv = np.take_along_axis(block, part, axis=1)
            order = np.argsort(pv, axis=1, kind="stable")
            idx[s:s + step] = np.take_along_axis(part, order, axis=1)
        else:
            idx[s:s + step] = np.argsort(block, axis=1, kind="stable")
        val[s:s + step] = np.take_along_axis(block, idx[s:s + step].astype(np.int64), axis=1)
    return idx, val


class SwapEngine:
    """Open set, closest/second-closest tables and swap profits for one cost matrix."""

    def __init__(self, costs: np.ndarray, rules: SiteRules, start: np.ndarray, *,
                 width: int | None = None) -> None:
        self.C = costs
        self.n, self.m = costs.shape
        self.rules = rules
        self.vmax = costs.max(axis=1)  # the virtual site every point can fall back on
        self.near_idx, self.near_cost = neighbour_lists(costs, width)
        self.window = int(max(16, 6 * self.m // max(len(start), 1)))
        self.slots = np.asarray(start, dtype=np.int64).copy()
        self.swaps = 0
        self.rebuild()

    # -- state -----------------------------------------------------------------------
    @property
    def p(self) -> int:
        return len(self.slots)

    @property
    def objective(self) -> float:
        total = float(self.d1.sum())
        if self.rules.opening is not None:
            total += float(self.rules.opening[self.slots].sum())
        return total

    def rebuild(self) -> None:
        """Recompute every table from scratch (also clears floating-point drift)."""
        self.is_open = np.zeros(self.m, dtype=bool)
        self.is_open[self.slots] = True
        rows = np.arange(self.n)
        self.c1, self.d1, self.c2, self.d2 = self._closest(rows)
        self.gain = np.zeros(self.m)
        self.loss = np.zeros(self.p)
        self.extra = np.zeros((self.p, self.m))
        step = max(1, _BLOCK_ELEMENTS // max(self.m, 1))
        for start in range(0, self.n, step):
            self._count(rows[start:start + step], 1.0)

    def _closest(self, rows: np.ndarray):
        sub = self.C[np.ix_(rows, self.slots)] if len(rows) < self.n else self.C[:, self.slots]
        vmax = self.vmax[rows]
        if self.p == 1:
            c1 = np.zeros(len(rows), dtype=np.int64)
            return c1, sub[:, 0].copy(), np.full(len(rows), -1), vmax.copy()
        two = np.argpartition(sub, 1, axis=1)[:, :2]
        a = np.take_along_axis(sub, two, axis=1)
        swap = a[:, 1] < a[:, 0]
        two[swap] = two[swap][:, ::-1]
        a[swap] = a[swap][:, ::-1]
        d2 = np.minimum(a[:, 1], vmax)
        c2 = np.where(a[:, 1] <= vmax, two[:, 1], -1)
        return two[:, 0].astype(np.int64), a[:, 0].copy(), c2.astype(np.int64), d2

    def _count(self, rows: np.ndarray, sign: float) -> None:
        """Add (sign=+1) or remove (-1) the contributions of ``rows`` to gain/loss/extra.

        Only sites cheaper than a point's second-closest cost contribute, and in the
        sorted neighbour list they form a prefix: those rows are counted sparsely.
        Rows whose prefix runs past the stored list width fall back to a dense pass.
        """
        if len(rows) == 0:
            return
        d1, d2, c1 = self.d1[rows], self.d2[rows], self.c1[rows]
        self.loss += sign * np.bincount(c1, weights=d2 - d1, minlength=self.p)
        width = self.near_cost.shape[1]
        # A short window first: most prefixes end early; longer ones take the full list,
        # and rows whose prefix runs past the list are counted densely.
        if self.window >= self.m // 2:
            # few open sites: prefixes are long and a dense pass is cheaper
            self._count_dense(rows, d1, d2, c1, sign)
            return
        window = min(width, self.window)
        long = d2 > self.near_cost[rows, window - 1]
        dense = long & (d2 > self.near_cost[rows, -1]) if width < self.m else \
            np.zeros(len(rows), bool)
        for part, span in ((np.flatnonzero(~long), window),
                           (np.flatnonzero(long & ~dense), width)):
            if len(part):
                self._count_sparse(rows[part], d1[part], d2[part], c1[part], span, sign)
        dense_rows = np.flatnonzero(dense)
        if len(dense_rows):
            self._count_dense(rows[dense_rows], d1[dense_rows], d2[dense_rows],
                              c1[dense_rows], sign)

    def _count_sparse(self, rows: np.ndarray, d1: np.ndarray, d2: np.ndarray, c1: np.ndarray,
                      span: int, sign: float) -> None:
        cost = self.near_cost[rows, :span]
        mask = cost < d2[:, None]
        keep = mask.any(axis=0)
        top = int(np.flatnonzero(keep)[-1]) + 1 if keep.any() else 0
        if top == 0:
            return
        cost, mask = cost[:, :top], mask[:, :top]
        cols = self.near_idx[rows, :top][mask].astype(np.int64)
        vals = cost[mask]
        counts = mask.sum(axis=1)
        rd1, rd2, slot = np.repeat(d1, counts), np.repeat(d2, counts), np.repeat(c1, counts)
        self.gain += sign * np.bincount(cols, weights=np.maximum(rd1 - vals, 0.0),
                                        minlength=self.m)
        # one bincount over flat (slot, site) keys: far faster than np.add.at
        flat = np.bincount(slot * self.m + cols, weights=rd2 - np.maximum(vals, rd1),
                           minlength=self.p * self.m)
        self.extra += sign * flat.reshape(self.p, self.m)

    def _count_dense(self, rows: np.ndarray, d1: np.ndarray, d2: np.ndarray, c1: np.ndarray,
                     sign: float) -> None:
        # rows sorted by slot, so each slot's rows are one contiguous block of the gather
        order = np.argsort(c1, kind="stable")
        rows, d1, d2, c1 = rows[order], d1[order], d2[order], c1[order]
        step = max(1, _BLOCK_ELEMENTS // max(self.m, 1))
        for s in range(0, len(rows), step):
            sl = slice(s, s + step)
            # t = d2 - C:  extra term = clip(t, 0, d2 - d1),  gain term = max(t - (d2 - d1), 0)
            t = self.C[rows[sl]]
            np.subtract(d2[sl, None], t, out=t)
            delta = (d2[sl] - d1[sl])[:, None]
            g = t - delta
            np.maximum(g, 0.0, out=g)
            self.gain += sign * g.sum(axis=0)
            np.minimum(t, delta, out=t)
            np.maximum(t, 0.0, out=t)
            keys = c1[sl]
            starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
            self.extra[keys[starts]] += sign * np.add.reduceat(t, starts, axis=0)

    # -- moves -------------------------------------------------------------------------
    def profits(self) -> np.ndarray:
        """Profit of every (slot, site) swap; -inf where a swap is not allowed."""
        r = self.rules
        prof = self.extra + self.gain[None, :]
        prof -= self.loss[:, None]
        if r.opening is not None:
            prof += r.opening[self.slots][:, None] - r.opening[None, :]
        prof[:, self.is_open | ~r.eligible] = -np.inf
        prof[r.fixed[self.slots], :] = -np.inf
        if r.budget is not None and r.budget_cost is not None:
            bc = r.budget_cost
            spent = bc[self.slots].sum()
            over = (spent - bc[self.slots])[:, None] + bc[None, :] > r.budget * (1 + 1e-12)
            prof[over] = -np.inf
        counts = r.count_groups(self.slots)
        if counts is not None:
            assert r.group is not None and r.group_max is not None  # counts says so
            gf = r.group
            room = np.zeros(self.m, dtype=bool)
            has = gf >= 0
            room[~has] = True
            room[has] = counts[gf[has]] < r.group_max[gf[has]]
            same = (gf[self.slots][:, None] == gf[None, :]) & has[None, :]
            prof[~(room[None, :] | same)] = -np.inf
        return prof

    def swap(self, slot: int, site: int) -> int:
        """Close the site in ``slot``, open ``site`` there; returns the closed site."""
        old = int(self.slots[slot])
        col = self.C[:, site]
        hit = (self.c1 == slot) | (self.c2 == slot) | (col < self.d2)
        rows = np.flatnonzero(hit)
        self._count(rows, -1.0)
        self.extra[slot] = 0.0  # every point served by the old site is in `rows`
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

    def local_search(self, deadline: float, log: list | None = None) -> int:
        """Best-improvement interchange until no swap gains; returns the number of swaps."""
        moves = 0
        while time.monotonic() < deadline:
            prof = self.profits()
            flat = int(np.argmax(prof))
            best = prof.flat[flat]
            if not np.isfinite(best) or best <= 1e-10 * max(1.0, abs(self.objective)):
                break
            slot, site = divmod(flat, self.m)
            old = self.swap(slot, site)
            if log is not None:
                log.append((slot, old))
            moves += 1
        return moves

    def snapshot(self) -> tuple:
        """Copies of the state, so a rejected VNS move is undone in O(n + p m)."""
        return (self.slots.copy(), self.is_open.copy(), self.c1.copy(), self.d1.copy(),
                self.c2.copy(), self.d2.copy(), self.gain.copy(), self.loss.copy(),
                self.extra.copy())

    def restore(self, state: tuple) -> None:
        (self.slots, self.is_open, self.c1, self.d1, self.c2, self.d2, self.gain, self.loss,
         self.extra) = (a.copy() for a in state)

    def movable_slots(self) -> np.ndarray:
        return np.flatnonzero(~self.rules.fixed[self.slots])


def vns(engine: SwapEngine, rng: np.random.Generator, deadline: float, *,
        max_iterations: int, patience: int, k_max: int | None = None,
        local_shake: float = 1.0, local_width: int = 8) -> dict:
    """Variable neighbourhood search (Hansen & Mladenovic; Kalcsics et al. step 3).

    Shake: ``k`` random interchanges of the best solution (with probability
    ``local_shake`` a site moves into its own territory: to one of the ``local_width``
    nearest sites of a random point it serves); descend with the fast interchange; keep
    the result if better (then ``k = 1``), else restore the saved state and try ``k + 1``.
    Stops at ``max_iterations``, after ``patience`` iterations without improvement, or
    at the deadline (a wall).
    """
    engine.local_search(deadline)
    best = engine.objective
    free = engine.movable_slots()
    closed_pool = np.flatnonzero(engine.rules.eligible)
    if len(free) == 0 or len(closed_pool) <= engine.p:
        return {"iterations": 0, "improvements": 0, "last_improvement": 0, "stopped_by": "no moves"}
    k_max = k_max or int(max(2, min(len(free), np.ceil(engine.p / 3) + 1)))
    k, it, since, improvements, stopped, last = 1, 0, 0, 0, "iterations", 0
    while True:
        if time.monotonic() >= deadline:
            stopped = "time_limit"
            break
        if it >= max_iterations:
            break
        if since >= patience:
            stopped = "no improvement"
            break
        it += 1
        saved = engine.snapshot()
        for _ in range(k):
            prof = engine.profits()
            slot = int(rng.choice(free))
            options = np.flatnonzero(np.isfinite(prof[slot]))
            if len(options) == 0:
                continue
            members = np.flatnonzero(engine.c1 == slot)
            if len(members) and rng.random() < local_shake:
                # Kalcsics et al.: move the site into its own territory (a random point's
                # nearest sites), which keeps the shake near good solutions
                near = engine.near_idx[int(rng.choice(members)), :local_width]
                near = near[np.isfinite(prof[slot, near])]
                if len(near):
                    options = near
            engine.swap(slot, int(rng.choice(options)))
        engine.local_search(deadline)
        value = engine.objective
        if value < best - 1e-10 * max(1.0, abs(best)):
            best, k, since = value, 1, 0
            improvements += 1
            last = it
        else:
            engine.restore(saved)
            k = k + 1 if k < k_max else 1
            since += 1
    if time.monotonic() < deadline:  # clears drift for the next round; past the wall the
        engine.rebuild()  # objective (exact d1) is all that is read
    return {"iterations": it, "improvements": improvements, "last_improvement": last,
            "stopped_by": stopped}

"""Boundary local search that keeps territories contiguous.

A move takes unit ``u`` from its territory ``a`` to an adjacent territory ``b``.
Every boundary move is scored at once with numpy; the best non-conflicting
moves (no territory touched twice in a round, ``u`` not an articulation point of
``a``) are applied, and rounds repeat until nothing improves.

Two phases, both strictly improving so both terminate:

1. *balance*: lexicographically reduce the tolerance violation ``V`` (how far
   territory totals lie outside their bounds), then the squared deviation from
   target ``Q`` (which lets load flow along chains of territories that are all
   inside their bounds), then cost;
2. *cost*: reduce ``sum w_j d_ij`` with moves that keep ``V`` from growing.

Totals are in units of each metric's target, so metrics of different scales
weigh alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from components.balance.contiguity import Territories
from components.balance.pairs import PairArray, absmax
from components.balance.relaxation import totals

if TYPE_CHECKING:
    from components.balance.clock import Clock

EPS = 1e-12
CHECK_EVERY = 1024  # candidate moves between deadline checks inside one round


def violation(s: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per-row sum over metrics of how far ``s`` lies outside ``[lo, hi]``."""
    return (np.maximum(s - hi, 0.0) + np.maximum(lo - s, 0.0)).sum(axis=-1)


def _deviation(s: np.ndarray, target: np.ndarray) -> np.ndarray:
    return ((s - target) ** 2).sum(axis=-1)


class LocalSearch:
    """Improve a contiguous assignment by boundary moves.

    Parameters
    ----------
    graph : csr adjacency of the units (symmetric).
    cost : (m, n) cost of unit j in territory i (weight x distance): a dense array or a
        :class:`~components.balance.pairs.PairArray` (the stored pairs only).
    load : (n, k) metrics divided by each metric's target.
    lo, hi, target : (m, k) bounds and target per territory, in target units.
    fixed : (n,) bool, units that may not move (locked units, centers).
    forbid : (m, n) bool (dense or a PairArray), assignments never to make (other region,
        too far), or None.
    """

    def __init__(self, graph: sp.csr_matrix, cost: np.ndarray | PairArray, load: np.ndarray,
                 lo: np.ndarray, hi: np.ndarray, target: np.ndarray,
                 fixed: np.ndarray, forbid: np.ndarray | PairArray | None = None) -> None:
        self.graph = graph
        self.forbid = forbid
        self.cost = cost
        self.load = load
        self.lo, self.hi, self.target = lo, hi, target
        self.fixed = fixed
        coo = sp.triu(graph, k=1).tocoo()
        # both directions: (u moves to v's territory) and (v moves to u's)
        self.src = np.concatenate([coo.row, coo.col]).astype(np.int64)
        self.dst = np.concatenate([coo.col, coo.row]).astype(np.int64)
        self.moves = 0
        # loop invariant, hoisted: the cost scale that makes "improves" relative
        self.cost_scale = max(absmax(cost), 1.0)

    def totals(self, labels: np.ndarray) -> np.ndarray:
        return totals(labels, self.load, self.cost.shape[0])

    def run(self, labels: np.ndarray, clock: Clock, max_rounds: int = 100_000) -> np.ndarray:
        """Descend from ``labels``. Every round strictly improves, so the loops end on
        their own; the round budgets and the clock (a cap) only cut them short."""
        state = Territories(self.graph, labels, self.cost.shape[0])
        sums = self.totals(state.labels)
        for _ in range(50):  # moves until stuck, then swaps unstick; repeat while it helps
            for _ in range(max_rounds):
                if clock.expired() or not self._round(state, sums, "balance", clock):
                    break
            if violation(sums, self.lo, self.hi).sum() <= EPS or clock.expired():
                break
            if not self._swap_round(state, sums, clock):
                break
        for _ in range(max_rounds):
            if clock.expired() or not self._round(state, sums, "cost", clock):
                break
        return state.labels

    def _swap_round(self, state: Territories, sums: np.ndarray,
                    clock: Clock | None = None) -> bool:
        """Exchange two boundary units between neighbouring territories when single moves
        are stuck: u goes a -> b and v goes b -> a in one step, which adjusts the totals
        by the difference of their sizes (fine steps a single move cannot take)."""
        labels = state.labels
        a_all, b_all = labels[self.src], labels[self.dst]
        ok = (a_all != b_all) & ~self.fixed[self.src]
        if self.forbid is not None:
            ok &= ~self.forbid[b_all, self.src]
        u, a, b = self.src[ok], a_all[ok], b_all[ok]
        if len(u) == 0:
            return False
        key = np.unique(np.c_[a, b, u], axis=0)
        a, b, u = key[:, 0], key[:, 1], key[:, 2]
        viol = violation(sums, self.lo, self.hi)
        order = np.argsort(-viol, kind="stable")
        touched = np.zeros(len(sums), dtype=bool)
        applied = 0
        pair_of: dict[tuple[int, int], list[int]] = {}
        for i, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
            pair_of.setdefault((x, y), []).append(i)
        for t in order.tolist():
            if clock is not None and clock.expired():
                break  # a round on a big map is long: the time limit may cut it
            if viol[t] <= EPS or touched[t]:
                continue
            best = None
            for (x, y), idx in pair_of.items():
                if t not in (x, y) or touched[x] or touched[y] or (y, x) not in pair_of:
                    continue
                us = u[idx]
                vs = u[pair_of[(y, x)]]
                wu, wv = self.load[us], self.load[vs]          # (p, k), (q, k)
                delta = wu[:, None, :] - wv[None, :, :]        # what moves x -> y
                sx, sy = sums[x] - delta, sums[y] + delta
                dv = (violation(sx, self.lo[x], self.hi[x]) + violation(sy, self.lo[y], self.hi[y])
                      - viol[x] - viol[y])
                dq = (_deviation(sx, self.target[x]) + _deviation(sy, self.target[y])
                      - _deviation(sums[x], self.target[x]) - _deviation(sums[y], self.target[y]))
                score = np.where(dv < -EPS, dv, np.inf)
                if not np.isfinite(score).any():
                    continue
                for flat in np.argsort(score, axis=None, kind="stable")[:8].tolist():
                    p, q = divmod(flat, len(vs))
                    if not np.isfinite(score[p, q]):
                        break
                    cand = (float(score[p, q]), float(dq[p, q]), int(us[p]), int(vs[q]), x, y)
                    if best is not None and cand[:2] >= best[:2]:
                        break
                    if self._swappable(state, *cand[2:]):
                        best = cand
                        break
            if best is not None:
                _, _, uu, vv, x, y = best
                state.move(uu, y)
                state.move(vv, x)
                sums[x] += self.load[vv] - self.load[uu]
                sums[y] += self.load[uu] - self.load[vv]
                touched[x] = touched[y] = True
                applied += 1
        self.moves += 2 * applied
        return applied > 0

    def kick(self, labels: np.ndarray, rng: np.random.Generator, n_moves: int) -> np.ndarray:
        """Random boundary moves that keep every territory connected (a perturbation)."""
        state = Territories(self.graph, labels, self.cost.shape[0])
        a_all, b_all = labels[self.src], labels[self.dst]
        ok = (a_all != b_all) & ~self.fixed[self.src]
        if self.forbid is not None:
            ok &= ~self.forbid[b_all, self.src]
        idx = np.flatnonzero(ok)
        rng.shuffle(idx)
        done = 0
        for e in idx.tolist():
            if done >= n_moves:
                break
            u, v = int(self.src[e]), int(self.dst[e])
            a, b = state.labels[u], state.labels[v]
            if a != b and state.removable(u):
                state.move(u, int(b))
                done += 1
        return state.labels

    @staticmethod
    def _swappable(state: Territories, u: int, v: int, x: int, y: int) -> bool:
        """u leaves x for y and v leaves y for x; both territories must stay connected."""
        nu, nv = state.neighbours(u), state.neighbours(v)
        lab = state.labels
        # each newcomer needs a neighbour in its new territory other than the leaver
        if not ((lab[nv] == x) & (nv != u)).any() or not ((lab[nu] == y) & (nu != v)).any():
            return False
        return state.removable(u) and state.removable(v)

    def _candidates(self, labels: np.ndarray, sums: np.ndarray, phase: str):
        a_all, b_all = labels[self.src], labels[self.dst]
        ok = (a_all != b_all) & ~self.fixed[self.src]
        u, a, b = self.src[ok], a_all[ok], b_all[ok]
        if len(u) == 0:
            return None
        # (unit, to) pairs may repeat (several neighbours in b); repeats are skipped below
        if self.forbid is not None:
            allowed = ~self.forbid[b, u]
            u, a, b = u[allowed], a[allowed], b[allowed]
            if len(u) == 0:
                return None
        w = self.load[u]
        sa, sb = sums[a], sums[b]
        sa2, sb2 = sa - w, sb + w
        dv = (violation(sa2, self.lo[a], self.hi[a]) + violation(sb2, self.lo[b], self.hi[b])
              - violation(sa, self.lo[a], self.hi[a]) - violation(sb, self.lo[b], self.hi[b]))
        dq = (_deviation(sa2, self.target[a]) + _deviation(sb2, self.target[b])
              - _deviation(sa, self.target[a]) - _deviation(sb, self.target[b]))
        dc = self.cost[b, u] - self.cost[a, u]
        scale = self.cost_scale
        order_keys: tuple[np.ndarray, ...]
        if phase == "balance":
            good = (dv < -EPS) | ((np.abs(dv) <= EPS) & (dq < -EPS))
            order_keys = (dc / scale, dq, dv)
        else:
            good = (dv <= EPS) & (dc < -EPS * scale)
            order_keys = (dq, dc)
        if not good.any():
            return None
        u, a, b, dv, dq, dc = u[good], a[good], b[good], dv[good], dq[good], dc[good]
        order = np.lexsort(tuple(k[good] for k in order_keys))
        return u[order], a[order], b[order]

    def _round(self, state: Territories, sums: np.ndarray, phase: str,
               clock: Clock | None = None) -> bool:
        """Apply every move of the (stale-ordered) candidate list that still improves.

        Deltas are re-evaluated exactly against the current totals before each move
        (plain floats: k is small), so a round can move many units in one territory.
        """
        cands = self._candidates(state.labels, sums, phase)
        if cands is None:
            return False
        us, as_, bs = (c.tolist() for c in cands)
        s = sums.tolist()
        lo, hi, tg = self.lo.tolist(), self.hi.tolist(), self.target.tolist()
        load = self.load
        cost = self.cost
        labels = state.labels
        k = load.shape[1]
        eps = EPS
        scale = EPS * self.cost_scale
        applied = 0
        for i, (u, a, b) in enumerate(zip(us, as_, bs, strict=True)):
            if clock is not None and i % CHECK_EVERY == CHECK_EVERY - 1 and clock.expired():
                break  # the moves applied so far stand; the time limit stopped the rest
            if labels[u] != a:
                continue
            w = load[u].tolist()
            sa, sb = s[a], s[b]
            la, ha, ta, lb, hb, tb = lo[a], hi[a], tg[a], lo[b], hi[b], tg[b]
            dv = dq = 0.0
            for j in range(k):
                xa, xb, ya, yb = sa[j], sb[j], sa[j] - w[j], sb[j] + w[j]
                dv += (max(ya - ha[j], 0.0) + max(la[j] - ya, 0.0) + max(yb - hb[j], 0.0)
                       + max(lb[j] - yb, 0.0) - max(xa - ha[j], 0.0) - max(la[j] - xa, 0.0)
                       - max(xb - hb[j], 0.0) - max(lb[j] - xb, 0.0))
                dq += ((ya - ta[j]) ** 2 + (yb - tb[j]) ** 2 - (xa - ta[j]) ** 2
                       - (xb - tb[j]) ** 2)
            if phase == "balance":
                if not (dv < -eps or (abs(dv) <= eps and dq < -eps)):
                    continue
            else:
                if dv > eps or float(cost[b, u] - cost[a, u]) >= -scale:
                    continue
            # earlier moves this round may have taken u's neighbours out of b
            if not (labels[state.neighbours(u)] == b).any() or not state.removable(u):
                continue
            state.move(u, b)
            for j in range(k):
                sa[j] -= w[j]
                sb[j] += w[j]
            applied += 1
        sums[:] = np.asarray(s)
        self.moves += applied
        return applied > 0

"""Costs of the territory-unit pairs for one set of centers, stored sparse.

Distances are searched only as far as a unit could sensibly go: three times the
99th percentile of the distance to the nearest center (or the max distance). Pairs
beyond that are not stored; a unit with none inside keeps its nearest center. So a
unit holds a dozen or two pairs on a map of any size, and memory is O(n x pairs per
unit) where it was O(m n) (1.8 GB at 100,000 units / 200 territories before).

For the bound, a pair beyond the search limit costs at least ``coef_j x limit``:
the floor that keeps every Lagrangian value valid for all pairs, stored or not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse.csgraph import dijkstra

from components.balance.lp import MAX_PAIRS
from components.balance.pairs import PairArray, Pairs
from components.errors import InfeasibleError, preview

# dense (m, n) arrays are built for HiGHS's LP only up to this many pairs (the LP's own
# restricted form goes this far); above it the subgradient works on the stored pairs alone
LP_DENSE = 4 * MAX_PAIRS
LP_SECONDS_PER_PAIR = 1e-5  # HiGHS LP time per column, conservative (measured 3-5 us)
CHUNK = 1 << 20  # distance entries per Dijkstra call: 8 MB of float64 at most


@dataclass
class PairCosts:
    pairs: Pairs
    dist: PairArray        # shortest-path distance (inf: beyond the search limit)
    base: PairArray        # objective cost of the pair
    cost: PairArray        # base plus disruption
    cost_f: PairArray      # cost plus a penalty where forbidden (what the search minimises)
    forbid: PairArray      # hard, or beyond the search limit
    hard: np.ndarray       # (pairs,) what the user forbids: regions, max distance, locks
    fix: np.ndarray        # (n,) territory a unit is fixed to (locks, centers), or -1
    coef: np.ndarray       # (n,) objective weight of a unit's distance
    limit: float           # the search limit
    regions: tuple[np.ndarray, np.ndarray] | None
    far_is_hard: bool      # every pair beyond the limit breaks the max distance
    moved_cost: np.ndarray | None = None
    current: np.ndarray | None = None

    @property
    def fixed(self) -> np.ndarray:
        return self.fix >= 0

    def hard_at(self, t: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Does pair (t, u) break a user's rule? Stored pairs from their flag; the others
        by the rules themselves (a unit beyond the search limit breaks nothing else)."""
        pos, found = self.pairs.find(t, u)
        rule = self.fix[u] >= 0
        rule = rule | self.far_is_hard
        if self.regions is not None:
            rule = rule | (self.regions[0][u] != self.regions[1][t])
        return np.where(found, self.hard[pos], rule)

    def pull(self, lam: np.ndarray, load: np.ndarray) -> np.ndarray:
        """``lambda_t . a_u`` for every stored pair."""
        t, u = self.pairs.t, self.pairs.u
        out = lam[t, 0] * load[u, 0] if lam.shape[1] else np.zeros(len(t))
        for q in range(1, lam.shape[1]):
            out += lam[t, q] * load[u, q]
        return out

    def reduced(self, lam: np.ndarray, load: np.ndarray) -> PairArray:
        return self.cost_f.with_values(self.cost_f.vals - self.pull(lam, load))

    def bound(self, lam: np.ndarray, load: np.ndarray, lo: np.ndarray, hi: np.ndarray,
              pull: np.ndarray | None = None) -> float:
        """``L(lambda)`` over every allowed pair, stored or not (weak duality: a lower
        bound on every assignment that breaks no rule, for any ``lambda``). Stored pairs
        beyond the limit and pairs not stored count at the limit's floor; metrics are
        >= 0, so ``a_u . max_t lambda_t`` bounds what any pair not stored can pull."""
        p = self.pairs
        pull = self.pull(lam, load) if pull is None else pull
        d = self.dist.vals
        low = np.where(np.isfinite(d), self.cost.vals,
                       self.coef[p.u] * self.limit + self.cost.vals - self.base.vals) - pull
        allowed = np.where(self.hard, np.inf, low)
        term, _ = p.row_min(allowed)
        counts = np.diff(p.indptr)
        far_ok = (counts < p.m) & (self.fix < 0) & (not self.far_is_hard)
        if far_ok.any():
            top = np.maximum(lam.max(axis=0), 0.0) if lam.size else np.zeros(0)
            floor = self.coef * self.limit - load @ top
            term = np.where(far_ok, np.minimum(term, floor), term)
        nowhere = ~np.isfinite(term)
        if nowhere.any():  # no allowed pair: such answers are violations; count the cheapest
            term[nowhere] = p.row_min(low)[0][nowhere]
        return float(term.sum() + np.where(lam > 0, lam * lo, lam * hi).sum())

    def dense(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Dense ``(cost, cost_f, forbid)`` as the LP wants them (small maps only)."""
        cost = self.base.dense()
        if self.moved_cost is not None and self.current is not None:
            m = self.pairs.m
            cost = cost + self.moved_cost[None, :] * (np.arange(m)[:, None]
                                                      != self.current[None, :])
        cost[self.pairs.t, self.pairs.u] = self.cost.vals
        forbid = self.forbid.dense()
        big = self.cost_f.default - self.base.default
        return cost, np.where(forbid, cost + big, cost), forbid


def _search(graph, ctr: np.ndarray, limit: float, n: int):
    """Finite distances within ``limit`` from each center, as (territory, unit, d)."""
    step = max(1, CHUNK // max(n, 1))
    ts, us, ds = [], [], []
    for s in range(0, len(ctr), step):
        d = dijkstra(graph, directed=False, indices=ctr[s:s + step], limit=max(limit, 1e-12))
        r, c = np.nonzero(np.isfinite(d))
        ts.append(r + s)
        us.append(c)
        ds.append(d[r, c])
    return np.concatenate(ts), np.concatenate(us), np.concatenate(ds)


def pair_costs(data: dict, ctr: np.ndarray, disruption_weight: float, objective: str,
               max_distance: float | None) -> PairCosts:
    graph, w = data["graph"], data["w"]
    m, n = len(ctr), len(w)
    nearest, _, source = dijkstra(graph, directed=False, indices=ctr, min_only=True,
                                  return_predecessors=True)
    finite = np.isfinite(nearest)
    reach = float(np.quantile(nearest[finite], 0.99)) if finite.any() else np.inf
    limit = 3.0 * reach
    if max_distance is not None:
        limit = min(limit, max_distance * 1.0001)
    t, u, d = _search(graph, ctr, limit, n)
    has = np.zeros(n, dtype=bool)
    has[u] = True
    stray = np.flatnonzero(finite & ~has)  # beyond the limit: the nearest center still
    if len(stray):
        where = np.searchsorted(np.sort(ctr), source[stray])
        t, u, d = (np.r_[t, np.argsort(ctr)[where]], np.r_[u, stray], np.r_[d, nearest[stray]])
    fix = data["locked"].copy()
    fix[ctr] = np.arange(m)
    fixed_units = np.flatnonzero(fix >= 0)
    own = ~np.isin(fixed_units * m + fix[fixed_units], u * m + t)
    t, u = np.r_[t, fix[fixed_units[own]]], np.r_[u, fixed_units[own]]
    d = np.r_[d, np.full(int(own.sum()), np.inf)]
    has[u] = True
    lonely = np.flatnonzero(~has)  # unreachable from every center
    t, u, d = np.r_[t, np.zeros(len(lonely), np.int64)], np.r_[u, lonely], \
        np.r_[d, np.full(len(lonely), np.inf)]
    pairs = Pairs(t, u, m, n)
    t, u, d = pairs.t, pairs.u, d[pairs.order]
    coef = w if objective == "compactness" else np.ones_like(w)
    base = coef[u] * d
    # hard: what the user forbids (regions, max distance, locks, centers)
    hard = np.zeros(len(t), dtype=bool)
    if data["regions"] is not None:
        unit_r, terr_r = data["regions"]
        hard |= unit_r[u] != terr_r[t]
    far_is_hard = max_distance is not None and limit >= max_distance
    if max_distance is not None:
        hard |= d > max_distance
        if far_is_hard:
            hard |= ~np.isfinite(d)
    hard |= (fix[u] >= 0) & (fix[u] != t)
    forbid = hard | ~np.isfinite(d)
    forbid[(fix[u] >= 0) & (fix[u] == t)] = False
    counts = np.diff(pairs.indptr)
    nowhere = np.minimum.reduceat(forbid.astype(np.int8), pairs.indptr[:-1]) == 1
    if nowhere.any() and data.get("all_fixed", True):
        bad = np.flatnonzero(nowhere)
        raise InfeasibleError(
            f"{len(bad)} unit(s) have no territory they may join (unreachable over the "
            "adjacency graph, outside every territory's region or beyond the max "
            f"distance), e.g. unit rows {preview(bad)}; relax the max distance, add edges "
            "or add a territory there")
    fin = np.isfinite(base)
    base_default = (max(float(base[fin].max()), 0.0) if fin.any() else 0.0) * 10 + 1.0
    base = np.where(fin, base, base_default)
    cost = base.copy()
    current, moved_cost = data["current"], None
    top = float(cost.max()) if len(cost) else 0.0
    if current is not None and disruption_weight > 0:
        # typical: the mean over units of the cheapest cost, a pair beyond the limit
        # counting 0 (as the dense arrays had it)
        low = np.minimum.reduceat(np.where(fin, base, 0.0), pairs.indptr[:-1])
        low = np.where(counts == m, low, 0.0)
        typical = float(np.mean(low)) + 1e-12
        moved_cost = disruption_weight * typical * (w / w.mean())
        cost += moved_cost[u] * (t != current[u])
        top = float(cost.max())
        absent = counts < m
        if absent.any():  # a pair not stored costs base_default, plus moving (mostly)
            top = max(top, base_default + float(moved_cost[absent].max()))
    elif (counts < m).any():
        top = max(top, base_default)
    big = top * 10 + 1.0
    cost_f = np.where(forbid, cost + big, cost)
    return PairCosts(
        pairs=pairs, dist=PairArray(pairs, d, np.inf), base=PairArray(pairs, base, base_default),
        cost=PairArray(pairs, cost, base_default), cost_f=PairArray(pairs, cost_f,
                                                                     base_default + big),
        forbid=PairArray(pairs, forbid, True), hard=hard, fix=fix, coef=coef, limit=limit,
        regions=data["regions"], far_is_hard=far_is_hard, moved_cost=moved_cost,
        current=current)

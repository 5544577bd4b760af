"""Load limits per site (min usage, max capacity) with single sourcing.

Two allocation rules, each with a location search around it:

* ``closest``: every point goes to its nearest open site (ties by site id), as in
  Kalcsics et al.; the open set alone decides the loads. The search is their VNS:
  Teitz-Bart interchange restricted to moves of a site to a point of its own
  territory (plus its nearest candidates), shaking ``k`` sites, and their
  acceptance rule: a new solution replaces the best when it violates the limits
  less, or both are feasible and it costs less.
* ``capacitated`` (no closest assignment): for an open set, a generalized-assignment
  heuristic: points in order of regret (second-cheapest minus cheapest feasible
  site) go to the cheapest site with room; under-used sites then pull the cheapest
  points from sites that can spare them; a shift pass moves single points to
  cheaper sites with room. Points that fit nowhere stay unassigned when allowed
  (reported), otherwise they overload their cheapest site and count as violation.

Both compare solutions by ``(violation, cost)``; violation is the total load above
capacities plus below minimums (in demand units).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import numpy as np


@dataclass
class Allocation:
    assign: np.ndarray  # site index per point, -1: left out
    loads: np.ndarray  # per site (m,)
    cost: float
    violation: float

    @property
    def key(self) -> tuple[float, float]:
        return (round(self.violation, 9), self.cost)


@dataclass
class LoadProblem:
    costs: np.ndarray  # weighted costs (n, m), finite
    allowed: np.ndarray  # bool (n, m): pair may be used (not forbidden / beyond max cost)
    demand: np.ndarray  # (n,) load each point brings
    lower: np.ndarray  # (m,) min load of an open site
    upper: np.ndarray  # (m,) max load
    rank: np.ndarray  # (m,) tie-break order (site id rank)
    out_cost: np.ndarray  # (n,) cost of leaving a point out (inf: not allowed)
    opening: np.ndarray | None = None

    @functools.cached_property
    def masked(self) -> np.ndarray:
        """Costs with ``inf`` where a pair is not allowed."""
        return np.where(self.allowed, self.costs, np.inf)

    def violation(self, loads: np.ndarray, open_idx: np.ndarray) -> float:
        lo = self.lower[open_idx]
        hi = self.upper[open_idx]
        ld = loads[open_idx]
        return float(np.maximum(ld - hi, 0).sum() + np.maximum(lo - ld, 0).sum())

    def total(self, assign: np.ndarray, open_idx: np.ndarray) -> float:
        served = assign >= 0
        cost = float(self.costs[np.flatnonzero(served), assign[served]].sum())
        cost += float(self.out_cost[~served].sum()) if (~served).any() else 0.0
        if self.opening is not None:
            cost += float(self.opening[open_idx].sum())
        return cost


def closest_allocation(prob: LoadProblem, open_idx: np.ndarray) -> Allocation:
    """Nearest open site per point (ties: lower rank); left out when no open site allowed.

    Called tens of thousands of times by the closest-assignment search, hence the
    cached masked matrix and the sums taken straight from the picked costs.
    """
    order = open_idx[np.argsort(prob.rank[open_idx], kind="stable")]
    sub = prob.masked[:, order]
    pick = np.argmin(sub, axis=1)
    best = sub[np.arange(len(sub)), pick]
    ok = np.isfinite(best)
    assign = np.where(ok, order[pick], -1)
    m = prob.costs.shape[1]
    if ok.all():
        loads = np.bincount(assign, weights=prob.demand, minlength=m)
        cost, lost = float(best.sum()), 0.0
    else:
        loads = np.bincount(assign[ok], weights=prob.demand[ok], minlength=m)
        cost = float(best[ok].sum() + prob.out_cost[~ok].sum())
        lost = _lost(prob, assign)
    if prob.opening is not None:
        cost += float(prob.opening[open_idx].sum())
    return Allocation(assign, loads, cost, prob.violation(loads, open_idx) + lost)


def _lost(prob: LoadProblem, assign: np.ndarray) -> float:
    """Demand that must be served but is not (counts as violation)."""
    must = ~np.isfinite(prob.out_cost) & (assign < 0)
    return float(prob.demand[must].sum())


def capacitated_allocation(prob: LoadProblem, open_idx: np.ndarray,
                           allow_out: bool) -> Allocation:
    """Generalized-assignment heuristic for one open set (see module doc)."""
    n, m = prob.costs.shape
    sites = np.asarray(open_idx)
    sub = np.where(prob.allowed[:, sites], prob.costs[:, sites], np.inf)
    cap = prob.upper[sites].astype(float).copy()
    low = prob.lower[sites].astype(float)
    dem = prob.demand
    load = np.zeros(len(sites))
    assign = -np.ones(n, dtype=np.int64)  # position in `sites`
    srt = np.sort(sub, axis=1)
    with np.errstate(invalid="ignore"):
        regret = (srt[:, 1] - srt[:, 0]) if len(sites) > 1 else np.zeros(n)
    regret = np.where(np.isfinite(regret), regret, 1e300)
    order = np.lexsort((-dem, -regret))
    pref = np.argsort(sub, axis=1, kind="stable")
    for i in order:
        for s in pref[i]:
            if not np.isfinite(sub[i, s]):
                break
            if load[s] + dem[i] <= cap[s] + 1e-9:
                assign[i] = s
                load[s] += dem[i]
                break
    left = np.flatnonzero(assign < 0)
    for i in left:  # nothing had room
        if allow_out and np.isfinite(prob.out_cost[i]):
            continue
        s = int(np.argmin(sub[i]))
        if np.isfinite(sub[i, s]):
            assign[i] = s
            load[s] += dem[i]
    _raise_minimums(sub, dem, low, cap, load, assign, allow_out, prob.out_cost)
    _shift(sub, dem, low, cap, load, assign)
    full = np.where(assign >= 0, sites[np.maximum(assign, 0)], -1)
    loads = np.zeros(m)
    loads[sites] = load
    return Allocation(full, loads, prob.total(full, sites),
                      prob.violation(loads, sites) + _lost(prob, full))


def _raise_minimums(sub, dem, low, cap, load, assign, allow_out, out_cost) -> None:
    for s in np.flatnonzero(load < low - 1e-9):
        while load[s] < low[s] - 1e-9:
            cur = assign
            donor_ok = np.where(cur >= 0, load[np.maximum(cur, 0)] - dem >= low[np.maximum(cur, 0)]
                                - 1e-9, True)
            cand = (cur != s) & donor_ok & np.isfinite(sub[:, s])
            if not allow_out:
                cand &= (cur >= 0) | ~np.isfinite(out_cost)
            if not cand.any():
                break
            now = np.where(cur >= 0, sub[np.arange(len(cur)), np.maximum(cur, 0)], out_cost)
            delta = np.where(cand, sub[:, s] - now, np.inf)
            i = int(np.argmin(delta))
            if cur[i] >= 0:
                load[cur[i]] -= dem[i]
            assign[i] = s
            load[s] += dem[i]


def _shift(sub, dem, low, cap, load, assign, passes: int = 3) -> None:
    n = len(assign)
    for _ in range(passes):
        moved = False
        cur_cost = np.where(assign >= 0, sub[np.arange(n), np.maximum(assign, 0)], np.inf)
        with np.errstate(invalid="ignore"):
            gain = cur_cost[:, None] - sub
        room = load[None, :] + dem[:, None] <= cap[None, :] + 1e-9
        keep_min = np.where(assign >= 0, load[np.maximum(assign, 0)] - dem
                            >= low[np.maximum(assign, 0)] - 1e-9, True)
        ok = room & keep_min[:, None] & (gain > 1e-12) & (assign[:, None] >= 0)
        if not ok.any():
            break
        gain = np.where(ok, gain, -np.inf)
        for i in np.argsort(-gain.max(axis=1))[: max(1, n // 4)]:
            s = int(np.argmax(gain[i]))
            if not np.isfinite(gain[i, s]):
                break
            a = assign[i]
            if load[s] + dem[i] > cap[s] + 1e-9 or load[a] - dem[i] < low[a] - 1e-9:
                continue
            if sub[i, s] >= sub[i, a]:
                continue
            load[a] -= dem[i]
            load[s] += dem[i]
            assign[i] = s
            moved = True
        if not moved:
            break


def closest_swap_keys(prob: LoadProblem, open_idx: np.ndarray, fixed: np.ndarray,
                      eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(violation, cost) after every swap ``slot s -> site f`` under closest assignment.

    Both (p, m); ``inf`` where the swap is not allowed (fixed slot, site open or not
    eligible). With ``s`` closed every point falls back to its nearest other open site
    (its first or second nearest, ties by rank); it moves to ``f`` when ``f`` is
    nearer. So the loads after the swap are the loads without ``s`` minus what each
    site loses to ``f``, and ``f`` gains exactly those points: tensors over (slots,
    points, candidate sites), in chunks of slots to bound memory. O(p^2 n m) in all, a
    millisecond or so on Kalcsics-sized instances.
    """
    n, m = prob.costs.shape
    sites = np.asarray(open_idx, dtype=np.int64)
    p = len(sites)
    viol = np.full((p, m), np.inf)
    cost = np.full((p, m), np.inf)
    cand = eligible.copy()
    cand[sites] = False
    movable = np.flatnonzero(~fixed[sites])
    if not cand.any() or not len(movable):
        return viol, cost
    cm, rank, dem = prob.masked, prob.rank, prob.demand
    must = ~np.isfinite(prob.out_cost)
    out = np.where(must, 0.0, prob.out_cost)
    cols = np.flatnonzero(cand)
    cf = cm[:, cols]  # (n, c)
    rc = rank[cols]
    rows = np.arange(n)
    sub = cm[:, sites]  # (n, p)
    srt = np.lexsort((np.broadcast_to(rank[sites], sub.shape), sub), axis=-1)
    i1 = srt[:, 0]
    d1 = sub[rows, i1]
    i2 = srt[:, 1] if p > 1 else np.zeros(n, dtype=np.int64)
    d2 = sub[rows, i2] if p > 1 else np.full(n, np.inf)
    big = np.iinfo(np.int64).max
    opening = prob.opening
    open_sum = 0.0 if opening is None else float(opening[sites].sum())
    lo, hi = prob.lower[sites], prob.upper[sites]
    chunk = max(1, 2_000_000 // max(n * len(cols), 1))
    for c0 in range(0, len(movable), chunk):
        ss = movable[c0:c0 + chunk]  # slots (positions) of this chunk
        first = i1[None, :] == ss[:, None]  # (k, n): s was the point's nearest
        dm = np.where(first, d2[None, :], d1[None, :])
        am = np.where(first, i2[None, :], i1[None, :])
        fin = np.isfinite(dm)
        ram = np.where(fin, rank[sites][am], big)
        moved = (cf[None] < dm[:, :, None]) | (
            (cf[None] == dm[:, :, None]) & fin[:, :, None] & (rc[None, None, :] < ram[:, :, None]))
        unit = np.where(moved, cf[None], dm[:, :, None])
        served = np.isfinite(unit)
        total = np.where(served, unit, out[None, :, None]).sum(axis=1)  # (k, c)
        lost = ((~served) & must[None, :, None]).astype(float).transpose(0, 2, 1) @ dem
        wm = moved * dem[None, :, None]  # (k, n, c)
        load_f = wm.sum(axis=1)
        onehot = (am[:, :, None] == np.arange(p)[None, None, :]) & fin[:, :, None]  # (k, n, p)
        base = np.einsum("kij,i->kj", onehot, dem)  # (k, p) loads without s
        loads = base[:, :, None] - np.einsum("kij,kic->kjc", onehot.astype(float), wm)
        over = np.maximum(loads - hi[None, :, None], 0) + np.maximum(lo[None, :, None] - loads, 0)
        over[np.arange(len(ss)), ss, :] = 0.0  # the closed slot carries nothing
        v = over.sum(axis=1) + np.maximum(load_f - prob.upper[cols], 0) \
            + np.maximum(prob.lower[cols] - load_f, 0) + lost
        viol[np.ix_(ss, cols)] = v
        extra = 0.0 if opening is None else opening[cols][None, :] - opening[sites[ss]][:, None]
        cost[np.ix_(ss, cols)] = total + open_sum + extra
    return viol, cost


def closest_descent(prob: LoadProblem, sol: np.ndarray, alloc: Allocation, fixed: np.ndarray,
                    eligible: np.ndarray, deadline: float, site_ok=None
                    ) -> tuple[np.ndarray, Allocation, int]:
    """Best-improvement swaps under closest assignment, by (violation, cost)."""
    moves = 0
    m = prob.costs.shape[1]
    while time.monotonic() < deadline:
        viol, cost = closest_swap_keys(prob, sol, fixed, eligible)
        cur_v, cur_c = round(alloc.violation, 9), alloc.cost
        v = np.round(viol, 9)
        tol = 1e-10 * max(1.0, abs(cur_c))
        better = (v < cur_v) | ((v == cur_v) & (cost < cur_c - tol))
        if not better.any():
            break
        flat = np.flatnonzero(better.ravel())
        order = flat[np.lexsort((cost.ravel()[flat], v.ravel()[flat]))]
        done = False
        for k in order[:64]:
            s, f = divmod(int(k), m)
            trial = sol.copy()
            trial[s] = f
            if site_ok is not None and not site_ok(trial):
                continue
            a = closest_allocation(prob, trial)
            if a.key < alloc.key:
                sol, alloc, done = trial, a, True
                moves += 1
                break
        if not done:
            break
    return sol, alloc, moves


def load_search(prob: LoadProblem, start: np.ndarray, fixed: np.ndarray, eligible: np.ndarray,
                rng: np.random.Generator, deadline: float, *, closest: bool, allow_out: bool,
                max_iterations: int, patience: int, neighbours: int = 12,
                site_ok=None) -> tuple[np.ndarray, Allocation, dict]:
    """VNS over open sets with the (violation, cost) acceptance rule."""
    def evaluate(open_idx: np.ndarray) -> Allocation:
        return (closest_allocation(prob, open_idx) if closest
                else capacitated_allocation(prob, open_idx, allow_out))

    m = prob.costs.shape[1]
    site_cost = prob.costs  # nearest candidates of a site: by the cost column similarity
    cur = np.asarray(start, dtype=np.int64).copy()
    cur_alloc = evaluate(cur)
    evals = 1

    def local_search(sol: np.ndarray, alloc: Allocation) -> tuple[np.ndarray, Allocation]:
        nonlocal evals
        improved = True
        while improved and time.monotonic() < deadline:
            improved = False
            if closest:
                # the whole swap neighbourhood, evaluated at once (best improvement);
                # the territory moves below (first improvement, random order) wander
                # more: the two together find more of the rare feasible sets
                sol, alloc, n_moves = closest_descent(prob, sol, alloc, fixed, eligible,
                                                      deadline, site_ok)
                evals += n_moves + 1
            for s in rng.permutation(len(sol)):
                if fixed[sol[s]]:
                    continue
                members = np.flatnonzero(alloc.assign == sol[s])
                # moves inside the territory: the sites best placed to serve its points
                # (Kalcsics et al. move a site to a unit of its own territory)
                moves: list[int] = []
                if len(members):
                    spread = site_cost[members].sum(axis=0)
                    moves = np.argsort(spread, kind="stable")[:neighbours].tolist()
                is_open = np.zeros(m, dtype=bool)
                is_open[sol] = True
                for f in moves:
                    if is_open[f] or not eligible[f]:
                        continue
                    trial = sol.copy()
                    trial[s] = f
                    if site_ok is not None and not site_ok(trial):
                        continue
                    a = evaluate(trial)
                    evals += 1
                    if a.key < alloc.key:
                        sol, alloc, improved = trial, a, True
                        break
                if time.monotonic() >= deadline:
                    break
        return sol, alloc

    cur, cur_alloc = local_search(cur, cur_alloc)
    best, best_alloc = cur.copy(), cur_alloc
    free = np.flatnonzero(~fixed[best])
    pool = np.flatnonzero(eligible)
    k_max = int(max(1, min(len(free), np.ceil(len(best) / 3) + 1)))
    k, it, since = 1, 0, 0
    stopped = "iterations"
    while len(free) and len(pool) > len(best):
        if time.monotonic() >= deadline:
            stopped = "time_limit"
            break
        if it >= max_iterations:
            break
        if since >= patience:
            stopped = "no improvement"
            break
        it += 1
        trial = best.copy()
        for s in rng.choice(free, size=min(k, len(free)), replace=False):
            options = np.setdiff1d(pool, trial)
            if len(options):
                trial[s] = int(rng.choice(options))
        if site_ok is not None and not site_ok(trial):
            since += 1
            continue
        sol, alloc = local_search(trial, evaluate(trial))
        evals += 1
        if alloc.key < best_alloc.key:
            best, best_alloc, k, since = sol, alloc, 1, 0
        else:
            k = k + 1 if k < k_max else 1
            since += 1
    return np.sort(best), best_alloc, {"iterations": it, "evaluations": evals,
                                       "stopped_by": stopped}

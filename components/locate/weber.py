"""Starting sites: the continuous multi-facility Weber problem, snapped to candidates.

Cooper's alternating method (Kalcsics et al., step 1): allocate every point to its
nearest center, move each center to the weighted geometric median of its points
(Weiszfeld steps, all clusters at once with ``bincount``), repeat until the
allocation no longer changes. Required sites are centers that never move. Each
free center then snaps to the nearest eligible candidate not taken yet.

Without coordinates (a bare cost matrix), a greedy start is used instead: open,
one at a time, the site that lowers the total cost most.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.spatial import cKDTree


def weber_start(points: np.ndarray, weights: np.ndarray, sites: np.ndarray, p: int,
                fixed: np.ndarray, eligible: np.ndarray, rng: np.random.Generator,
                *, rounds: int = 30, steps: int = 4,
                deadline: float | None = None) -> np.ndarray:
    """Indices of ``p`` sites: ``fixed`` ones plus snapped Weber centers."""
    fixed_idx = np.flatnonzero(fixed)
    free = p - len(fixed_idx)
    if free <= 0:
        return fixed_idx[:p]
    w = np.maximum(weights, 0.0) + 1e-12
    centers = np.vstack([sites[fixed_idx], _kmeanspp(points, w, free, rng,
                                                     sites[fixed_idx])])
    moving = np.arange(len(fixed_idx), len(centers))
    floor = 1e-9 * max(1.0, float(np.ptp(points, axis=0).max()))
    labels = None
    for r in range(rounds):
        if r >= 5 and deadline is not None and time.monotonic() >= deadline:
            break  # a start only: the interchange improves it, the limit is a wall
        _, new = cKDTree(centers).query(points)
        if labels is not None and np.array_equal(new, labels):
            break
        first = labels is None
        labels = new
        for step in range(steps):
            diff = points - centers[labels]
            dist = np.maximum(np.hypot(diff[:, 0], diff[:, 1]), floor)
            # The k-means++ seeds sit on data points, where a Weiszfeld step stalls
            # (weight / ~0): the first step is a plain weighted mean instead.
            coef = w if first and step == 0 else w / dist
            k = len(centers)
            den = np.bincount(labels, weights=coef, minlength=k)
            num_x = np.bincount(labels, weights=coef * points[:, 0], minlength=k)
            num_y = np.bincount(labels, weights=coef * points[:, 1], minlength=k)
            ok = den[moving] > 0
            mv = moving[ok]
            centers[mv, 0] = num_x[mv] / den[mv]
            centers[mv, 1] = num_y[mv] / den[mv]
    return snap(centers[moving], sites, fixed_idx, eligible, p)


def _kmeanspp(points: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator,
              seeds: np.ndarray) -> np.ndarray:
    """k-means++ seeding weighted by demand (deterministic for the generator)."""
    chosen = []
    if len(seeds):
        d2 = cKDTree(seeds).query(points)[0] ** 2
    else:
        first = rng.choice(len(points), p=w / w.sum())
        chosen.append(points[first])
        d2 = ((points - points[first]) ** 2).sum(axis=1)
    while len(chosen) < k:
        prob = w * d2
        total = prob.sum()
        nxt = rng.choice(len(points), p=prob / total) if total > 0 else rng.integers(len(points))
        chosen.append(points[nxt])
        d2 = np.minimum(d2, ((points - points[nxt]) ** 2).sum(axis=1))
    return np.array(chosen, dtype=float).reshape(k, 2)


def snap(centers: np.ndarray, sites: np.ndarray, fixed_idx: np.ndarray, eligible: np.ndarray,
         p: int) -> np.ndarray:
    """Each center to its nearest free eligible site (distinct sites, in center order)."""
    pool = np.flatnonzero(eligible & ~np.isin(np.arange(len(sites)), fixed_idx))
    taken = set(fixed_idx.tolist())
    out = list(fixed_idx)
    tree = cKDTree(sites[pool])
    kq = min(len(pool), max(8, 2 * len(centers)))
    _, near = tree.query(centers, k=kq)
    near = np.asarray(near).reshape(len(centers), -1)
    for c in range(len(centers)):
        for j in pool[near[c]]:
            if j not in taken:
                taken.add(int(j))
                out.append(int(j))
                break
        else:
            rest = [int(j) for j in pool if j not in taken]
            taken.add(rest[0])
            out.append(rest[0])
        if len(out) == p:
            break
    return np.asarray(out, dtype=np.int64)


def greedy_start(costs: np.ndarray, p: int, fixed: np.ndarray, eligible: np.ndarray,
                 opening: np.ndarray | None = None) -> np.ndarray:
    """Greedy adding: open the site with the largest cost reduction until ``p`` are open."""
    open_idx: list[int] = [int(j) for j in np.flatnonzero(fixed)]
    if open_idx:
        best = costs[:, open_idx].min(axis=1)
    else:
        best = costs.max(axis=1)
    allowed = eligible & ~fixed
    while len(open_idx) < p:
        step = max(1, (1 << 21) // max(costs.shape[1], 1))
        gain = np.zeros(costs.shape[1])
        for s in range(0, costs.shape[0], step):
            blk = best[s:s + step, None] - costs[s:s + step]
            gain += np.maximum(blk, 0.0).sum(axis=0)
        if opening is not None:
            gain -= opening
        gain[~allowed] = -np.inf
        j = int(np.argmax(gain))
        open_idx.append(j)
        allowed[j] = False
        best = np.minimum(best, costs[:, j])
    return np.asarray(open_idx, dtype=np.int64)

"""Territory centers: first placement (k-means++ / weighted k-means) and center seeking.

Center seeking (Hess & Samuels): after a solve, each free center moves to the unit
of its territory with the least weighted distance to the territory's units, among
a few units near its weighted centroid; the loop stops when no center moves.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.csgraph import dijkstra


def initial_centers(data: dict, given: np.ndarray, current: np.ndarray | None,
                    locked: np.ndarray, m: int, rng: np.random.Generator,
                    spread: bool = False) -> np.ndarray:
    coords, w = data["coords"], data["w"]
    n = len(w)
    ctr = given.copy()
    if (ctr >= 0).all():
        return ctr
    allowed_of = center_pool(data, m)
    chosen = set(ctr[ctr >= 0].tolist())
    for i in np.flatnonzero(ctr < 0):
        # seed at the weighted centroid of what the territory holds today, or its locks
        members = np.flatnonzero(locked == i)
        if not len(members) and current is not None:
            members = np.flatnonzero(current == i)
        members = members[allowed_of[i][members]] if len(members) else members
        members = np.array([j for j in members if j not in chosen], dtype=np.int64)
        if len(members):
            if spread:  # later starts: a random member (by weight), same territory
                j = int(rng.choice(members, p=w[members] / w[members].sum()))
            else:
                c = np.average(coords[members], axis=0, weights=w[members])
                j = int(members[np.argmin(((coords[members] - c) ** 2).sum(1))])
            ctr[i] = j
            chosen.add(j)
    if not chosen and data["regions"] is None and not (locked >= 0).any():
        return kmeans_centers(coords, w, m, rng)
    d2 = np.full(n, np.inf)
    for j in chosen:
        d2 = np.minimum(d2, ((coords - coords[j]) ** 2).sum(1))
    for i in np.flatnonzero(ctr < 0):  # weighted k-means++ for the rest
        p = w * (d2 if np.isfinite(d2).any() else np.ones_like(w))
        p = np.where(allowed_of[i] & (locked < 0), p, 0.0)
        p[list(chosen)] = 0.0
        if p.sum() <= 0:
            p = np.where(allowed_of[i], 1.0, 0.0)
            p[list(chosen)] = 0.0
        j = int(rng.choice(n, p=p / p.sum()))
        ctr[i] = j
        chosen.add(j)
        d2 = np.minimum(d2, ((coords - coords[j]) ** 2).sum(1))
    return ctr

def kmeans_centers(coords: np.ndarray, w: np.ndarray, m: int,
                    rng: np.random.Generator, rounds: int = 12) -> np.ndarray:
    """Weighted k-means (k-means++ seeding, Lloyd steps), snapped to distinct units."""
    from scipy.spatial import cKDTree

    n = len(w)
    first = int(rng.choice(n, p=w / w.sum()))
    seeds = [first]
    d2 = ((coords - coords[first]) ** 2).sum(1)
    for _ in range(m - 1):
        p = w * d2
        j = int(rng.choice(n, p=p / p.sum())) if p.sum() > 0 else int(rng.integers(n))
        seeds.append(j)
        d2 = np.minimum(d2, ((coords - coords[j]) ** 2).sum(1))
    mu = coords[seeds].astype(float)
    for _ in range(rounds):
        lab = cKDTree(mu).query(coords)[1]
        mass = np.bincount(lab, weights=w, minlength=m)
        sx = np.bincount(lab, weights=w * coords[:, 0], minlength=m)
        sy = np.bincount(lab, weights=w * coords[:, 1], minlength=m)
        keep = mass > 0
        mu[keep] = np.c_[sx[keep] / mass[keep], sy[keep] / mass[keep]]
    # snap each mean to its nearest unit, distinct units in order of weight
    tree = cKDTree(coords)
    out = np.full(m, -1)
    taken: set[int] = set()
    for i in np.argsort(-np.bincount(cKDTree(mu).query(coords)[1], weights=w, minlength=m),
                        kind="stable"):
        for j in np.atleast_1d(tree.query(mu[i], k=min(n, 32))[1]):
            if int(j) not in taken:
                out[i] = int(j)
                taken.add(int(j))
                break
    return out

def center_pool(data: dict, m: int) -> list[np.ndarray]:
    n = len(data["w"])
    if data["regions"] is None:
        return [np.ones(n, dtype=bool)] * m
    unit_r, terr_r = data["regions"]
    return [unit_r == terr_r[i] for i in range(m)]

def move_centers(data: dict, labels: np.ndarray, ctr: np.ndarray,
                  free: np.ndarray) -> np.ndarray:
    """Each free center moves to the best of a few units near its weighted centroid."""
    graph, coords, w, locked = data["graph"], data["coords"], data["w"], data["locked"]
    out = ctr.copy()
    cand_of: dict[int, np.ndarray] = {}
    for i in (int(t) for t in np.flatnonzero(free)):
        members = np.flatnonzero((labels == i) & ((locked < 0) | (locked == i)))
        if not len(members):
            continue
        c = np.average(coords[members], axis=0, weights=w[members])
        near = members[np.argsort(((coords[members] - c) ** 2).sum(1), kind="stable")[:4]]
        if data.get("max_distance") is not None:
            # also the middle of the territory's extent, which shortens the longest trip
            mid = (coords[members].min(axis=0) + coords[members].max(axis=0)) / 2
            near = np.r_[near, members[np.argmin(((coords[members] - mid) ** 2).sum(1))]]
        cand_of[i] = np.unique(np.r_[near, ctr[i]])
    if not cand_of:
        return out
    limit = data.get("max_distance")
    for i, cands in cand_of.items():
        # distances inside the territory: small graphs, and the paths a rep would use
        rows = np.flatnonzero(labels == i)
        sub = graph[rows][:, rows]
        local = np.searchsorted(rows, cands)
        dist = dijkstra(sub, directed=False, indices=local)
        scores = []
        for r, c in enumerate(cands):
            d = dist[r]
            if not np.isfinite(d).all():  # territory split (should not happen): skip
                scores.append((len(d), np.inf) if c != ctr[i] else (len(d) - 1, np.inf))
                continue
            too_far = int((d > limit).sum()) if limit is not None else 0
            scores.append((too_far, float((w[rows] * d).sum())))
        best = min(range(len(cands)), key=scores.__getitem__)
        # keep the old center on ties, so the loop settles
        old = scores[list(cands).index(ctr[i])]
        if scores[best][0] < old[0] or (scores[best][0] == old[0]
                                        and scores[best][1] < old[1] - 1e-12):
            out[i] = cands[best]
    return out

"""Backup coverage (``max_backup_coverage``): Hogan & ReVelle's BACOP2 (1986).

With ``a_ij = 1`` when site ``j`` is within the radius of point ``i`` and a share
``beta`` given to the second cover::

    max  (1 - beta) sum_i w_i x_i + beta sum_i w_i u_i
    s.t. x_i + u_i <= sum_j a_ij y_j,   u_i <= x_i,   sum_j y_j = p,  y_r = 1 (required)
         x, u, y binary

``x_i``: point covered at least once, ``u_i``: covered at least twice (a second site in
reach when the first is busy or closed). Search: greedy adding, then best-improvement
swaps on the score (vectorised over every candidate), a budget in passes. HiGHS solves
the model on small instances; its proven (dual) bound is the reported bound, never its
incumbent.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint


def score(counts: np.ndarray, w: np.ndarray, beta: float) -> float:
    return float(w @ ((1 - beta) * (counts >= 1) + beta * (counts >= 2)))


def _all_adds(counts: np.ndarray, a: np.ndarray, w: np.ndarray, beta: float) -> np.ndarray:
    """Score of S + j for every column j (``a`` float 0/1, n x m)."""
    once = (counts == 0).astype(float) * w  # gains the first cover
    twice = (counts == 1).astype(float) * w  # gains the second
    base = score(counts, w, beta)
    return base + (1 - beta) * (once @ a) + beta * (twice @ a)


def search(a: np.ndarray, w: np.ndarray, beta: float, p: int, fixed: np.ndarray,
           eligible: np.ndarray, deadline: float, max_passes: int = 50):
    chosen: list[int] = [int(j) for j in np.flatnonzero(fixed)]
    free = eligible & ~fixed
    counts = a[:, chosen].sum(axis=1) if chosen else np.zeros(a.shape[0])
    while len(chosen) < p:
        val = _all_adds(counts, a, w, beta)
        val[~free] = -np.inf
        j = int(np.argmax(val))
        if not np.isfinite(val[j]):
            break
        chosen.append(j)
        free[j] = False
        counts = counts + a[:, j]
    open_idx = np.asarray(chosen, dtype=np.int64)
    best = score(counts, w, beta)
    passes = swaps = 0
    while passes < max_passes and time.monotonic() < deadline:
        passes += 1
        move = None
        for k, s in enumerate(open_idx):
            if fixed[s]:
                continue
            val = _all_adds(counts - a[:, s], a, w, beta)
            val[~(eligible & ~fixed)] = -np.inf
            val[open_idx] = -np.inf
            j = int(np.argmax(val))
            if val[j] > best + 1e-12 * max(1.0, best) and (move is None or val[j] > move[2]):
                move = (k, j, float(val[j]))
        if move is None:
            break
        k, j, best = move
        counts = counts - a[:, open_idx[k]] + a[:, j]
        open_idx[k] = j
        swaps += 1
    return np.sort(open_idx), best, {"passes": passes, "swaps": swaps}


def exact(a: np.ndarray, w: np.ndarray, beta: float, p: int, fixed: np.ndarray,
          eligible: np.ndarray, time_limit: float):
    """(proven upper bound or None, sites or None, status) from HiGHS on BACOP2."""
    from components.highs import milp_walled

    n = a.shape[0]
    sites = np.flatnonzero(eligible | fixed)
    ny = len(sites)
    eye = sp.eye(n, format="csr")
    cover = sp.hstack([eye, eye, sp.csr_matrix(-a[:, sites])]).tocsr()  # x + u - sum a y <= 0
    order = sp.hstack([-eye, eye, sp.csr_matrix((n, ny))]).tocsr()  # u - x <= 0
    count = sp.csr_matrix(np.r_[np.zeros(2 * n), np.ones(ny)][None, :])
    lb = np.zeros(2 * n + ny)
    lb[2 * n:][fixed[sites]] = 1.0
    res = milp_walled(-np.r_[(1 - beta) * w, beta * w, np.zeros(ny)],
                      integrality=np.ones(2 * n + ny), bounds=Bounds(lb, 1.0),
                      constraints=[LinearConstraint(cover, -np.inf, 0),
                                   LinearConstraint(order, -np.inf, 0),
                                   LinearConstraint(count, p, p)],
                      wall=max(time_limit, 0.05), options={"mip_rel_gap": 1e-9, "disp": False})
    if res is None:
        return None, None, "time_limit"
    status = {0: "optimal", 1: "time_limit", 2: "infeasible"}.get(res.status, "error")
    dual = res.mip_dual_bound if res.status in (0, 1) else None
    bound = -float(dual) if dual is not None and np.isfinite(dual) else None
    got = sites[res.x[2 * n:] > 0.5] if res.x is not None else None
    return bound, got, status


def max_backup(a: np.ndarray, w: np.ndarray, beta: float, p: int, fixed: np.ndarray,
               eligible: np.ndarray, deadline: float, use_exact: bool):
    """(open sites, score, proven upper bound, stats)."""
    opened, value, st = search(a, w, beta, p, fixed, eligible, deadline)
    stats: dict = {"search": st}
    # every point covered twice by some p sites is the most one can hope for
    reach = a[:, eligible | fixed].sum(axis=1)
    upper = float(w @ ((1 - beta) * (reach >= 1) + beta * ((reach >= 2) & (p >= 2))))
    if use_exact and time.monotonic() < deadline:
        bound, got, status = exact(a, w, beta, p, fixed, eligible, deadline - time.monotonic())
        stats["exact_status"] = status
        if bound is not None:
            upper = min(upper, bound)
        if got is not None and len(got) == p:
            v = score(a[:, got].sum(axis=1), w, beta)
            if v > value:
                opened, value = np.sort(got), v
    return opened, value, max(upper, value), stats

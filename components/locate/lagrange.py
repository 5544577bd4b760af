"""Lagrangian lower bound for the p-median problem, and site fixing from it.

Relax ``sum_j x_ij = 1`` with multipliers ``u_i`` (Beasley 1993)::

    L(u) = sum_i u_i + min_{y: sum y = p, y_r = 1 (required)} sum_j y_j rho_j,
    rho_j = f_j + sum_i min(0, C_ij - u_i)

``L(u)`` is a lower bound for every ``u``; subgradient ascent
``u += t (1 - sum_j x_ij)`` with Polyak steps ``t = lam (UB - L) / ||g||^2`` raises it,
halving ``lam`` when the bound stalls. Budget and group limits are relaxed too
(dropping constraints keeps the bound valid).

Only sites cheaper than ``u_i`` contribute to ``rho``; they are a prefix of each
row's sorted neighbour list, so a list of width ``K`` is exact as long as
``u_i <= C_i,(K)`` (the K-th cheapest cost). Capping ``u_i`` there is allowed (any
``u`` gives a valid bound) and keeps the 10,000 x 2,000 case at ``O(n K)`` per step.

Fixing: with the best ``u``, forcing a site open (or closed) gives the bound
``L_j``; when ``L_j >= UB`` no solution better than the incumbent has that site
open (closed), so the exact model can drop (fix) it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


@dataclass
class LagrangianBound:
    bound: float
    u: np.ndarray
    rho: np.ndarray
    chosen: np.ndarray  # sites open in the best relaxed solution
    iterations: int
    stopped_by: str


def lagrangian_bound(near_idx: np.ndarray, near_cost: np.ndarray, m: int, p: int,
                     fixed: np.ndarray, eligible: np.ndarray, upper: float,
                     start_u: np.ndarray, *, opening: np.ndarray | None = None,
                     deadline: float, max_iterations: int = 600,
                     target_gap: float = 1e-9, costs: np.ndarray | None = None,
                     stall: int = 20, min_step: float = 2e-3,
                     progress: float = 1e-4, min_iterations: int = 0) -> LagrangianBound:
    """Best ``L(u)`` found by subgradient ascent from ``start_u``.

    ``costs`` (the dense matrix the lists come from) makes each step cheaper: with a
    full-width list ``rho`` is two dense passes over it instead of masked gathers, and
    the subgradient only needs the ``p`` chosen columns. The step factor halves after
    ``stall`` steps without a better bound; the ascent stops once it falls below
    ``min_step`` or when 100 steps raise the bound by less than ``progress`` x UB (the
    bound has stalled), at the gap target, or at the deadline (after ``min_iterations``
    steps: a few O(n K) steps give a real bound when the search used up the time).
    """
    n, width = near_cost.shape
    cap = near_cost[:, -1] if width < m else np.full(n, np.inf)
    u = np.minimum(start_u.astype(float), cap)
    base = np.zeros(m) if opening is None else opening.astype(float)
    banned = ~eligible & ~fixed
    n_fixed = int(fixed.sum())
    best = LagrangianBound(-np.inf, u.copy(), base.copy(), np.flatnonzero(fixed), 0, "")
    lam, stalled, it, stopped = 2.0, 0, 0, "iterations"
    checkpoint = -np.inf
    dense = costs is not None and width >= m
    flat_idx = None if dense else near_idx.astype(np.int64)
    buf = np.empty((n, m)) if dense else None
    while it < max_iterations:
        if it >= min_iterations and time.monotonic() >= deadline:
            stopped = "time_limit"
            break
        it += 1
        if dense:
            assert costs is not None and buf is not None  # dense means both exist
            np.subtract(costs, u[:, None], out=buf)
            np.minimum(buf, 0.0, out=buf)
            rho = base + buf.sum(axis=0)
        else:
            assert flat_idx is not None  # the lists path
            below = near_cost < u[:, None]
            rho = base + np.bincount(flat_idx[below], weights=(near_cost - u[:, None])[below],
                                     minlength=m)
        chosen = _choose(rho, p, fixed, banned, n_fixed)
        value = float(u.sum() + rho[chosen].sum())
        if value > best.bound + 1e-12 * abs(value):
            best = LagrangianBound(value, u.copy(), rho, chosen, it, "")
            stalled = 0
        else:
            stalled += 1
            if stalled >= stall:
                lam, stalled = lam / 2, 0
        if upper - best.bound <= target_gap * max(1.0, abs(upper)):
            stopped = "gap closed"
            break
        if lam < min_step:
            stopped = "bound stalled"
            break
        if it % 100 == 0:
            # slow progress: the last 100 steps raised the bound by < progress x UB
            if best.bound - checkpoint < progress * max(1.0, abs(upper)):
                stopped = "bound stalled"
                break
            checkpoint = best.bound
        if costs is not None:
            served = (costs[:, chosen] < u[:, None]).sum(axis=1)
        else:
            is_open = np.zeros(m, dtype=bool)
            is_open[chosen] = True
            served = (below & is_open[flat_idx]).sum(axis=1)
        g = 1.0 - served
        norm = float(g @ g)
        if norm == 0:
            stopped = "relaxation feasible"
            break
        u = np.minimum(u + lam * max(upper - value, 1e-9 * abs(upper)) / norm * g, cap)
    best.iterations, best.stopped_by = it, stopped
    return best


def _choose(rho: np.ndarray, p: int, fixed: np.ndarray, banned: np.ndarray,
            n_fixed: int) -> np.ndarray:
    free = np.flatnonzero(~fixed & ~banned)
    k = p - n_fixed
    if k <= 0:
        return np.flatnonzero(fixed)
    part = free[np.argpartition(rho[free], k - 1)[:k]] if k < len(free) else free
    return np.concatenate([np.flatnonzero(fixed), part])


def fix_sites(lb: LagrangianBound, p: int, fixed: np.ndarray, eligible: np.ndarray,
              upper: float) -> tuple[np.ndarray, np.ndarray]:
    """(closed, opened): sites no better-than-``upper`` solution opens / leaves closed."""
    m = len(lb.rho)
    rho = lb.rho
    free = np.flatnonzero(eligible & ~fixed)
    k = p - int(fixed.sum())
    closed = ~eligible & ~fixed
    opened = fixed.copy()
    if k <= 0 or k >= len(free):
        return closed, opened
    order = free[np.argsort(rho[free], kind="stable")]
    kth, next_ = rho[order[k - 1]], rho[order[k]]
    in_sol = np.zeros(m, dtype=bool)
    in_sol[order[:k]] = True
    tol = 1e-9 * max(1.0, abs(upper))
    out = np.zeros(m, dtype=bool)
    out[free] = True
    # forcing j open replaces the k-th chosen site; forcing j closed brings in the next
    closed |= out & ~in_sol & (lb.bound - kth + rho >= upper - tol)
    opened |= in_sol & (lb.bound - rho + next_ >= upper - tol)
    return closed, opened

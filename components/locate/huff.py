"""Market share under the Huff gravity model (``max_market_share``, ``target_market_share``).

A customer at point ``i`` (buying power ``w_i``) visits store ``j`` with probability

    P_ij = u_ij / (sum_{k in S} u_ik + C_i),    u_ij = A_j f(d_ij)

over our open stores ``S`` and the competitors (``C_i = sum_c A_c f(d_ic)``), with the
distance decay ``f(d) = d^-lambda`` (power) or ``exp(-beta d)`` (exponential), and
``f = 0`` beyond the impedance cutoff (a store that far is not considered). Distances
are floored at ``floor`` (a small share of the median positive cost) so that a store on
a customer's own point is very attractive rather than infinitely so.

Our captured demand ``F(S) = sum_i w_i U_i / (U_i + C_i)`` (``U_i = sum_{j in S} u_ij``)
is monotone and submodular in S. Search: greedy adding, then best-improvement swaps
(every open site against every candidate, vectorised), a budget in passes.

Bound (the exact model, small instances): ``g_i(U) = U / (U + C_i)`` is concave, so its
tangents lie above it. The MILP

    max  sum_i w_i z_i
    s.t. z_i <= g_i(U^k) + g_i'(U^k) (sum_j u_ij y_j - U^k)   for breakpoints U^k
         z_i <= 1,  sum_j y_j = p,  y_r = 1 (required),  y binary

over-estimates F, so its proven (dual) bound is a valid upper bound on the best share.
Each round adds tangents at the solution's own U (outer approximation, Haase & Müller
2014); it stops when the model's value meets the true value of its solution (optimal)
or the time limit comes. A point with no competitor in reach (``C_i = 0``) is captured
whole by any store of ours in reach: ``z_i <= sum_{j: u_ij > 0} y_j``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint

DECAYS = ("power", "exponential")


def utilities(d: np.ndarray, attract: np.ndarray, decay: str, rate: float,
              cutoff: float | None, floor: float) -> np.ndarray:
    """u = A f(d), 0 where the pair is not allowed (inf) or beyond the cutoff."""
    ok = np.isfinite(d)
    if cutoff is not None:
        ok &= d <= cutoff
    dd = np.where(ok, np.maximum(d, floor), 1.0)
    f = dd ** (-rate) if decay == "power" else np.exp(-rate * dd)
    return np.where(ok, f * attract[None, :], 0.0)


def floor_of(d: np.ndarray) -> float:
    pos = d[np.isfinite(d) & (d > 0)]
    return 1e-3 * float(np.median(pos)) if pos.size else 1e-9


def captured(u: np.ndarray, comp: np.ndarray, w: np.ndarray, open_idx) -> float:
    U = u[:, open_idx].sum(axis=1)
    den = U + comp
    return float((w * np.divide(U, den, out=np.zeros_like(U), where=den > 0)).sum())


@dataclass
class ShareResult:
    open: np.ndarray
    captured: float
    upper: float  # proven upper bound on the captured demand
    stats: dict = field(default_factory=dict)


def _gain_all(U: np.ndarray, u: np.ndarray, comp: np.ndarray, w: np.ndarray) -> np.ndarray:
    """F(S + j) for every column j, given U of S."""
    num = U[:, None] + u
    den = num + comp[:, None]
    return (w[:, None] * np.divide(num, den, out=np.zeros_like(num), where=den > 0)).sum(axis=0)


def search(u: np.ndarray, comp: np.ndarray, w: np.ndarray, p: int, fixed: np.ndarray,
           eligible: np.ndarray, deadline: float, max_passes: int = 50) -> tuple[np.ndarray, dict]:
    """Greedy adding, then best-improvement swaps; budget in passes, time a cap."""
    chosen: list[int] = [int(j) for j in np.flatnonzero(fixed)]
    free = eligible & ~fixed
    U = u[:, chosen].sum(axis=1) if chosen else np.zeros(u.shape[0])
    while len(chosen) < p:
        val = _gain_all(U, u, comp, w)
        val[~free] = -np.inf
        j = int(np.argmax(val))
        if not np.isfinite(val[j]):
            break
        chosen.append(j)
        free[j] = False
        U = U + u[:, j]
    chosen_arr = np.asarray(chosen, dtype=np.int64)
    best = captured(u, comp, w, chosen_arr)
    passes = swaps = 0
    while passes < max_passes and time.monotonic() < deadline:
        passes += 1
        move = None
        for k, s in enumerate(chosen_arr):
            if fixed[s]:
                continue
            val = _gain_all(U - u[:, s], u, comp, w)
            val[~(eligible & ~fixed)] = -np.inf
            val[chosen_arr] = -np.inf
            j = int(np.argmax(val))
            if val[j] > best * (1 + 1e-12) + 1e-12 and (move is None or val[j] > move[2]):
                move = (k, j, float(val[j]))
        if move is None:
            break
        k, j, best = move
        U = U - u[:, chosen_arr[k]] + u[:, j]
        chosen_arr[k] = j
        swaps += 1
    return np.sort(chosen_arr), {"passes": passes, "swaps": swaps}


def upper_bound(u: np.ndarray, comp: np.ndarray, w: np.ndarray, p: int, fixed: np.ndarray,
                eligible: np.ndarray, start: np.ndarray, deadline: float,
                max_rounds: int = 8) -> tuple[float, np.ndarray | None, dict]:
    """Outer-approximation MILP (HiGHS): (proven upper bound, best sites it found, stats)."""
    from components.highs import milp_walled

    n = u.shape[0]
    sites = np.flatnonzero(eligible | fixed)
    us = u[:, sites]
    ny = len(sites)
    whole = comp <= 0  # no competitor in reach: any store of ours in reach takes it all
    # breakpoints per point: nothing open, each single store, the start solution, all open
    points = [np.zeros(n), us.sum(axis=1), u[:, start].sum(axis=1)]
    points += [us[:, j] for j in np.argsort(-(w @ us))[:min(ny, 8)]]
    bound, best_open, rounds, status = np.inf, None, 0, "time_limit"
    while rounds < max_rounds and time.monotonic() < deadline:
        rounds += 1
        rows, lo_rhs = [], []
        for U0 in points:
            den = U0 + comp
            g = np.divide(U0, den, out=np.zeros(n), where=den > 0)
            slope = np.divide(comp, den ** 2, out=np.zeros(n), where=den > 0)
            # z_i - slope_i * sum_j u_ij y_j <= g_i - slope_i U0_i
            keep = ~whole
            a = sp.hstack([sp.eye(n, format="csr")[keep],
                           sp.csr_matrix(-slope[keep, None] * us[keep])])
            rows.append(a)
            lo_rhs.append(g[keep] - slope[keep] * U0[keep])
        if whole.any():
            reach = (us[whole] > 0).astype(float)
            rows.append(sp.hstack([sp.eye(n, format="csr")[whole], sp.csr_matrix(-reach)]))
            lo_rhs.append(np.zeros(int(whole.sum())))
        a = sp.vstack(rows).tocsr()
        cons = [LinearConstraint(a, -np.inf, np.concatenate(lo_rhs)),
                LinearConstraint(sp.csr_matrix(np.r_[np.zeros(n), np.ones(ny)][None, :]), p, p)]
        lb = np.zeros(n + ny)
        lb[n:][fixed[sites]] = 1.0
        res = milp_walled(-np.r_[w, np.zeros(ny)], integrality=np.r_[np.zeros(n), np.ones(ny)],
                          bounds=Bounds(lb, np.ones(n + ny)), constraints=cons,
                          wall=max(deadline - time.monotonic(), 0.05),
                          options={"mip_rel_gap": 1e-7, "disp": False})
        if res is None:
            break
        dual = res.mip_dual_bound if res.status in (0, 1) else None
        if dual is not None and np.isfinite(dual):  # never the incumbent: the proven bound
            bound = min(bound, -float(dual))
        if res.x is None:
            status = {1: "time_limit", 2: "infeasible"}.get(res.status, "error")
            break
        y = res.x[n:] > 0.5
        got = sites[y]
        true = captured(u, comp, w, got)
        if best_open is None or true > captured(u, comp, w, best_open):
            best_open = got
        if res.status != 0:
            status = "time_limit"
            break
        if -float(res.fun) <= true * (1 + 1e-7) + 1e-9:
            status = "optimal"
            break
        points.append(u[:, got].sum(axis=1))
    return bound, best_open, {"rounds": rounds, "status": status}


def max_share(u: np.ndarray, comp: np.ndarray, w: np.ndarray, p: int, fixed: np.ndarray,
              eligible: np.ndarray, deadline: float, exact: bool) -> ShareResult:
    t0 = time.monotonic()
    opened, st = search(u, comp, w, p, fixed, eligible, deadline)
    value = captured(u, comp, w, opened)
    stats: dict = {"search": st, "heuristic_seconds": time.monotonic() - t0}
    # without the model: every point captured whole is the only sure bound
    reach = (u[:, eligible | fixed] > 0).any(axis=1)
    upper = float(w[reach].sum())
    if exact and time.monotonic() < deadline:
        bound, alt, info = upper_bound(u, comp, w, p, fixed, eligible, opened, deadline)
        stats["exact"] = info
        upper = min(upper, bound)
        if alt is not None and captured(u, comp, w, alt) > value:
            opened, value = np.sort(alt), captured(u, comp, w, alt)
    return ShareResult(opened, value, max(upper, value), stats)


def target_share(u: np.ndarray, comp: np.ndarray, w: np.ndarray, target: float,
                 fixed: np.ndarray, eligible: np.ndarray, deadline: float,
                 exact: bool) -> tuple[ShareResult, int]:
    """Fewest stores capturing ``target`` of the demand: (result, proven lower bound on the
    count). The count rises from the required stores until the best share found meets the
    target; ``p - 1`` is proven too few only when the model's bound at ``p - 1`` is below."""
    need = target * float(w.sum())
    n_fixed = int(fixed.sum())
    top = int((eligible | fixed).sum())
    lower = max(n_fixed, 1)
    res = None
    for p in range(max(n_fixed, 1), top + 1):
        res = max_share(u, comp, w, p, fixed, eligible, deadline, exact)
        if res.upper < need * (1 - 1e-9):
            lower = p + 1  # proven: p stores cannot reach the target
        if res.captured >= need * (1 - 1e-9) or time.monotonic() >= deadline:
            break
    assert res is not None
    return res, min(lower, len(res.open))

"""Capacitated single-source p-median (CPMP): Lagrangian bound, heuristics, reduced HiGHS.

Model (``a_i`` load of point ``i``, ``Q_j`` capacity, ``c_ij`` weighted cost)::

    min  sum_ij c_ij x_ij + sum_j f_j y_j
    s.t. sum_j x_ij = 1,  sum_i a_i x_ij <= Q_j y_j,  sum_j y_j = p,  x, y binary

Relaxing the assignment rows with multipliers ``u_i`` leaves one 0-1 knapsack per site
(Lorena & Senne 2004; Boccia et al. 2008)::

    v_j(u) = min { sum_i (c_ij - u_i) x_ij : sum_i a_i x_ij <= Q_j, x binary }
    L(u)   = sum_i u_i + (sum of f_j + v_j over the required sites and the p - r cheapest
             others)

``L(u)`` is a lower bound for every ``u`` (budget and group limits are dropped from the
site choice, which only lowers it). Each knapsack is solved exactly by dynamic
programming over integer capacities (all sites at once, one vectorised step per item
rank); with fractional loads, or a table too large, its LP relaxation (Dantzig) stands
in: a lower value, so the bound stays valid. Subgradient steps (Held, Wolfe & Crowder)
move ``u`` by the assignment violation.

What the multipliers buy:

* a Lagrangian heuristic: the sites of each relaxed solution, allocated by the
  generalized-assignment heuristic of :mod:`~components.locate.capacity`, then improved by
  point shifts and swaps that respect the capacities;
* site fixing: a site whose forced opening (closing) lifts the bound to the best cost
  found cannot be open (closed) in any better solution, so HiGHS gets a smaller model,
  whose proven bound ``B`` gives ``min(UB, B)`` for the whole problem.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from components.locate.capacity import Allocation, LoadProblem, capacitated_allocation

KNAPSACK_CELLS = 60_000_000  # items x sites x capacity cells of one DP table (bool)
SWAP_POINTS = 1_000  # pairwise point swaps up to this many points (n x n tables)


@dataclass
class LagrangeState:
    bound: float = -np.inf
    best_in: np.ndarray = field(default_factory=lambda: np.zeros(0))  # bound with y_j = 1
    best_out: np.ndarray = field(default_factory=lambda: np.zeros(0))  # bound with y_j = 0
    iterations: int = 0
    exact_knapsack: bool = True
    u: np.ndarray | None = None


def knapsacks(R: np.ndarray, ok: np.ndarray, a: np.ndarray, Q: np.ndarray,
              integral: bool) -> tuple[np.ndarray, np.ndarray, bool]:
    """(v (m,), chosen (n, m) bool, exact): min sum R_ij x_ij per column within Q_j.

    ``v`` is the exact minimum (DP) when ``integral`` and the table fits, else the LP
    relaxation's (a lower value); ``chosen`` is an integral packing either way.
    """
    neg = ok & (R < 0) & (a[:, None] <= Q[None, :] + 1e-9)
    wsum = (neg * a[:, None]).sum(axis=0)
    easy = wsum <= Q + 1e-9  # every profitable item fits: take them all
    chosen = neg & easy[None, :]
    v = np.where(easy, np.where(neg, R, 0.0).sum(axis=0), 0.0)
    hard = np.flatnonzero(~easy)
    if not len(hard):
        return v, chosen, True
    sub = neg[:, hard]
    k = int(sub.sum(axis=0).max())
    qmax = int(np.floor(Q[hard].max() + 1e-9))
    if integral and k * len(hard) * (qmax + 1) <= KNAPSACK_CELLS:
        vh, ch = _dp(R[:, hard], sub, a.astype(np.int64), np.floor(Q[hard] + 1e-9)
                     .astype(np.int64), k, qmax)
        exact = True
    else:
        vh, ch = _dantzig(R[:, hard], sub, a, Q[hard])
        exact = False
    v[hard] = vh
    chosen[:, hard] = ch
    return v, chosen, exact


def _dp(R: np.ndarray, neg: np.ndarray, a: np.ndarray, Q: np.ndarray, k: int,
        qmax: int) -> tuple[np.ndarray, np.ndarray]:
    n, h = R.shape
    # items of each site in rows (h, k), padded with -1
    order = np.argsort(~neg, axis=0, kind="stable")[:k].T  # profitable rows first
    valid = np.take_along_axis(neg.T, order, axis=1)
    items = np.where(valid, order, -1)
    rows = np.arange(h)
    caps = np.arange(qmax + 1)
    best = np.zeros((h, qmax + 1))
    keep = np.zeros((k, h, qmax + 1), dtype=bool)
    for t in range(k):
        it = items[:, t]
        has = it >= 0
        w = np.where(has, a[np.maximum(it, 0)], qmax + 1)
        r = np.where(has, -R[np.maximum(it, 0), rows], 0.0)
        src = caps[None, :] - w[:, None]
        fit = src >= 0
        cand = np.where(fit, best[rows[:, None], np.maximum(src, 0)] + r[:, None], -np.inf)
        take = cand > best + 1e-12
        keep[t] = take
        best = np.where(take, cand, best)
    chosen = np.zeros((n, h), dtype=bool)
    c = np.minimum(Q, qmax)
    for t in range(k - 1, -1, -1):
        it = items[:, t]
        sel = keep[t, rows, c] & (it >= 0)
        if sel.any():
            chosen[it[sel], rows[sel]] = True
            c = np.where(sel, c - a[np.maximum(it, 0)], c)
    return -best[rows, np.minimum(Q, qmax)], chosen


def _dantzig(R: np.ndarray, neg: np.ndarray, a: np.ndarray, Q: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    n, h = R.shape
    v = np.zeros(h)
    chosen = np.zeros((n, h), dtype=bool)
    for s in range(h):
        it = np.flatnonzero(neg[:, s])
        prof = -R[it, s]
        w = a[it]
        order = np.argsort(-prof / np.maximum(w, 1e-300), kind="stable")
        it, prof, w = it[order], prof[order], w[order]
        cum = np.cumsum(w)
        full = cum <= Q[s] + 1e-9
        chosen[it[full], s] = True
        val = prof[full].sum()
        nxt = np.flatnonzero(~full)
        if len(nxt):
            j = nxt[0]
            room = Q[s] - (cum[j - 1] if j > 0 else 0.0)
            val += prof[j] * max(room, 0.0) / max(w[j], 1e-300)
        v[s] = -val
    return v, chosen


def pick_sites(val: np.ndarray, p: int, fixed: np.ndarray, eligible: np.ndarray
               ) -> tuple[np.ndarray, float, float]:
    """Required sites plus the p - r cheapest others: (sites, last taken, next left)."""
    free = np.flatnonzero(eligible & ~fixed)
    q = p - int(fixed.sum())
    order = free[np.argsort(val[free], kind="stable")]
    take = np.concatenate([np.flatnonzero(fixed), order[:q]])
    last = float(val[order[q - 1]]) if q > 0 else np.inf
    nxt = float(val[order[q]]) if q < len(order) else np.inf
    return take, last, nxt


def subgradient(prob: LoadProblem, p: int, fixed: np.ndarray, eligible: np.ndarray,
                upper: float, deadline: float, *, max_iterations: int,
                state: LagrangeState | None = None, on_sites=None,
                heuristic_every: int = 2) -> LagrangeState:
    """Maximise L(u) by subgradient steps; ``on_sites(sites)`` may return a better UB."""
    C, ok, a, Q = prob.costs, prob.allowed, prob.demand, prob.upper
    m = C.shape[1]
    f = np.zeros(m) if prob.opening is None else prob.opening
    integral = bool(np.all(a == np.round(a)))
    st = state or LagrangeState(best_in=np.full(m, -np.inf), best_out=np.full(m, -np.inf))
    if st.u is None:
        Cm = np.where(ok, C, np.inf)
        st.u = np.where(np.isfinite(Cm).any(axis=1), Cm.min(axis=1), 0.0)
    u = st.u.copy()
    lam, since, best_here = 2.0, 0, -np.inf
    for it in range(max_iterations):
        if time.monotonic() >= deadline or lam < 1e-4:
            break
        R = C - u[:, None]
        v, chosen, exact = knapsacks(R, ok, a, Q, integral)
        st.exact_knapsack &= exact
        val = v + f
        sites, last, nxt = pick_sites(val, p, fixed, eligible)
        L = float(u.sum() + val[sites].sum())
        st.iterations += 1
        free = eligible & ~fixed
        is_in = np.zeros(m, dtype=bool)
        is_in[sites] = True
        # forced in: swap the dearest free chosen site for j; forced out: the next one in
        forced_in = np.where(free & ~is_in, L - last + val, np.where(is_in, L, -np.inf))
        forced_out = np.where(free & is_in, L - val + nxt, np.where(is_in, -np.inf, L))
        st.best_in = np.maximum(st.best_in, forced_in)
        st.best_out = np.maximum(st.best_out, forced_out)
        if L > st.bound:
            st.bound, st.u = L, u.copy()
        if L > best_here + 1e-9 * max(1.0, abs(L)):
            best_here, since = L, 0
        else:
            since += 1
            if since >= 20:
                lam, since = lam / 2, 0
        if on_sites is not None and (it % heuristic_every == 0):
            got = on_sites(np.sort(sites))
            if got is not None and got < upper:
                upper = got
        if upper - st.bound <= 1e-9 * max(1.0, abs(upper)):
            break
        g = 1.0 - chosen[:, sites].sum(axis=1)
        norm = float(g @ g)
        if norm == 0:  # the relaxed solution is feasible: L is its cost, nothing left
            break
        gap = max(upper - L, 1e-6 * max(1.0, abs(L)))
        u = u + lam * gap / norm * g
    return st


def fixings(st: LagrangeState, upper: float, integral_costs: bool
            ) -> tuple[np.ndarray, np.ndarray]:
    """(closed, opened): sites that cannot be closed/opened in a solution below ``upper``."""
    tol = (1.0 - 1e-6) if integral_costs else 1e-9 * max(1.0, abs(upper))
    closed = st.best_in >= upper - tol
    opened = st.best_out >= upper - tol
    return closed, opened & ~closed


def improve(prob: LoadProblem, alloc: Allocation, sites: np.ndarray, passes: int = 4,
            deadline: float = np.inf) -> Allocation:
    """Point shifts and pairwise swaps between the open sites, capacities respected."""
    C, a = prob.costs, prob.demand
    n = len(a)
    assign = alloc.assign.copy()
    if (assign < 0).any() or alloc.violation > 1e-9:
        return alloc
    cap = prob.upper
    load = np.bincount(assign, weights=a, minlength=C.shape[1])
    S = np.asarray(sites)
    ok = prob.allowed[:, S]
    sub = np.where(ok, C[:, S], np.inf)
    pos = -np.ones(C.shape[1], dtype=np.int64)
    pos[S] = np.arange(len(S))
    cur = pos[assign]
    rows = np.arange(n)
    for _ in range(passes):
        if time.monotonic() >= deadline:
            break
        moved = False
        # shifts: best single move per point, applied greedily while they still fit
        gain = sub[rows, cur][:, None] - sub
        room = load[S][None, :] + a[:, None] <= cap[S][None, :] + 1e-9
        gain = np.where(room & np.isfinite(gain), gain, 0.0)
        for i in np.argsort(-gain.max(axis=1))[:n]:
            s = int(np.argmax(gain[i]))
            if gain[i, s] <= 1e-12:
                break
            j = S[s]
            if load[j] + a[i] > cap[j] + 1e-9 or sub[i, s] >= sub[i, cur[i]]:
                continue
            load[S[cur[i]]] -= a[i]
            load[j] += a[i]
            cur[i] = s
            moved = True
        if n > SWAP_POINTS:  # the pair tables below are n x n
            if not moved:
                break
            continue
        # swaps: i (at s) <-> k (at t), both still within capacity
        here = sub[rows, cur]
        # delta[i, k] = c_i,cur(k) + c_k,cur(i) - c_i,cur(i) - c_k,cur(k)
        delta = sub[rows[:, None], cur[None, :]] + sub[rows[None, :], cur[:, None]] \
            - here[:, None] - here[None, :]
        diff = a[:, None] - a[None, :]  # site of k gains a_i - a_k, site of i loses it
        slack = cap[S][cur] - load[S][cur]
        fits = (diff <= slack[None, :] + 1e-9) & (-diff <= slack[:, None] + 1e-9)
        cand = np.where(fits & (cur[:, None] != cur[None, :]) & np.isfinite(delta), delta, 0.0)
        flat = np.argsort(cand, axis=None)[: max(1, n)]
        used = np.zeros(n, dtype=bool)
        for q in flat:
            i, k = divmod(int(q), n)
            if cand[i, k] >= -1e-12:
                break
            if used[i] or used[k]:
                continue
            s, t = cur[i], cur[k]
            if load[S[t]] - a[k] + a[i] > cap[S[t]] + 1e-9 or \
                    load[S[s]] - a[i] + a[k] > cap[S[s]] + 1e-9:
                continue
            load[S[t]] += a[i] - a[k]
            load[S[s]] += a[k] - a[i]
            cur[i], cur[k] = t, s
            used[i] = used[k] = True
            moved = True
        if not moved:
            break
    full = S[cur]
    loads = np.bincount(full, weights=a, minlength=C.shape[1])
    return Allocation(full, loads, prob.total(full, S), prob.violation(loads, S))


def allocate(prob: LoadProblem, sites: np.ndarray, deadline: float = np.inf) -> Allocation:
    """The GAP heuristic for one open set, then shifts and swaps."""
    return improve(prob, capacitated_allocation(prob, sites, False), sites, deadline=deadline)

"""The LP relaxation of the balance model without contiguity (HiGHS dual simplex).

For fixed centers, with ``x_ij`` relaxed to ``[0, 1]`` and contiguity dropped::

    minimise  sum_ij c_ij x_ij
    s.t.      sum_i x_ij = 1                   (every unit, allowed pairs only)
              lo_ik <= sum_j a_jk x_ij <= hi_ik

Its optimum is the best bound the Lagrangian relaxation of the balance rows can give
(the assignment rows have the integrality property, so the Lagrangian dual equals the
LP), and on county-like maps it lies a few tenths of a percent under the optimum. The
subgradient search only approaches it; HiGHS reaches it.

Two things come out of one solve:

* the balance rows' duals ``lambda_ik``: optimal Lagrange multipliers. The bound
  reported is the Lagrangian value ``L(lambda)`` evaluated over *every* territory (see
  :class:`~components.balance.relaxation.CandidateRelaxation`), which is a valid lower
  bound for any ``lambda`` by weak duality. So the LP may be solved over each unit's K
  cheapest territories only (memory O(n K)); when no left-out pair has a negative
  reduced cost the value equals the full LP optimum, otherwise it is still a bound;
* a vertex solution splits at most ``m k`` units between territories: rounding each
  to its largest share gives a nearly balanced start for repair and local search.

HiGHS gets the time left as its own limit; a run cut short returns None (the caller
keeps the subgradient's bound). Dual simplex on one thread is deterministic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

MAX_PAIRS = 3_000_000  # LP columns; above this the subgradient bound is all there is
K_CAND = 24  # territories per unit when the full LP would be too big
MAX_RESTRICTED = 1_000_000  # columns of a restricted LP; beyond, the subgradient alone


@dataclass
class LPResult:
    lam: np.ndarray        # (m, k) multipliers on the load scale of the caller
    labels: np.ndarray     # (n,) each unit's largest share in the LP vertex
    value: float           # the LP optimum over the pairs it was given
    split: int             # units the LP splits between territories
    pairs: int             # LP columns
    full: bool             # every allowed pair was a column
    seconds: float


def candidate_pairs(cost_f: np.ndarray, forbid: np.ndarray,
                    k_cand: int = K_CAND) -> tuple[np.ndarray, np.ndarray, bool]:
    """Allowed (territory, unit) pairs: all of them when they fit, else each unit's
    ``k_cand`` cheapest allowed ones. Returns ``(ii, jj, full)``."""
    m, n = cost_f.shape
    if m * n <= MAX_PAIRS or m <= k_cand:
        ii, jj = np.nonzero(~forbid)
        return ii, jj, True
    part = np.argpartition(cost_f, k_cand, axis=0)[:k_cand]       # (K, n)
    jj = np.broadcast_to(np.arange(n), part.shape)
    ok = ~forbid[part, jj]
    ii, jj = part[ok], jj[ok]
    # a unit whose pairs are all forbidden keeps its cheapest one (the LP stays
    # feasible; such answers are reported as constraint violations anyway)
    orphan = np.flatnonzero(np.bincount(jj, minlength=n) == 0)
    if len(orphan):
        ii = np.r_[ii, np.argmin(cost_f[:, orphan], axis=0)]
        jj = np.r_[jj, orphan]
    order = np.lexsort((ii, jj))
    return ii[order], jj[order], False


def solve_lp(cost: np.ndarray, cost_f: np.ndarray, forbid: np.ndarray, load: np.ndarray,
             lo: np.ndarray, hi: np.ndarray, time_limit: float) -> LPResult | None:
    """The LP of the module docstring; None when HiGHS did not prove an optimum in time
    (or the LP is infeasible: then no multipliers come out of it either)."""
    start = time.process_time()
    m, n = cost.shape
    k = load.shape[1]
    if time_limit <= 0.05 or k == 0:
        return None
    m_n = m * n
    if m_n > MAX_PAIRS and n * K_CAND > MAX_RESTRICTED:
        return None  # measured: 100k units x 200 territories spent > 80 CPU s in HiGHS
    ii, jj, full = candidate_pairs(cost_f, forbid)
    nv = len(ii)
    col = np.arange(nv)
    a_eq = sp.csr_matrix((np.ones(nv), (jj, col)), shape=(n, nv))
    # balance rows i*k + q, once as -s <= -lo and once as s <= hi
    rows = (ii[:, None] * k + np.arange(k)[None, :]).ravel()
    vals = load[jj].ravel()
    cols = np.repeat(col, k)
    bal = sp.csr_matrix((vals, (rows, cols)), shape=(m * k, nv))
    a_ub = sp.vstack([-bal, bal]).tocsr()
    b_ub = np.r_[-lo.ravel(), hi.ravel()]
    res = linprog(cost[ii, jj], A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=np.ones(n),
                  bounds=(0, 1), method="highs-ds",
                  options={"time_limit": float(time_limit), "presolve": True})
    if res.status != 0 or res.x is None:
        return None
    marg = np.asarray(res.ineqlin.marginals)
    # d(objective)/d(b_ub) <= 0: the lower rows give mu = -marg, the upper nu = -marg
    lam = (-marg[:m * k] + marg[m * k:]).reshape(m, k)
    x = res.x
    order = np.lexsort((-x, jj))
    first = np.r_[True, jj[order][1:] != jj[order][:-1]]
    labels = np.empty(n, dtype=np.int64)
    labels[jj[order][first]] = ii[order][first]
    split = len(np.unique(jj[(x > 1e-7) & (x < 1 - 1e-7)]))
    return LPResult(lam, labels, float(res.fun), split, nv, full,
                    time.process_time() - start)


def min_tolerance(cost_f: np.ndarray, forbid: np.ndarray, load: np.ndarray,
                  target: np.ndarray, time_limit: float) -> float | None:
    """The smallest common tolerance ``t`` for which some assignment, split or not,
    contiguous or not, puts every territory within ``(1 +- t) x target`` on every metric:
    ``min t`` s.t. ``sum_i x_ij = 1``, ``|s_ik - T_ik| <= t T_ik``. No alignment with
    these centers can do better, so it is a tolerance proven necessary. None when HiGHS
    gave no optimum in time or the model is too big."""
    m, n = cost_f.shape
    k = load.shape[1]
    if time_limit <= 0.05 or k == 0:
        return None
    ii, jj, full = candidate_pairs(cost_f, forbid)
    if not full:
        return None  # a restricted LP would not prove anything
    nv = len(ii)
    col = np.arange(nv)
    a_eq = sp.csr_matrix((np.ones(nv), (jj, col)), shape=(n, nv + 1))
    rows = (ii[:, None] * k + np.arange(k)[None, :]).ravel()
    bal = sp.csr_matrix((load[jj].ravel(), (rows, np.repeat(col, k))), shape=(m * k, nv))
    t_col = sp.csr_matrix(-target.reshape(-1, 1))
    a_ub = sp.vstack([sp.hstack([bal, t_col]), sp.hstack([-bal, t_col])]).tocsr()
    b_ub = np.r_[target.ravel(), -target.ravel()]
    c = np.zeros(nv + 1)
    c[-1] = 1.0
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=np.ones(n),
                  bounds=np.c_[np.zeros(nv + 1), np.r_[np.ones(nv), np.inf]],
                  method="highs-ds",
                  options={"time_limit": float(time_limit), "presolve": True})
    return float(res.x[-1]) if res.status == 0 and res.x is not None else None

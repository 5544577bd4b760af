"""Reference methods only benchmarks and tests use (issue #10: not product code).

* :func:`lp_bound`: the LP relaxation of the exact model, a lower bound;
* :func:`hess_samuels`: the LP-and-round baseline of Hess & Samuels (1971) that
  ALGORITHMS.md compares to;
* :func:`star_shaped`: whether each territory lies in the family the exact MILP searches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import dijkstra

from components.balance.exact import solve_exact
from components.balance.exact_model import _as_bounds
from components.errors import SolverError


@dataclass
class HessSamuelsResult:
    """LP-and-round: ``labels`` rounded to each unit's largest fraction."""

    labels: np.ndarray
    lp_objective: float
    objective: float
    split_units: int
    seconds: float


def lp_bound(graph: sp.csr_matrix, metrics: np.ndarray, centers: Any, bounds: Any,
             **kwargs: Any) -> float:
    """Optimum of the LP relaxation: a lower bound (``inf`` when even that is infeasible).

    Takes the arguments of :func:`solve_exact`; with ``contiguity=False`` it is
    a bound on every alignment, contiguous or not.
    """
    r = solve_exact(graph, metrics, centers, bounds, relax=True, **kwargs)
    return float("inf") if r.status == "infeasible" else r.bound


def hess_samuels(graph: sp.csr_matrix, metrics: np.ndarray, centers: Any,
                 bounds: Any = None, *, weights: np.ndarray | None = None) -> HessSamuelsResult:
    """Hess & Samuels (1971): LP of the balanced transportation problem, then round.

    ``min sum w_j d_ij x_ij`` s.t. ``sum_i x_ij = 1``, balance bounds (default:
    every territory exactly total / m on every metric), ``0 <= x <= 1``, no
    contiguity. A vertex solution (dual simplex) splits at most ``m*k - 1``
    units; each goes to its largest fraction, which breaks the balance.
    """
    start = time.monotonic()
    graph = sp.csr_matrix(graph, dtype=float)
    metrics = np.asarray(metrics, dtype=float)
    metrics = metrics[:, None] if metrics.ndim == 1 else metrics
    centers = np.asarray(centers, dtype=np.int64).ravel()
    n, k = metrics.shape
    m = len(centers)
    if bounds is None:
        target = np.broadcast_to(metrics.sum(axis=0) / m, (m, k))
        bounds = (target, target)
    lower, upper = _as_bounds(bounds, m, k)
    w = metrics[:, 0] if weights is None else np.asarray(weights, dtype=float)
    dist = dijkstra(graph, directed=False, indices=centers)
    dist = np.where(np.isfinite(dist), dist, np.nanmax(dist[np.isfinite(dist)]) * 10)
    cost = (w[None, :] * dist).ravel()  # variable i*n + j
    ii, jj = np.divmod(np.arange(m * n), n)
    a_eq = sp.csr_matrix((np.ones(m * n), (jj, np.arange(m * n))), shape=(n, m * n))
    rows = [sp.csr_matrix((metrics[jj, q], (ii, np.arange(m * n))), shape=(m, m * n))
            for q in range(k)]
    a_bal = sp.vstack(rows).tocsr()
    lo = np.concatenate([lower[:, q] for q in range(k)])
    hi = np.concatenate([upper[:, q] for q in range(k)])
    res = linprog(cost, A_ub=sp.vstack([a_bal, -a_bal]).tocsr(), b_ub=np.r_[hi, -lo],
                  A_eq=a_eq, b_eq=np.ones(n), bounds=(0, 1), method="highs-ds")
    if res.status != 0:
        raise SolverError(f"Hess & Samuels LP: {res.message}")
    x = res.x.reshape(m, n)
    labels = np.argmax(x, axis=0).astype(np.int64)
    split = int(((x > 1e-9) & (x < 1 - 1e-9)).any(axis=0).sum())
    obj = float(cost.reshape(m, n)[labels, np.arange(n)].sum())
    return HessSamuelsResult(labels, float(res.fun), obj, split, time.monotonic() - start)


def star_shaped(graph: sp.csr_matrix, labels: np.ndarray, centers: Any) -> np.ndarray:
    """``flags[i]``: every unit of territory i other than its center has a neighbour in
    territory i strictly closer to the center (the family the MILP searches)."""
    graph = sp.csr_matrix(graph, dtype=float)
    centers = np.asarray(centers, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    m, n = len(centers), graph.shape[0]
    dist = dijkstra(graph, directed=False, indices=centers)
    nbr = graph.indices
    row_of = np.repeat(np.arange(n), np.diff(graph.indptr))
    t = labels[row_of]
    ok_edge = (labels[nbr] == t) & (dist[t, nbr] < dist[t, row_of])
    has = np.zeros(n, dtype=bool)
    has[row_of[ok_edge]] = True
    has[centers] = labels[centers] == np.arange(m)
    flags = np.ones(m, dtype=bool)
    flags[np.unique(labels[~has])] = False
    return flags

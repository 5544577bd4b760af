"""Territory balancing by Lagrangian relaxation (Zoltners & Sinha, 1983).

Model, for territories ``i``, units ``j`` and metrics ``k``::

    minimise    sum_ij c_ij x_ij                 c_ij = w_j d_ij (+ disruption)
    subject to  lo_ik <= sum_j a_jk x_ij <= hi_ik
                sum_i x_ij = 1,  x_ij in {0, 1},  territories contiguous

``d_ij`` is the shortest-path distance from center ``i`` to unit ``j`` over the
unit adjacency graph (edge lengths: straight-line or road costs), which is what
makes the relaxed assignment contiguous.

Method:

1. dualise the balance constraints with multipliers ``lambda_ik`` (free sign:
   ``lambda = mu - nu`` for the lower and upper bounds); the relaxation separates
   per unit: ``j -> argmin_i c_ij - sum_k lambda_ik a_jk``;
2. subgradient ascent on ``lambda`` with Polyak steps (Held, Wolfe & Crowder),
   halving the step factor when the bound stalls; the dual value
   ``L(lambda) = sum_j min_i(...) + sum_ik (lambda_ik lo_ik if lambda_ik > 0 else
   lambda_ik hi_ik)`` is a valid lower bound on the optimum (contiguity relaxed);
3. primal solutions: the relaxed assignment, made contiguous by
   :func:`~components.balance.contiguity.repair`, then improved by the boundary
   :class:`~components.balance.local_search.LocalSearch`;
4. free centers (center seeking, Hess & Samuels): move each center to the unit
   of its territory with the least weighted distance to the territory, repeat.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from components.balance.contiguity import contiguous_flags, repair
from components.balance.local_search import LocalSearch, violation
from components.errors import InfeasibleError, ParameterError


@dataclass
class Bounds:
    """Per-territory, per-metric bounds in metric units: arrays of shape (m, k)."""

    lower: np.ndarray
    upper: np.ndarray
    target: np.ndarray


def tolerance_bounds(metrics: np.ndarray, m: int, tolerance: np.ndarray) -> Bounds:
    """Bounds ``(1 -+ tol_k) * total_k / m`` for every territory."""
    target = np.broadcast_to(metrics.sum(axis=0) / m, (m, metrics.shape[1])).copy()
    tol = np.broadcast_to(np.asarray(tolerance, dtype=float), (metrics.shape[1],))
    return Bounds(target * (1 - tol), target * (1 + tol), target)


class TerritoryBalancer:
    """Balanced, contiguous, compact territories on a unit adjacency graph.

    Parameters are stored by ``__init__``; data is given to :meth:`solve`,
    which sets ``labels_``, ``centers_``, ``objective_``, ``bound_``, ``gap_``,
    ``status_``, ``stopped_by_``, ``iterations_``, ``seconds_``, ``contiguous_``.

    >>> import numpy as np, scipy.sparse as sp
    >>> g = sp.diags([1.0, 1.0], [-1, 1], shape=(6, 6), format="csr")  # a path
    >>> b = TerritoryBalancer(2, tolerance=0.0, seed=0).solve(
    ...     g, np.ones((6, 1)), coords=np.c_[np.arange(6.0), np.zeros(6)])
    >>> sorted(np.bincount(b.labels_).tolist())
    [3, 3]
    """

    def __init__(self, n_territories: int, *, tolerance: float | list[float] = 0.05,
                 max_iter: int = 200, time_limit: float = 60.0, seed: int = 0,
                 center_iterations: int = 8, disruption_weight: float = 0.0) -> None:
        self.n_territories = n_territories
        self.tolerance = tolerance
        self.max_iter = max_iter
        self.time_limit = time_limit
        self.seed = seed
        self.center_iterations = center_iterations
        self.disruption_weight = disruption_weight

    # -- public -------------------------------------------------------------------------
    def solve(self, graph: sp.csr_matrix, metrics: np.ndarray, *, coords: np.ndarray,
              weights: np.ndarray | None = None, centers: np.ndarray | None = None,
              bounds: Bounds | None = None,
              current: np.ndarray | None = None) -> TerritoryBalancer:
        """Solve.

        graph : (n, n) symmetric csr matrix, data = edge length (> 0), connected.
        metrics : (n, k) non-negative metric values.
        coords : (n, 2) coordinates, used to seed and move centers.
        weights : (n,) objective weight of each unit (default: first metric, or 1).
        centers : (m,) unit index of each territory's center, -1 where free;
            None means all free.
        bounds : per-territory bounds; default from ``tolerance``.
        current : (n,) current territory index (0..m-1) or -1; with
            ``disruption_weight`` > 0 leaving it costs extra.
        """
        start = time.monotonic()
        deadline = start + float(self.time_limit)
        m = int(self.n_territories)
        metrics = np.asarray(metrics, dtype=float)
        n, k = metrics.shape
        if m < 1 or m > n:
            raise ParameterError(f"n_territories must be in [1, {n}]; got {m}",
                                 column="n_territories")
        rng = np.random.default_rng(self.seed)
        graph = sp.csr_matrix(graph)
        w = self._weights(metrics, weights)
        bounds = bounds or tolerance_bounds(metrics, m, np.asarray(self.tolerance, float))
        self._check_feasible(metrics, bounds)
        given = np.full(m, -1) if centers is None else np.asarray(centers, dtype=np.int64)
        free = given < 0
        ctr = self._initial_centers(coords, w, given, current, m, rng)

        self.iterations_ = 0
        self.center_moves_ = 0
        rounds = self.center_iterations if free.any() else 1
        for r in range(rounds):
            final = r == rounds - 1
            budget = deadline if final else start + (deadline - start) * (r + 1) / (rounds + 1)
            result = self._solve_fixed(graph, metrics, w, ctr, bounds, current, budget,
                                       max_iter=self.max_iter if final else 40,
                                       primal_every=5 if final else 0)
            if final or time.monotonic() > deadline:
                break
            moved = self._move_centers(graph, coords, w, result["labels"], ctr, free)
            if np.array_equal(moved, ctr):
                # stable: one last full solve is the answer
                result = self._solve_fixed(graph, metrics, w, ctr, bounds, current, deadline,
                                           max_iter=self.max_iter)
                break
            self.center_moves_ += int((moved != ctr).sum())
            ctr = moved

        labels = result["labels"]
        self.labels_ = labels
        self.centers_ = ctr
        self.distances_ = result["dist"][labels, np.arange(n)]
        self.objective_ = float((w * self.distances_).sum())
        self.cost_objective_ = float(result["cost"][labels, np.arange(n)].sum())
        self.bound_ = float(result["bound"])
        self.gap_ = (max(0.0, (self.cost_objective_ - self.bound_) / abs(self.cost_objective_))
                     if self.cost_objective_ > 0 else 0.0)
        self.totals_ = np.zeros((m, k))
        np.add.at(self.totals_, labels, metrics)
        self.bounds_ = bounds
        self.violation_ = float(violation(self.totals_ / bounds.target.clip(1e-300),
                                          bounds.lower / bounds.target.clip(1e-300),
                                          bounds.upper / bounds.target.clip(1e-300)).sum())
        self.contiguous_ = contiguous_flags(graph, labels, m)
        within = self.violation_ <= 1e-9
        if within and self.gap_ <= 1e-6:
            self.status_ = "optimal"
        elif within:
            self.status_ = "feasible"
        else:
            self.status_ = "tolerance_not_met"
        self.stopped_by_ = result["stopped_by"]
        self.seconds_ = time.monotonic() - start
        return self

    # -- pieces -------------------------------------------------------------------------
    @staticmethod
    def _weights(metrics: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
        if weights is not None:
            return np.asarray(weights, dtype=float)
        w = metrics[:, 0].copy() if metrics.shape[1] else np.ones(len(metrics))
        # units with no weight still count a little, so they join the nearest center
        return w + max(w.mean(), 1e-12) * 1e-3

    @staticmethod
    def _check_feasible(metrics: np.ndarray, b: Bounds) -> None:
        totals = metrics.sum(axis=0)
        for k in range(metrics.shape[1]):
            lo, hi = b.lower[:, k].sum(), b.upper[:, k].sum()
            if lo > totals[k] * (1 + 1e-9) or hi < totals[k] * (1 - 1e-9):
                raise InfeasibleError(
                    f"metric {k}: territory bounds sum to [{lo:,.6g}, {hi:,.6g}] but the total "
                    f"is {totals[k]:,.6g}; widen the bounds so the total fits")
            biggest = metrics[:, k].max()
            if biggest > b.upper[:, k].max() * (1 + 1e-9):
                raise InfeasibleError(
                    f"metric {k}: one unit alone has {biggest:,.6g}, above every territory's "
                    f"upper bound (max {b.upper[:, k].max():,.6g}); raise the tolerance or "
                    "split that unit")

    def _initial_centers(self, coords: np.ndarray, w: np.ndarray, given: np.ndarray,
                         current: np.ndarray | None, m: int,
                         rng: np.random.Generator) -> np.ndarray:
        ctr = given.copy()
        if (ctr >= 0).all():
            return ctr
        chosen = list(ctr[ctr >= 0])
        if current is not None:
            # seed free territory i at the unit nearest the weighted centroid of current i
            for i in np.flatnonzero(ctr < 0):
                members = np.flatnonzero(current == i)
                if len(members):
                    c = np.average(coords[members], axis=0, weights=w[members])
                    j = members[np.argmin(((coords[members] - c) ** 2).sum(1))]
                    if j not in chosen:
                        ctr[i] = j
                        chosen.append(j)
        # weighted k-means++ for the rest
        d2 = np.full(len(coords), np.inf)
        for j in chosen:
            d2 = np.minimum(d2, ((coords - coords[j]) ** 2).sum(1))
        for i in np.flatnonzero(ctr < 0):
            p = w * (d2 if np.isfinite(d2).any() else np.ones_like(w))
            p[chosen] = 0.0
            p = p / p.sum() if p.sum() > 0 else None
            j = int(rng.choice(len(coords), p=p))
            ctr[i] = j
            chosen.append(j)
            d2 = np.minimum(d2, ((coords - coords[j]) ** 2).sum(1))
        return ctr

    @staticmethod
    def _move_centers(graph: sp.csr_matrix, coords: np.ndarray, w: np.ndarray,
                      labels: np.ndarray, ctr: np.ndarray, free: np.ndarray) -> np.ndarray:
        """Each free center moves to the best of a few units near its weighted centroid."""
        out = ctr.copy()
        cand_of: dict[int, np.ndarray] = {}
        for i in np.flatnonzero(free):
            members = np.flatnonzero(labels == i)
            c = np.average(coords[members], axis=0, weights=w[members])
            near = members[np.argsort(((coords[members] - c) ** 2).sum(1), kind="stable")[:4]]
            cand_of[i] = np.unique(np.r_[near, ctr[i]])
        if not cand_of:
            return out
        sources = np.unique(np.concatenate(list(cand_of.values())))
        dist = dijkstra(graph, directed=False, indices=sources)
        row = {int(s): r for r, s in enumerate(sources)}
        for i, cands in cand_of.items():
            members = labels == i
            scores = [float((w[members] * dist[row[int(c)], members]).sum()) for c in cands]
            best = cands[int(np.argmin(scores))]
            # keep the old center on ties, so the loop settles
            if scores[int(np.argmin(scores))] < scores[list(cands).index(ctr[i])] - 1e-12:
                out[i] = best
        return out

    def _solve_fixed(self, graph: sp.csr_matrix, metrics: np.ndarray, w: np.ndarray,
                     ctr: np.ndarray, b: Bounds, current: np.ndarray | None,
                     deadline: float, max_iter: int,
                     primal_every: int = 5) -> dict:
        m, n = len(ctr), len(w)
        dist = dijkstra(graph, directed=False, indices=ctr)
        if not np.isfinite(dist).all():
            unreachable = np.flatnonzero(~np.isfinite(dist).any(axis=0))
            if len(unreachable):
                raise InfeasibleError(
                    f"{len(unreachable)} unit(s) cannot be reached from any center over the "
                    "adjacency graph; link islands or add edges")
            dist = np.where(np.isfinite(dist), dist, dist[np.isfinite(dist)].max() * 10)
        cost = w[None, :] * dist
        if current is not None and self.disruption_weight > 0:
            scale = float(cost.mean())
            cost = cost + self.disruption_weight * scale * (np.arange(m)[:, None] != current)
        # a center's own unit always belongs to its territory
        fix = np.full(n, -1)
        fix[ctr] = np.arange(m)
        fixed = fix >= 0
        big = float(cost.max()) * 10 + 1.0
        forbid = np.zeros((m, n), dtype=bool)
        forbid[:, fixed] = True
        forbid[fix[fixed], np.flatnonzero(fixed)] = False
        cost_f = np.where(forbid, cost + big, cost)

        # one scale per metric (total / m) so metrics of any size weigh alike
        scale = np.maximum(metrics.sum(axis=0) / m, 1e-300)
        load0 = metrics / scale
        lo, hi, tgt = b.lower / scale, b.upper / scale, b.target / scale
        search = LocalSearch(graph, cost, load0, lo, hi, tgt, fixed)

        lam = np.zeros((m, metrics.shape[1]))
        theta, best_bound, stall = 2.0, -np.inf, 0
        best = None  # (violation, cost, labels)
        tried: set[bytes] = set()
        stopped_by = "iteration_limit"
        it = 0
        for it in range(1, max_iter + 1):
            reduced = cost_f - lam @ load0.T
            lab = np.argmin(reduced, axis=0)
            s = np.zeros_like(lam)
            np.add.at(s, lab, load0)
            bound = reduced[lab, np.arange(n)].sum() + np.where(lam > 0, lam * lo, lam * hi).sum()
            if not np.isfinite(best_bound) or bound > best_bound + 1e-9 * max(1.0, abs(best_bound)):
                best_bound, stall = bound, 0
            else:
                stall += 1
                if stall >= 8:
                    theta, stall = theta / 2, 0
            key = lab.tobytes()
            if primal_every and key not in tried and (it <= 3 or it % primal_every == 0):
                tried.add(key)
                best = self._primal(graph, lab, ctr, reduced, search, cost, load0, lo, hi,
                                    deadline, best)
            g = np.where(lam > 0, lo - s, np.where(lam < 0, hi - s, 0.0))
            g = np.where(lam == 0, np.where(s < lo, lo - s, np.where(s > hi, hi - s, 0.0)), g)
            gnorm = float((g ** 2).sum())
            ub = best[1] if best is not None and best[0] <= 1e-9 else None
            if gnorm <= 1e-18:
                stopped_by = "converged"
                break
            if ub is not None and ub - best_bound <= 1e-6 * max(1.0, abs(ub)):
                stopped_by = "converged"
                break
            if theta < 1e-4:
                stopped_by = "converged"
                break
            if time.monotonic() > deadline:
                stopped_by = "time_limit"
                break
            target_value = ub if ub is not None else best_bound + 0.05 * abs(best_bound) + 1e-9
            step = theta * max(target_value - bound, 1e-9 * max(1.0, abs(bound))) / gnorm
            lam = lam + step * g
        self.iterations_ += it
        if best is None or (primal_every and time.monotonic() <= deadline):
            reduced = cost_f - lam @ load0.T
            best = self._primal(graph, np.argmin(reduced, axis=0), ctr, reduced, search,
                                cost, load0, lo, hi, deadline + 1e9 if best is None else deadline,
                                best)
        return {"labels": best[2], "bound": best_bound, "dist": dist, "cost": cost,
                "stopped_by": stopped_by}

    @staticmethod
    def _primal(graph, lab, ctr, reduced, search: LocalSearch, cost, load0, lo, hi,
                deadline, best):
        labels = repair(graph, lab, ctr, reduced)
        labels = search.run(labels, deadline)
        s = np.zeros_like(lo)
        np.add.at(s, labels, load0)
        v = float(violation(s, lo, hi).sum())
        c = float(cost[labels, np.arange(len(labels))].sum())
        if best is None or (v, c) < (best[0] - 1e-12, best[1]) or (
                abs(v - best[0]) <= 1e-12 and c < best[1]):
            return (v, c, labels)
        return best

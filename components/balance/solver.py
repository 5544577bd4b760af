"""Territory balancing by Lagrangian relaxation (Zoltners & Sinha, 1983).

Model, for territories ``i``, units ``j`` and metrics ``k``::

    minimise    sum_ij c_ij x_ij        c_ij = w_j d_ij  (+ disruption if j leaves its
                                                          current territory)
    subject to  lo_ik <= sum_j a_jk x_ij <= hi_ik
                sum_i x_ij = 1,  x_ij in {0, 1},  territories contiguous,
                x_ij = 0 where forbidden (other region, beyond the max distance),
                x_ij = 1 for locked units and centers

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
   of its territory with the least weighted distance to the territory, repeat;
   ``starts`` > 1 repeats this from several seeds and keeps the best;
5. a hard cap on disruption is one more dualised constraint: its multiplier
   (the disruption weight) is searched by bisection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

import components.balance.checks as checks
from components.balance.centers import initial_centers, move_centers
from components.balance.clock import Clock, Progress
from components.balance.contiguity import contiguous_flags, repair
from components.balance.costs import LP_DENSE, LP_SECONDS_PER_PAIR, PairCosts, pair_costs
from components.balance.finish import finish
from components.balance.local_search import LocalSearch, violation
from components.balance.lp import LPResult, solve_lp
from components.balance.primal import iterated_search, primal
from components.balance.relaxation import CandidateRelaxation, totals
from components.errors import ParameterError

OBJECTIVES = ("compactness", "distance")


@dataclass
class Bounds:
    """Per-territory, per-metric bounds in metric units: arrays of shape (m, k)."""

    lower: np.ndarray
    upper: np.ndarray
    target: np.ndarray


def tolerance_bounds(metrics: np.ndarray, m: int, tolerance: np.ndarray | float,
                     shares: np.ndarray | None = None) -> Bounds:
    """Bounds ``(1 -+ tol_k) * share_i * total_k`` (shares default to 1/m each)."""
    share = np.full(m, 1.0 / m) if shares is None else np.asarray(shares, float) / np.sum(shares)
    target = share[:, None] * metrics.sum(axis=0)[None, :]
    tol = np.broadcast_to(np.asarray(tolerance, dtype=float), (metrics.shape[1],))
    return Bounds(target * (1 - tol), target * (1 + tol), target)


def s_best(labels: np.ndarray, load: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Territory totals (m, k) of ``labels``."""
    return totals(labels, load, len(like))


def _range(sums: np.ndarray, target: np.ndarray) -> float:
    """The widest balance range over metrics: max - min of total / target."""
    ratio = np.divide(sums, target, out=np.ones_like(sums), where=target > 0)
    return float((ratio.max(axis=0) - ratio.min(axis=0)).max()) if ratio.size else 0.0


def _gap(best: tuple | None, bound: float) -> float | None:
    """Relative gap of a primal ``(violation, cost, labels)`` that meets every bound."""
    if best is None or best[0] > 1e-9 or best[1] <= 0:
        return None
    return max(0.0, (best[1] - bound) / abs(best[1]))


def _unit_scale(coords: np.ndarray) -> np.ndarray:
    """Coordinates moved and scaled into [-1, 1]: centers only compare positions, and
    squared distances of raw coordinates near 1e300 would overflow."""
    xy = np.asarray(coords, dtype=float)
    finite = np.isfinite(xy).all(axis=1)
    if not finite.any():
        return np.zeros_like(xy)
    mid = (xy[finite].max(axis=0) + xy[finite].min(axis=0)) / 2
    span = float(np.max(np.abs(xy[finite] / 2 - mid / 2))) * 2  # halves: no overflow
    return (xy - mid) / span if span > 0 else xy - mid


@dataclass
class _Attempt:
    labels: np.ndarray
    centers: np.ndarray
    result: dict
    key: tuple


class TerritoryBalancer:
    """Balanced, contiguous, compact territories on a unit adjacency graph.

    Parameters are stored by ``__init__``; data is given to :meth:`solve`,
    which sets ``labels_``, ``centers_``, ``objective_``, ``bound_``, ``gap_``,
    ``status_``, ``stopped_by_``, ``iterations_``, ``seconds_``, ``contiguous_``,
    ``moved_share_``, ``forbidden_``.

    >>> import numpy as np, scipy.sparse as sp
    >>> g = sp.diags([1.0, 1.0], [-1, 1], shape=(6, 6), format="csr")  # a path
    >>> b = TerritoryBalancer(2, tolerance=0.0, seed=0).solve(
    ...     g, np.ones((6, 1)), coords=np.c_[np.arange(6.0), np.zeros(6)])
    >>> sorted(np.bincount(b.labels_).tolist())
    [3, 3]
    """

    # results, set by :func:`components.balance.finish.finish`
    labels_: np.ndarray
    centers_: np.ndarray
    distances_: np.ndarray
    objective_: float
    cost_objective_: float
    bound_: float
    bound_kind_: str
    bound_scope_: str
    gap_: float | None
    totals_: np.ndarray
    bounds_: Bounds
    violation_: float
    contiguous_: np.ndarray
    forbidden_: int
    moved_share_: float | None
    locked_ok_: bool
    status_: str
    stopped_by_: str
    needed_tolerance_: float | None
    seconds_: float

    def __init__(self, n_territories: int, *, tolerance: float | list[float] | np.ndarray = 0.05,
                 max_iter: int = 200, time_limit: float = 60.0, seed: int = 0,
                 center_iterations: int = 8, disruption_weight: float = 0.0,
                 max_moved: float | None = None, objective: str = "compactness",
                 max_distance: float | None = None, starts: int = 0,
                 kicks: int = 200, lp: bool = True, progress: Progress | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self.n_territories = n_territories
        self.tolerance = tolerance
        self.max_iter = max_iter
        self.time_limit = time_limit
        self.seed = seed
        self.center_iterations = center_iterations
        self.disruption_weight = disruption_weight
        self.max_moved = max_moved
        self.objective = objective
        self.max_distance = max_distance
        self.starts = starts
        self.kicks = kicks
        self.lp = lp
        self.progress = progress
        self.clock = clock

    # -- public -------------------------------------------------------------------------
    def solve(self, graph: sp.csr_matrix, metrics: np.ndarray, *, coords: np.ndarray,
              weights: np.ndarray | None = None, centers: np.ndarray | None = None,
              bounds: Bounds | None = None, current: np.ndarray | None = None,
              locked: np.ndarray | None = None, unit_region: np.ndarray | None = None,
              territory_region: np.ndarray | None = None,
              names: checks.Names | None = None) -> TerritoryBalancer:
        """Solve.

        graph : (n, n) symmetric csr matrix, data = edge length (> 0), connected within
            each region.
        metrics : (n, k) non-negative metric values.
        coords : (n, 2) planar coordinates, used to seed and move centers.
        weights : (n,) objective weight of each unit (default: first metric).
        centers : (m,) unit index of each territory's center, -1 where free;
            None means all free.
        bounds : per-territory bounds; default from ``tolerance``.
        current : (n,) territory index (0..m-1) each unit is in today, or -1;
            drives disruption cost, ``max_moved`` and ``moved_share_``.
        locked : (n,) territory index a unit must stay in, or -1.
        unit_region, territory_region : (n,) and (m,) region codes; a unit may only
            join a territory of its region. Territories of free centers get theirs
            from ``territory_region``.
        names : what messages call metrics, units and territories (default: positions).
        """
        self._clock = Clock(self.time_limit, now=self.clock, progress=self.progress)
        m = int(self.n_territories)
        metrics = np.asarray(metrics, dtype=float)
        n = metrics.shape[0]
        if m < 1 or m > n:
            raise ParameterError(f"n_territories must be in [1, {n}]; got {m}",
                                 column="n_territories")
        if self.objective not in OBJECTIVES:
            raise ParameterError(f"objective must be one of {', '.join(OBJECTIVES)}; got "
                                 f"{self.objective!r}", column="objective")
        self._names = names or checks.Names.default(n, metrics.shape[1], m)
        checks.check_values(metrics, self._names)
        graph = sp.csr_matrix(graph)
        w = checks.weights(metrics, weights)
        self._w_user = (np.asarray(weights, float) if weights is not None
                        else (metrics[:, 0] if metrics.shape[1] else np.ones(n)))
        bounds = bounds or tolerance_bounds(metrics, m, np.asarray(self.tolerance, float))
        checks.check_bounds(metrics, bounds, self._names)
        given = np.full(m, -1) if centers is None else np.asarray(centers, dtype=np.int64)
        locked = np.full(n, -1) if locked is None else np.asarray(locked, dtype=np.int64)
        current = None if current is None else np.asarray(current, dtype=np.int64)
        checks.check_locked(locked, given, m, self._names)
        regions = checks.regions(unit_region, territory_region, given, n, m)
        data = dict(graph=graph, metrics=metrics, w=w, bounds=bounds, current=current,
                    locked=locked, regions=regions, coords=_unit_scale(coords),
                    all_fixed=bool((given >= 0).all()), max_distance=self.max_distance)
        checks.check_locked_reachable(graph, locked, given, self._names)

        self.iterations_ = 0
        self.lp_: LPResult | None = None
        self.center_moves_ = 0
        free = given < 0
        starts = int(self.starts) or (5 if n <= 300 else 3 if n <= 700 else 1)
        starts = starts if free.any() else 1
        best: _Attempt | None = None
        for s in range(starts):
            if s and self._clock.expired():
                break
            rng = np.random.default_rng(self.seed + s)
            ctr = initial_centers(data, given, current, locked, m, rng, spread=s > 0)
            attempt = self._seek_centers(data, ctr, free, s)
            if best is None or attempt.key < best.key:
                best = attempt
        assert best is not None
        finish(self, data, best)
        return self

    # -- the outer loops ----------------------------------------------------------------
    def _seek_centers(self, data: dict, ctr: np.ndarray, free: np.ndarray, s: int) -> _Attempt:
        """Center rounds (relaxation and repair only), then one full solve for the last
        centers. The number of rounds is fixed (``center_iterations``); the clock can only
        cut it short."""
        last = None  # (result, its centers, seconds it took)
        if free.any():
            for r in range(self.center_iterations - 1):
                if self._clock.expired():
                    break
                t0 = self._clock.elapsed()
                result = self._solve_capped(data, ctr, final=False)
                last = (result, ctr, self._clock.elapsed() - t0)
                moved = move_centers(data, result["labels"], ctr, free)
                changed = int((moved != ctr).sum())
                self._clock.phase(f"centers {s + 1}.{r + 1}",
                                  balance_range=result["range"],
                                  detail=f"{changed} center(s) moved")
                if not changed or self._clock.remaining() < 2 * last[2]:
                    # (no time for another round's distances: stay on these centers)
                    break
                self.center_moves_ += changed
                ctr = moved
        if last is not None and self._clock.remaining() < 2 * last[2]:
            # the final solve (distances, relaxation, repair) cannot be interrupted midway
            # and would run past the time limit: the last round's answer is the answer
            self._clock.hit = True
            result, ctr = last[0], last[1]
            return _Attempt(result["labels"], ctr, result, result["key"])
        result = self._solve_capped(data, ctr, final=True)
        return _Attempt(result["labels"], ctr, result, result["key"])

    def _solve_capped(self, data: dict, ctr: np.ndarray, final: bool) -> dict:
        """Solve with the disruption weight; with ``max_moved``, search that weight."""
        n = len(data["w"])
        # big maps: no local search during the iterations, one polish from the best
        # multipliers at the end (a relaxed answer near the dual optimum is nearly balanced)
        every = 5 if n <= 5000 else (50 if n <= 20000 else 0)
        kwargs: dict = dict(max_iter=self.max_iter if final else 40,
                            primal_every=every if final else 0, polish=final)
        result = self._solve_fixed(data, ctr, self.disruption_weight, **kwargs)
        cap = self.max_moved
        if cap is None or data["current"] is None or result["moved"] <= cap + 1e-12:
            return result
        # bisection on the multiplier of the disruption cap
        lo_w, hi_w = self.disruption_weight, max(self.disruption_weight, 0.05)
        best_ok = None
        for _ in range(12):
            if self._clock.expired():
                break
            trial = self._solve_fixed(data, ctr, hi_w, **kwargs)
            if trial["moved"] <= cap + 1e-12:
                best_ok = trial
                break
            lo_w, hi_w = hi_w, hi_w * 4
        if best_ok is None:
            result["cap_met"] = False
            return result
        for _ in range(4):
            if self._clock.expired():
                break
            mid = (lo_w + hi_w) / 2
            trial = self._solve_fixed(data, ctr, mid, **kwargs)
            if trial["moved"] <= cap + 1e-12:
                best_ok, hi_w = trial, mid
            else:
                lo_w = mid
        return best_ok

    # -- one fixed set of centers -------------------------------------------------------
    def _costs(self, data: dict, ctr: np.ndarray, disruption_weight: float) -> PairCosts:
        return pair_costs(data, ctr, disruption_weight, self.objective, self.max_distance)

    def _solve_fixed(self, data: dict, ctr: np.ndarray, disruption_weight: float,
                     max_iter: int, primal_every: int = 5,
                     polish: bool = True) -> dict:
        """Subgradient search for one center set. ``primal_every``: local search every so
        many iterations (0: never during the loop); ``polish``: a last local search from
        the best multipliers (off: the repaired relaxed assignment, enough to move
        centers)."""
        graph, metrics, b = data["graph"], data["metrics"], data["bounds"]
        m, n = len(ctr), len(data["w"])
        pc = self._costs(data, ctr, disruption_weight)
        cost, forbid, fixed = pc.cost, pc.forbid, pc.fixed
        self._pc = pc
        # one scale per metric (total / m) so metrics of any size weigh alike
        scale = np.maximum(metrics.sum(axis=0) / m, 1e-300)
        load = metrics / scale
        lo, hi, tgt = b.lower / scale, b.upper / scale, b.target / scale
        search = LocalSearch(graph, cost, load, lo, hi, tgt, fixed, forbid)
        locked = pc.fix
        relax = CandidateRelaxation(pc, load, lo, hi)

        lam = np.zeros((m, metrics.shape[1]))
        best_lam = lam
        theta, best_bound, stall = 2.0, -np.inf, 0
        best = None  # (violation, cost, labels)
        tried: set[bytes] = set()
        stopped_by = "iteration_limit"
        it = 0
        rows = np.arange(n)
        bound_kind = "lagrangian"
        # HiGHS's presolve does not stop at its time limit (measured: 3 CPU s on 30k units x
        # 100 territories with 0.75 s given), so the LP is only started with time for it
        fits = self._clock.real_remaining() / 2 >= LP_SECONDS_PER_PAIR * len(pc.pairs)
        dense = pc.dense() if polish and self.lp and m * n <= LP_DENSE and fits else None
        lp = solve_lp(*dense, load, lo, hi, self._clock.real_remaining() / 2) \
            if dense is not None else None
        if lp is not None and dense is not None:
            # optimal multipliers at once: the bound is L(lambda) over every territory, the
            # LP vertex rounded is the first primal; no subgradient steps are needed
            best_bound = pc.bound(lp.lam, load, lo, hi)
            best_lam, max_iter, stopped_by = lp.lam, 0, "converged"
            bound_kind = "lp_relaxation" if lp.full else "lagrangian_lp_multipliers"
            self.lp_ = lp
            self._clock.phase("lp relaxation", balance_range=None, gap=None,
                              detail=f"{lp.pairs:,} columns, {lp.split} split unit(s), "
                                     f"bound {best_bound:,.6g}")
            best = primal(self._clock, graph, lp.labels, ctr, pc.reduced(lp.lam, load), search,
                          cost, forbid, load, lo, hi, locked, best)
            if load.shape[1] > 1 and best[0] > 1e-9:
                # several metrics: the LP's multipliers pull a unit by its mix of metrics,
                # which scatters territories; balancing the first metric alone keeps them
                # compact (Zoltners & Sinha), and the local search then evens the others
                one = solve_lp(*dense, load[:, :1], lo[:, :1], hi[:, :1],
                               self._clock.real_remaining() / 2)
                if one is not None:
                    best = primal(self._clock, graph, one.labels, ctr,
                                  pc.reduced(one.lam, load[:, :1]), search, cost,
                                  forbid, load, lo, hi, locked, best)
        for it in range(1, max_iter + 1):
            lab, bound, s = relax.evaluate(lam)
            if not np.isfinite(best_bound) or bound > best_bound + 1e-9 * max(1.0,
                                                                               abs(best_bound)):
                best_bound, best_lam, stall = bound, lam, 0
            else:
                stall += 1
                if stall >= 8:
                    theta, stall = theta / 2, 0
            key = lab.tobytes()
            if primal_every and key not in tried and (it <= 3 or it % primal_every == 0):
                tried.add(key)
                best = primal(self._clock, graph, lab, ctr, pc.reduced(lam, load), search,
                              cost, forbid, load, lo, hi, locked, best)
            g = np.where(lam > 0, lo - s, np.where(lam < 0, hi - s, 0.0))
            g = np.where(lam == 0, np.where(s < lo, lo - s, np.where(s > hi, hi - s, 0.0)), g)
            gnorm = float((g ** 2).sum())
            ub = best[1] if best is not None and best[0] <= 1e-9 else None
            if gnorm <= 1e-18 or theta < 1e-4 or (
                    ub is not None and ub - best_bound <= 1e-6 * max(1.0, abs(ub))):
                stopped_by = "converged"
                break
            if self._clock.expired():
                stopped_by = "time_limit"
                break
            target_value = ub if ub is not None else best_bound + 0.05 * abs(best_bound) + 1e-9
            step = theta * max(target_value - bound, 1e-9 * max(1.0, abs(bound))) / gnorm
            lam = lam + step * g
        self.iterations_ += it
        if it:  # the loop's values count the stored pairs only: the bound over every pair
            best_bound = pc.bound(best_lam, load, lo, hi)
        # one more primal from the best multipliers (always: it is the answer when the
        # loop ran none, and often the best one when it did)
        reduced = pc.reduced(best_lam, load)
        lab = pc.pairs.row_min(reduced.vals)[1]
        if polish:
            self._clock.phase("relaxation", balance_range=_range(s_best(lab, load, lo), tgt),
                              gap=None, detail=f"{it} iterations, bound {best_bound:,.6g}")
            # the repair always runs (contiguity); the local search stops at the time limit
            best = primal(self._clock, graph, lab, ctr, reduced, search, cost, forbid, load,
                          lo, hi, locked, best)
            self._clock.phase("local search", balance_range=_range(s_best(best[2], load, lo),
                                                                   tgt),
                              gap=_gap(best, best_bound))
            best = iterated_search(self, graph, best, ctr, search, cost, forbid, load, lo, hi)
        else:
            best = (0.0, 0.0, repair(graph, lab, ctr, reduced, locked))
        labels = best[2]
        moved = 0.0
        if data["current"] is not None:
            a = metrics[:, 0] if metrics.shape[1] else np.ones(n)
            cur = data["current"]  # a unit with no current territory (-1) is not moved
            moved = float(a[(labels != cur) & (cur >= 0)].sum() / max(a.sum(), 1e-300))
        n_forbidden = int(pc.hard_at(labels, rows).sum())
        contiguous = bool(contiguous_flags(graph, labels, m).all())
        s_final = s_best(labels, load, lo)
        viol = float(violation(s_final, lo, hi).sum())
        return {"labels": labels, "bound": best_bound, "range": _range(s_final, tgt),
                "pc": pc,
                "stopped_by": stopped_by, "violation": viol, "moved": moved,
                "bound_kind": bound_kind,
                "forbidden": n_forbidden, "cap_met": True,
                "key": (n_forbidden, not contiguous, round(viol, 12),
                        float(pc.base[labels, rows].sum()))}

    # -- pieces -------------------------------------------------------------------------

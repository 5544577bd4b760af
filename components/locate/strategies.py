"""The coverage and p-center strategies of :class:`~components.locate.solver.LocationAllocator`.

Functions here take the solver as ``self`` (the state :meth:`solve` prepared: ``_D``,
``_allowed``, ``_comp_cost``, ``_w``, ``_penalty``) and set its answer attributes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import components.locate.backup as backup_mod
import components.locate.cover as cover_mod
from components.errors import InfeasibleError
from components.locate.checks import _fmt
from components.locate.engine import SiteRules
from components.locate.median import solve_median


def max_backup(self, p: int, rules: SiteRules, deadline: float) -> None:
    """Backup coverage (Hogan & ReVelle): once- and twice-covered demand."""
    D, allowed, comp_cost, w = self._D, self._allowed, self._comp_cost, self._w
    n, m = D.shape
    within = allowed & (D <= self.radius) & (D <= comp_cost[:, None])
    opened, value, upper, st = backup_mod.max_backup(
        within.astype(float), w, self.backup_weight, p, rules.fixed, rules.eligible,
        deadline, self.exact == "always" or (self.exact == "auto" and n * m <= 60_000))
    total = float(w.sum())
    self.open_, self.objective_, self.bound_ = opened, total - value, total - upper
    self.bound_kind_ = "coverage"
    counts = within[:, opened].sum(axis=1)
    self.stats_.update(st, covered_once=float(w[counts >= 1].sum()),
                       covered_twice=float(w[counts >= 2].sum()), score=value)
    self._allocate_radius(self.radius)


def max_coverage(self, p: int, rules: SiteRules, rng: np.random.Generator, deadline: float,
                 coords: Any, iters: int, patience: int) -> None:
    """The p-median engine on 0/1 costs (uncovered demand)."""
    D, allowed, comp_cost, w = self._D, self._allowed, self._comp_cost, self._w
    within = allowed & (D <= self.radius) & (D <= comp_cost[:, None])
    c01 = np.where(within, 0.0, w[:, None])
    res = solve_median(c01, p, rules, rng, deadline=deadline, coords=coords, weights=w,
                       exact=self.exact, max_iterations=iters, patience=patience,
                       target_gap=self.target_gap)
    # objective: uncovered demand (minimised, like every strategy); the gap is
    # measured on covered demand against its upper bound
    self.open_ = res.open
    self.objective_, self.bound_ = res.objective, res.bound
    self.bound_kind_ = "coverage"
    self.stats_.update(res.stats)
    self._allocate_radius(self.radius)


def min_facilities(self, rules: SiteRules, rng: np.random.Generator, deadline: float) -> None:
    """Fewest sites covering every point it can win within the radius."""
    D, allowed, comp_cost, w = self._D, self._allowed, self._comp_cost, self._w
    n, m = D.shape
    elig = rules.eligible
    # a site covers a point it can win: within the radius and no farther than the
    # point's nearest competitor (a strictly closer competitor captures it). Points
    # no eligible site can cover (beyond the radius when unassigned points are
    # allowed, or lost to competitors) are not asked for: they are reported.
    cover = allowed & (D <= self.radius) & (D <= comp_cost[:, None])
    need = cover[:, elig].any(axis=1)
    opened, bound, st = cover_mod.min_facilities(
        cover[need], w[need], rules, rng, deadline, self.exact != "never"
        and (self.exact == "always" or n * m <= 4_000_000))
    self.open_ = opened
    self.objective_ = float(len(opened))
    self.bound_ = bound
    self.stats_.update(st, exempt_points=int((~need).sum()))
    self._allocate_radius(self.radius)
    missed = need & ~(cover[:, opened].any(axis=1))
    if missed.any():
        if st.get("milp_status") == "infeasible":
            raise InfeasibleError(
                f"no set of sites within the budget/group limits covers every point "
                f"within radius {_fmt(self.radius)} ({int(missed.sum())} point(s) left "
                "out by the best set found); raise the budget or the radius, or use "
                "max_coverage")
        self.violation_ = float(w[missed].sum())


def p_center(self, p: int, rules: SiteRules, rng: np.random.Generator, deadline: float,
             iters: int, patience: int) -> None:
    """p-center: a p-median start, then the radius search (:mod:`cover`)."""
    D, allowed, comp_cost, w = self._D, self._allowed, self._comp_cost, self._w
    n, m = D.shape
    penalty = self._penalty
    Dc = np.where(allowed, np.minimum(D, comp_cost[:, None]),
                  np.minimum(comp_cost, penalty)[:, None])
    pos = w > 0
    capd = Dc[pos] if pos.any() else Dc
    # a p-median start for the radius search: a budget in iterations (the time
    # limit only a cap), so the answer does not depend on the machine's load
    base = solve_median(np.where(np.isfinite(capd), capd, penalty) * 1.0, p, rules, rng,
                        deadline=deadline, coords=None,
                        weights=w[pos] if pos.any() else w, exact="never",
                        # capped: a start only (p=200 spent 20 CPU s here)
                        max_iterations=min(iters, 1000), patience=min(patience, 100),
                        target_gap=self.target_gap, heuristic_share=0.5)
    exact = self.exact == "always" or (self.exact == "auto" and n * m <= 250_000)
    opened, ub, lb, st = cover_mod.p_center(capd, p, rules, rng, deadline, base.open,
                                            exact)
    self.open_ = opened
    self.objective_, self.bound_ = ub, lb
    self.stats_.update(st)
    self._allocate_nearest()

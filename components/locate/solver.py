"""Location allocation on a cost matrix: :class:`LocationAllocator`.

Strategies (``strategy``):

* ``min_total_cost`` (p-median; with opening costs: p-median plus fixed costs)::

      min  sum_ij w_i c_ij x_ij + sum_j f_j y_j
      s.t. sum_j x_ij = 1 (or the point is left out / captured, see below)
           sum_j y_j = p,  x_ij <= y_j,  y_r = 1 for required sites r
           L_j y_j <= sum_i a_i x_ij <= U_j y_j          (load limits, single sourcing)
           closest assignment, budget sum_j b_j y_j <= B, per-group limits
* ``min_max_cost`` (p-center): minimise the largest unit cost ``c_ij`` of a served
  point (weights do not scale it; points of weight 0 are ignored).
* ``max_coverage``: maximise the demand within ``radius`` of an open site.
* ``max_backup_coverage``: maximise ``(1 - backup_weight)`` x demand covered once plus
  ``backup_weight`` x demand covered twice (Hogan & ReVelle, :mod:`~components.locate.backup`).
* ``min_facilities``: fewest sites covering every point within ``radius`` (a point a
  competitor is strictly closer to than every candidate within the radius is not asked
  for: it is reported as captured); budget and group limits hold.

* ``max_market_share`` / ``target_market_share``: Huff gravity model against the
  competitors (:mod:`~components.locate.share`, :mod:`~components.locate.huff`).

Load limits apply to ``min_total_cost``, ``min_max_cost`` (capacitated p-center),
``max_coverage`` and ``min_facilities`` (:mod:`~components.locate.capcover`); the other
strategies refuse them with the reason. Closest assignment is ``min_total_cost`` only.
``loads`` (what a point puts on a capacity) may differ from ``weights`` (what scales its
cost). Parts of the class live in :mod:`~components.locate.checks` (parameter and
feasibility checks), :mod:`~components.locate.loaded` (load limits) and
:mod:`~components.locate.auto` (``facilities_mode='auto'``).
``facilities_mode`` (exactly / at most p / auto) is described on the class.

Fallbacks, folded into the costs (``c'_ij = min(c_ij, cap_i)``):

* competitors (fixed, never ours): a point is captured when its nearest competitor
  is strictly closer than every open site of ours (deterministic "nearest wins"
  capture, not a Huff share); a captured point costs its competitor distance;
* ``max_cost``: pairs beyond it are not allowed; a point with no open site within it
  stays unassigned at ``unassigned_penalty`` per unit of weight;
* forbidden pairs / unreachable pairs: not allowed (same as beyond ``max_cost``).

Method per strategy: see :mod:`~components.locate.median` (Weber start, fast
interchange, VNS, Lagrangian bound, HiGHS), :mod:`~components.locate.capacity`
(load limits, closest assignment) and :mod:`~components.locate.cover`.

Example
-------
>>> import numpy as np
>>> pts = np.array([[0, 0], [1, 0], [10, 0], [11, 0]], float)
>>> costs = np.abs(pts[:, None, 0] - pts[None, :, 0])
>>> la = LocationAllocator("min_total_cost", 2, seed=0).solve(costs)
>>> la.objective_, la.status_, len(la.open_)
(2.0, 'optimal', 2)
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

import components.locate.auto as auto_mod
import components.locate.capcover as capcover
import components.locate.checks as checks
import components.locate.large as large
import components.locate.loaded as loaded
import components.locate.outcome as outcome
import components.locate.share as share_mod
import components.locate.strategies as strategies
from components.errors import InputError
from components.locate.checks import (  # noqa: F401 (STRATEGIES, EXACT, MODES re-exported)
    EXACT,
    MODES,
    SHARE,
    STRATEGIES,
    _add_empty_slots,
    _fmt,
    _mask,
)
from components.locate.engine import SiteRules
from components.locate.outcome import OPTIMAL_GAP, REASONS  # noqa: F401 (re-exported)
from components.locate.sparse import CandidateLists, check_dense


class LocationAllocator:
    """Choose sites and allocate demand to them, with a certified gap.

    Parameters (stored as given; checked in :meth:`solve`)
    ----------
    strategy : one of STRATEGIES
    facilities : int or None
        p, the number of open sites of ours (required sites included). Not used by
        ``min_facilities``; an optional cap with ``facilities_mode='auto'``.
    facilities_mode : {'exactly', 'at_most', 'auto'}
        ``min_total_cost`` only (the other strategies never gain from fewer sites, so
        'at_most' is 'exactly' for them). 'at_most': open at most p, trading opening
        costs and load limits against assignment cost (empty slots are dummy sites that
        serve nobody, so the interchange, the bound and HiGHS need no other change).
        'auto': the solver chooses p. With opening costs that is 'at_most' with p = the
        number of candidates (or ``facilities`` when given: a cap that keeps large
        candidate sets fast); without them more sites never cost more, so 'auto' picks
        the smallest p for which every constraint holds (capacities, min loads, and every
        point served within ``max_cost`` unless ``allow_unassigned``), by doubling and
        bisection over p (exact when feasibility grows with p, as it does for
        capacities and max_cost), and reports the gap for that p.
    radius : float or None
        Coverage cutoff for ``max_coverage`` / ``min_facilities``.
    min_load, max_load : float or None
        Load limits per open site, in weight units (per-site capacities override
        ``max_load`` when given to :meth:`solve`).
    closest_assignment : bool
        Every point is served by its nearest open site (ties by site rank).
    allow_unassigned : bool
        Points may stay unassigned when capacities are too tight (reported).
    unassigned_penalty : float or None
        Cost per unit of weight of an unassigned point (default: 10 x the largest cost).
    budget : float or None
        Total opening cost of the open sites.
    exact : {'auto', 'always', 'never'}
        HiGHS on the exact model: 'auto' when the instance is small enough.
    time_limit : float
        Wall-clock limit in seconds for the whole solve.
    seed : int
    max_iterations, patience : int or None
        VNS iterations, and iterations without improvement before stopping.
    target_gap : float
        Relative gap at which the search stops proving (the exact HiGHS step included);
        'optimal' is reported only for a gap <= 1e-6, whatever this tolerance.

    Attributes after :meth:`solve`
    ---------------------
    open_ : site indices; assignment_ : site per point (-1 unassigned, -2 captured by
    a competitor); competitor_ : competitor per captured point (-1 otherwise);
    reason_ : why a point is not served by us ('' when served); unit_cost_, loads_,
    objective_ (minimised: cost, max cost, uncovered demand or site count), lower_bound_, gap_,
    status_ ('optimal', 'feasible', 'no_feasible_found' with ``violation_`` > 0; a proven
    infeasibility raises InfeasibleError), stopped_by_ ('gap closed', 'time_limit',
    'search finished'), stats_, seconds_.
    """

    # the answer, set by solve (declared for type checkers)
    open_: np.ndarray
    assignment_: np.ndarray
    reason_: np.ndarray
    objective_: float
    bound_: float
    lower_bound_: float
    gap_: float | None
    status_: str
    stopped_by_: str
    seconds_: float
    violation_: float
    unit_cost_: np.ndarray          # cost of each point's assignment (NaN: unserved)
    competitor_: np.ndarray         # the competitor a point goes to (-1: none)
    loads_: np.ndarray              # load on each open site
    competitor_loads_: np.ndarray   # Huff: demand each competitor keeps
    market_share_: float            # Huff: share of the demand captured
    _share: tuple[Any, ...]         # Huff: (utilities, shares, captured, upper bound)

    def __init__(self, strategy: str = "min_total_cost", facilities: int | None = None, *,
                 radius: float | None = None, min_load: float | None = None,
                 max_load: float | None = None, closest_assignment: bool = False,
                 allow_unassigned: bool = False, unassigned_penalty: float | None = None,
                 budget: float | None = None, exact: str = "auto", time_limit: float = 60.0,
                 seed: int = 0, max_iterations: int | None = None, patience: int | None = None,
                 target_gap: float = 1e-6, facilities_mode: str = "exactly",
                 decay: str = "power", decay_rate: float = 2.0, cutoff: float | None = None,
                 target_share: float | None = None, backup_weight: float = 0.5) -> None:
        self.strategy = strategy
        self.facilities = facilities
        self.facilities_mode = facilities_mode
        self.radius = radius
        self.min_load = min_load
        self.max_load = max_load
        self.closest_assignment = closest_assignment
        self.allow_unassigned = allow_unassigned
        self.unassigned_penalty = unassigned_penalty
        self.budget = budget
        self.exact = exact
        self.time_limit = time_limit
        self.seed = seed
        self.max_iterations = max_iterations
        self.patience = patience
        self.target_gap = target_gap
        self.decay = decay
        self.decay_rate = decay_rate
        self.cutoff = cutoff
        self.target_share = target_share
        self.backup_weight = backup_weight

    # ------------------------------------------------------------------ checks
    _check_params = checks.check_params
    _load_limits = checks.load_limits
    _feasibility = checks.feasibility
    _solve_auto = auto_mod.solve_auto
    _min_total_cost = loaded.min_total_cost

    def solve(self, costs: Any, weights: Any = None, *, required: Any = None,
              eligible: Any = None, opening_costs: Any = None, budget_costs: Any = None,
              capacities: Any = None, min_loads: Any = None, groups: Any = None,
              group_max: Any = None, competitor_costs: Any = None, max_cost: float | None = None,
              forbidden: Any = None, required_pairs: Any = None, site_rank: Any = None,
              coords: tuple[np.ndarray, np.ndarray] | None = None,
              site_names: Any = None, loads: Any = None, attractiveness: Any = None,
              competitor_attractiveness: Any = None) -> LocationAllocator:
        """Solve on ``costs`` (n points x m sites, unit costs, ``inf`` = not allowed).

        ``weights`` (n,) demand weights that scale the cost (default 1); ``loads`` (n,) what
        each point puts on a site's capacity and min load (default: ``weights``);
        ``required`` bool (m,) or indices;
        ``eligible`` bool (m,) sites that may open; ``opening_costs`` (m,);
        ``capacities`` / ``min_loads`` (m,) per-site limits; ``groups`` (m,) int codes
        (-1: none) with ``group_max`` (n_groups,); ``competitor_costs`` (n, k) costs to
        competitor sites; ``forbidden`` / ``required_pairs``: (point, site) index pairs;
        ``site_rank`` (m,) tie-break order (site id order); ``coords`` (points, sites)
        planar coordinates for the Weber start; ``site_names`` for messages.
        """
        t0 = time.monotonic()
        self._check_params()
        # every solve starts from clean state: nothing of a previous solve may leak
        for key in [k for k in vars(self) if k.endswith("_") or k.startswith("_")]:
            delattr(self, key)
        self.violation_ = 0.0
        self._deadline = t0 + float(self.time_limit)
        if isinstance(costs, CandidateLists):  # the sparse p-median (no n x m matrix)
            return large.solve_lists(
                self, t0, costs, weights, required=required, eligible=eligible, coords=coords,
                site_names=site_names, site_rank=site_rank, opening_costs=opening_costs,
                budget_costs=budget_costs, capacities=capacities, min_loads=min_loads,
                groups=groups, group_max=group_max, competitor_costs=competitor_costs,
                max_cost=max_cost, forbidden=forbidden, required_pairs=required_pairs,
                loads=loads, attractiveness=attractiveness,
                competitor_attractiveness=competitor_attractiveness)
        # load limits with another strategy than p-median: components.locate.capcover
        if self.strategy != "min_total_cost" and (
                self.min_load is not None or self.max_load is not None
                or capacities is not None or min_loads is not None):
            return capcover.solve_loaded(
                self, t0, costs, weights, loads=loads, required=required, eligible=eligible,
                opening_costs=opening_costs, budget_costs=budget_costs, capacities=capacities,
                min_loads=min_loads, groups=groups, group_max=group_max,
                competitor_costs=competitor_costs, max_cost=max_cost, forbidden=forbidden,
                required_pairs=required_pairs, site_rank=site_rank, site_names=site_names)
        if self.facilities_mode == "auto":
            return self._solve_auto(t0, costs, weights, required=required, eligible=eligible,
                                    opening_costs=opening_costs, budget_costs=budget_costs,
                                    capacities=capacities, min_loads=min_loads, groups=groups,
                                    group_max=group_max, competitor_costs=competitor_costs,
                                    max_cost=max_cost, forbidden=forbidden,
                                    required_pairs=required_pairs, site_rank=site_rank,
                                    coords=coords, site_names=site_names, loads=loads,
                                    attractiveness=attractiveness,
                                    competitor_attractiveness=competitor_attractiveness)
        deadline = t0 + float(self.time_limit)
        rng = np.random.default_rng(self.seed)
        shape = np.shape(costs)
        if len(shape) == 2:  # before any copy: a size message, never a MemoryError
            check_dense(int(shape[0]), int(shape[1]), copies=3)
        D = np.array(costs, dtype=np.float64, copy=True)
        if D.ndim != 2 or D.shape[0] == 0 or D.shape[1] == 0:
            raise InputError(f"costs must be a non-empty 2-D matrix (points x sites); got shape "
                             f"{D.shape}", column="costs")
        n, m = D.shape
        if np.isnan(D).any() or (D < 0).any():
            raise InputError("costs must be >= 0 (inf for pairs that are not allowed); found "
                             f"{int(np.isnan(D).sum())} NaN and {int((D < 0).sum())} negative",
                             column="costs")
        names = np.asarray(site_names if site_names is not None else np.arange(m), dtype=object)
        w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any():
            raise InputError(f"weights must be {n} finite numbers >= 0", column="weight")
        a = w if loads is None else np.asarray(loads, dtype=np.float64)
        if a.shape != (n,) or not np.isfinite(a).all() or (a < 0).any():
            raise InputError(f"loads must be {n} finite numbers >= 0", column="load")
        req = _mask(required, m, "required")
        elig = np.ones(m, dtype=bool) if eligible is None else _mask(eligible, m, "eligible")
        elig |= req
        rank = np.arange(m) if site_rank is None else np.asarray(site_rank)
        opening = None if opening_costs is None else np.asarray(opening_costs, dtype=float)
        bcost = opening if budget_costs is None else np.asarray(budget_costs, dtype=float)
        if forbidden is not None and len(forbidden):
            fp = np.asarray(forbidden, dtype=np.int64).reshape(-1, 2)
            D[fp[:, 0], fp[:, 1]] = np.inf
        if required_pairs is not None and len(required_pairs):
            rp = np.asarray(required_pairs, dtype=np.int64).reshape(-1, 2)
            pts, cnt = np.unique(rp[:, 0], return_counts=True)
            if (cnt > 1).any():
                raise InputError(f"required pairs give point(s) {pts[cnt > 1].tolist()} more "
                                 "than one site; single sourcing allows one", column="pairs")
            keep = D[rp[:, 0], rp[:, 1]].copy()
            D[rp[:, 0], :] = np.inf
            D[rp[:, 0], rp[:, 1]] = keep
            req[rp[:, 1]] = True
            elig[rp[:, 1]] = True
        if max_cost is not None:
            D[D > max_cost] = np.inf
        allowed = np.isfinite(D)
        # the largest finite cost without a copy of the finite entries
        finite_max = float(D.max(where=allowed, initial=-np.inf)) if allowed.any() else 1.0
        penalty = (self.unassigned_penalty if self.unassigned_penalty is not None
                   else 10.0 * max(finite_max, 1e-9))
        comp_cost = np.full(n, np.inf)
        comp_idx = -np.ones(n, dtype=np.int64)
        cc = np.zeros((n, 0))
        if competitor_costs is not None:
            cc = np.asarray(competitor_costs, dtype=float).reshape(n, -1)
            if cc.shape[1]:
                comp_idx = np.argmin(cc, axis=1)
                comp_cost = cc[np.arange(n), comp_idx]
        p: int | None = None if self.strategy in ("min_facilities", "target_market_share") \
            else int(self.facilities or 0)
        at_most = self.facilities_mode == "at_most" and self.strategy == "min_total_cost"
        if at_most and p is not None:
            p = min(p, int(elig.sum()))
        cap_site, low_site = self._load_limits(capacities, min_loads, m)
        self._feasibility(p, req, elig, opening, bcost, groups, group_max, a, cap_site,
                          low_site, names, D, comp_cost, at_most)
        self._m_real = m
        if at_most and p is not None and p > int(req.sum()):
            (D, req, elig, rank, opening, bcost, groups, cap_site, low_site,
             coords) = _add_empty_slots(p - int(req.sum()), D, req, elig, rank, opening, bcost,
                                        groups, cap_site, low_site, coords)
        rules = SiteRules(fixed=req, eligible=elig, opening=opening,
                          budget=self.budget if bcost is not None else None, budget_cost=bcost,
                          group=None if groups is None else np.asarray(groups, dtype=np.int64),
                          group_max=None if group_max is None else np.asarray(group_max))
        self.stats_: dict[str, Any] = {}
        if D.shape[1] != m:
            allowed = np.isfinite(D)
        self._D, self._w, self._a, self._allowed = D, w, a, allowed
        self._comp_cost, self._comp_idx, self._rank = comp_cost, comp_idx, rank
        self._penalty, self._opening = penalty, opening
        coords = coords if coords is not None and p is not None else None
        iters = self.max_iterations or 50 * (p or 1) + 200
        patience = self.patience or max(40, 3 * (p or 1))
        self.bound_kind_ = "lower"

        if self.strategy in SHARE:
            share_mod.solve_share(self, p, rules, deadline, cc, attractiveness,
                                  competitor_attractiveness)
            share_mod.finish(self)
            self._finish(t0)
            return self
        fac = 0 if p is None else p  # every strategy below but min_facilities has p
        if self.strategy == "max_backup_coverage":
            strategies.max_backup(self, fac, rules, deadline)
        elif self.strategy == "max_coverage":
            strategies.max_coverage(self, fac, rules, rng, deadline, coords, iters, patience)
        elif self.strategy == "min_facilities":
            strategies.min_facilities(self, rules, rng, deadline)
        elif self.strategy == "min_max_cost":
            strategies.p_center(self, fac, rules, rng, deadline, iters, patience)
        else:
            self._min_total_cost(p, rules, rng, deadline, coords, w, iters, patience,
                                 cap_site, low_site)
        self._drop_empty_slots()
        self._finish(t0)
        return self

    # ------------------------------------------------------------------ outcome
    _drop_empty_slots = outcome.drop_empty_slots
    _allocate_nearest = outcome.allocate_nearest
    _allocate_radius = outcome.allocate_radius
    _set_assignment = outcome.set_assignment
    _finish = outcome.finish

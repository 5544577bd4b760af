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
* ``min_facilities``: fewest sites covering every point within ``radius`` (a point a
  competitor is strictly closer to than every candidate within the radius is not asked
  for: it is reported as captured); budget and group limits hold.

Load limits and closest assignment apply to ``min_total_cost`` only (refused with a
ParameterError elsewhere): p-center, coverage and fewest-sites are uncapacitated.
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

from components.errors import InfeasibleError, InputError, ParameterError, TooManyTerritoriesError
from components.locate import capacity as cap_mod
from components.locate import cover as cover_mod
from components.locate import share as share_mod
from components.locate.engine import SiteRules
from components.locate.median import solve_median
from components.locate.milp import SiteSide, assignment_model

STRATEGIES = ("min_total_cost", "min_max_cost", "max_coverage", "min_facilities",
              "max_market_share", "target_market_share")
SHARE = ("max_market_share", "target_market_share")
EXACT = ("auto", "always", "never")
MODES = ("exactly", "at_most", "auto")
REASONS = {"competitor": "captured by a competitor (closer than every open site)",
           "beyond": "no open site within max_cost, or every pair forbidden/unreachable",
           "radius": "no open site within the radius",
           "capacity": "left out: open sites have no capacity left",
           "limits": "load limits violated"}


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.4g}"


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
        Relative gap at which the search stops proving.

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

    def __init__(self, strategy: str = "min_total_cost", facilities: int | None = None, *,
                 radius: float | None = None, min_load: float | None = None,
                 max_load: float | None = None, closest_assignment: bool = False,
                 allow_unassigned: bool = False, unassigned_penalty: float | None = None,
                 budget: float | None = None, exact: str = "auto", time_limit: float = 60.0,
                 seed: int = 0, max_iterations: int | None = None, patience: int | None = None,
                 target_gap: float = 1e-6, facilities_mode: str = "exactly",
                 decay: str = "power", decay_rate: float = 2.0, cutoff: float | None = None,
                 target_share: float | None = None) -> None:
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

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ParameterError(f"strategy must be one of {', '.join(STRATEGIES)}; got "
                                 f"{self.strategy!r}", column="strategy")
        if self.exact not in EXACT:
            raise ParameterError(f"exact must be one of {', '.join(EXACT)}; got {self.exact!r}",
                                 column="exact")
        if self.facilities_mode not in MODES:
            raise ParameterError(f"facilities_mode must be one of {', '.join(MODES)}; got "
                                 f"{self.facilities_mode!r}", column="facilities_mode")
        if self.facilities_mode == "auto" and self.strategy != "min_total_cost":
            raise ParameterError(
                f"facilities_mode 'auto' applies to strategy 'min_total_cost' only (use "
                f"'min_facilities' for the fewest sites covering a radius); got strategy "
                f"{self.strategy!r}", column="facilities_mode")
        auto = self.facilities_mode == "auto" and self.facilities is None
        if self.strategy == "target_market_share" and not (
                self.target_share is not None and 0 < self.target_share <= 1):
            raise ParameterError(f"strategy 'target_market_share' needs target_share in (0, 1] "
                                 f"(--target-share F); got {self.target_share!r}",
                                 column="target_share")
        if self.strategy in SHARE and (self.decay not in ("power", "exponential")
                                       or not self.decay_rate > 0):
            raise ParameterError(f"decay must be 'power' or 'exponential' with decay_rate > 0; "
                                 f"got {self.decay!r}, {self.decay_rate!r}", column="decay")
        if self.strategy not in ("min_facilities", "target_market_share") and not auto:
            if self.facilities is None or isinstance(self.facilities, bool) or \
                    int(self.facilities) != self.facilities or self.facilities < 1:
                raise ParameterError(
                    f"facilities (p) must be an integer >= 1 for strategy {self.strategy!r}; "
                    f"got {self.facilities!r}", column="facilities")
        if self.strategy in ("max_coverage", "min_facilities") and (
                self.radius is None or not self.radius > 0):
            raise ParameterError(f"strategy {self.strategy!r} needs radius > 0 (--radius R); "
                                 f"got {self.radius!r}", column="radius")
        for name in ("min_load", "max_load", "budget", "unassigned_penalty"):
            v = getattr(self, name)
            if v is not None and not (np.isfinite(v) and v >= 0):
                raise ParameterError(f"{name} must be a number >= 0; got {v!r}", column=name)
        if self.min_load is not None and self.max_load is not None and \
                self.min_load > self.max_load:
            raise ParameterError(f"min_load ({_fmt(self.min_load)}) is above max_load "
                                 f"({_fmt(self.max_load)})", column="min_load")
        if self.strategy != "min_total_cost" and (
                self.min_load is not None or self.max_load is not None
                or self.closest_assignment):
            raise ParameterError(
                f"min_load, max_load and closest_assignment apply to strategy "
                f"'min_total_cost' only; got strategy {self.strategy!r}. The other strategies "
                "are uncapacitated here: for capacitated coverage use min_total_cost with "
                "max_cost (the radius) and allow_unassigned, which serves as much demand "
                "within the radius as the capacities allow", column="strategy")
        if not self.time_limit > 0:
            raise ParameterError(f"time_limit must be > 0 seconds; got {self.time_limit!r}",
                                 column="time_limit")

    # ------------------------------------------------------------------ solve
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
        np.zeros((n,), dtype=bool)
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
        finite_max = float(D[np.isfinite(D)].max()) if np.isfinite(D).any() else 1.0
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
        p = None if self.strategy in ("min_facilities", "target_market_share") \
            else int(self.facilities)
        at_most = self.facilities_mode == "at_most" and self.strategy == "min_total_cost"
        if at_most:
            p = min(p, int(elig.sum()))
        cap_site, low_site = self._load_limits(capacities, min_loads, m)
        self._feasibility(p, req, elig, opening, bcost, groups, group_max, a, cap_site,
                          low_site, names, D, comp_cost, at_most)
        self._m_real = m
        if at_most and p > int(req.sum()):
            (D, req, elig, rank, opening, bcost, groups, cap_site, low_site,
             coords) = _add_empty_slots(p - int(req.sum()), D, req, elig, rank, opening, bcost,
                                        groups, cap_site, low_site, coords)
        rules = SiteRules(fixed=req, eligible=elig, opening=opening,
                          budget=self.budget if bcost is not None else None, budget_cost=bcost,
                          group=None if groups is None else np.asarray(groups, dtype=np.int64),
                          group_max=None if group_max is None else np.asarray(group_max))
        self.stats_: dict[str, Any] = {}
        allowed = np.isfinite(D)
        ~allowed.any(axis=1)
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
        if self.strategy == "max_coverage":
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
        elif self.strategy == "min_facilities":
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
        elif self.strategy == "min_max_cost":
            Dc = np.where(allowed, np.minimum(D, comp_cost[:, None]),
                          np.minimum(comp_cost, penalty)[:, None])
            pos = w > 0
            capd = Dc[pos] if pos.any() else Dc
            # a p-median start for the radius search: a budget in iterations (the time
            # limit only a cap), so the answer does not depend on the machine's load
            base = solve_median(np.where(np.isfinite(capd), capd, penalty) * 1.0, p, rules, rng,
                                deadline=deadline, coords=None,
                                weights=w[pos] if pos.any() else w, exact="never",
                                max_iterations=iters, patience=patience,
                                target_gap=self.target_gap, heuristic_share=0.5)
            exact = self.exact == "always" or (self.exact == "auto" and n * m <= 250_000)
            opened, ub, lb, st = cover_mod.p_center(capd, p, rules, rng, deadline, base.open,
                                                    exact)
            self.open_ = opened
            self.objective_, self.bound_ = ub, lb
            self.stats_.update(st)
            self._allocate_nearest()
        else:
            self._min_total_cost(p, rules, rng, deadline, coords, w, iters, patience,
                                 cap_site, low_site)
        self._drop_empty_slots()
        self._finish(t0)
        return self

    # ------------------------------------------------------------------ facilities modes
    def _drop_empty_slots(self) -> None:
        m = self._m_real
        if self._D.shape[1] == m:
            return
        self.open_ = np.sort(self.open_[self.open_ < m])
        self._D, self._allowed, self._rank = self._D[:, :m], self._allowed[:, :m], self._rank[:m]
        self.stats_["facilities_mode"] = {"mode": "at_most", "p": int(self.facilities),
                                          "opened": len(self.open_)}

    def _solve_auto(self, t0: float, costs: Any, weights: Any, **kw: Any) -> LocationAllocator:
        """facilities_mode='auto' (see the class doc)."""
        D = np.asarray(costs, dtype=float)
        m = D.shape[1]
        req = _mask(kw["required"], m, "required")
        elig = np.ones(m, dtype=bool) if kw["eligible"] is None else \
            _mask(kw["eligible"], m, "eligible")
        if kw["required_pairs"] is not None and len(kw["required_pairs"]):
            req[np.asarray(kw["required_pairs"], dtype=np.int64).reshape(-1, 2)[:, 1]] = True
        n_elig = int((elig | req).sum())
        cap_p = n_elig if self.facilities is None else min(int(self.facilities), n_elig)
        deadline = t0 + float(self.time_limit)
        params = {k: getattr(self, k) for k in (
            "strategy", "radius", "min_load", "max_load", "closest_assignment",
            "allow_unassigned", "unassigned_penalty", "budget", "exact", "seed",
            "max_iterations", "patience", "target_gap")}
        opening = kw["opening_costs"]
        if opening is not None and np.nanmax(np.asarray(opening, dtype=float), initial=0) > 0:
            sub = LocationAllocator(facilities=cap_p, facilities_mode="at_most",
                                    time_limit=self.time_limit, **params)
            sub.solve(costs, weights, **kw)
            self.__dict__.update({k: v for k, v in sub.__dict__.items() if k.endswith("_")
                                  or k.startswith("_")})
            self.stats_["facilities_mode"] = {"mode": "auto", "rule": "at most p, opening "
                                              "costs traded against assignment", "cap": cap_p,
                                              "opened": len(self.open_)}
            self.seconds_ = time.monotonic() - t0
            return self
        tried: dict[int, LocationAllocator | None] = {}

        def attempt(p: int) -> LocationAllocator | None:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            sub = LocationAllocator(facilities=p, facilities_mode="exactly",
                                    time_limit=max(0.3 * left, min(left, 0.05)), **params)
            try:
                sub.solve(costs, weights, **kw)
            except InfeasibleError:
                tried[p] = None
                return None
            ok = sub.status_ != "no_feasible_found" and (
                self.allow_unassigned or not (sub.assignment_ == -1).any())
            tried[p] = sub if ok else None
            return tried[p]

        lo = max(int(req.sum()), 1)
        best, bad, p = None, lo - 1, lo
        while p <= cap_p and time.monotonic() < deadline:  # doubling
            best = attempt(p)
            if best is not None:
                break
            bad, p = p, min(cap_p, 2 * p) if p < cap_p else cap_p + 1
        hi = p
        while best is not None and hi - bad > 1 and time.monotonic() < deadline:  # bisection
            mid = (bad + hi) // 2
            got = attempt(mid)
            if got is not None:
                best, hi = got, mid
            else:
                bad = mid
        if best is None:
            raise InfeasibleError(
                f"facilities_mode 'auto': no number of facilities up to {cap_p} satisfies "
                f"every constraint (tried p = {sorted(tried)}) within the time limit; relax "
                "the load limits or max_cost, allow unassigned points, or raise the time limit")
        self.__dict__.update({k: v for k, v in best.__dict__.items() if k.endswith("_")
                              or k.startswith("_")})
        self.stats_["facilities_mode"] = {"mode": "auto", "rule": "smallest feasible p",
                                          "p": int(hi), "tried": sorted(tried)}
        self.seconds_ = time.monotonic() - t0
        return self

    # ------------------------------------------------------------------ parts
    def _load_limits(self, capacities, min_loads, m):
        cap_site = low_site = None
        if capacities is not None or self.max_load is not None:
            cap_site = np.full(m, np.inf if self.max_load is None else float(self.max_load))
            if capacities is not None:
                cs = np.asarray(capacities, dtype=float)
                cap_site = np.where(np.isfinite(cs), cs, cap_site)
        if min_loads is not None or self.min_load is not None:
            low_site = np.full(m, 0.0 if self.min_load is None else float(self.min_load))
            if min_loads is not None:
                ms = np.asarray(min_loads, dtype=float)
                low_site = np.where(np.isfinite(ms), ms, low_site)
        return cap_site, low_site

    def _feasibility(self, p, req, elig, opening, bcost, groups, group_max, w, cap_site,
                     low_site, names, D, comp_cost, at_most: bool = False) -> None:
        """Fail before solving, with the numbers."""
        n_req = int(req.sum())
        n_elig = int(elig.sum())
        if p is not None:
            if p > n_elig:
                raise TooManyTerritoriesError(
                    f"{p} facilities requested but only {n_elig} candidate site(s) can open; "
                    f"ask for at most {n_elig} or add candidates", column="facilities")
            if n_req > p:
                raise InputError(
                    f"{n_req} required sites but only {p} facilities: raise facilities to at "
                    f"least {n_req} or drop required sites", column="facilities")
        if self.budget is not None:
            if bcost is None:
                raise InputError("budget needs opening costs (an opening_cost column in the "
                                 "candidates table)", column="budget")
            need = float(bcost[req].sum())
            if need > self.budget * (1 + 1e-12):
                raise InfeasibleError(
                    f"the {n_req} required sites cost {_fmt(need)} to open but the budget is "
                    f"{_fmt(self.budget)}; raise the budget to at least {_fmt(need)}")
            if p is not None:
                free = np.sort(bcost[elig & ~req])[:0 if at_most else max(p - n_req, 0)]
                cheapest = need + float(free.sum())
                if cheapest > self.budget * (1 + 1e-12):
                    raise InfeasibleError(
                        f"the cheapest {p} sites (required ones included) cost "
                        f"{_fmt(cheapest)} to open but the budget is {_fmt(self.budget)}")
        if groups is not None and group_max is not None and p is not None:
            g = np.asarray(groups)
            gm = np.asarray(group_max)
            room = sum(min(int(gm[k]), int((elig & (g == k)).sum())) for k in range(len(gm)))
            room += int((elig & (g < 0)).sum())
            if room < p:
                raise InfeasibleError(f"group limits allow at most {room} open sites but "
                                      f"{p} facilities are requested")
            req_g = np.bincount(g[req & (g >= 0)], minlength=len(gm))
            over = np.flatnonzero(req_g > gm)
            if len(over):
                raise InfeasibleError(f"group {over[0]} holds {req_g[over[0]]} required sites "
                                      f"but allows {gm[over[0]]}")
        total = float(w.sum())
        served_weight = total
        if cap_site is not None and p is not None and not self.allow_unassigned:
            caps = np.sort(cap_site[elig & ~req])[::-1][:max(p - n_req, 0)]
            best = float(cap_site[req].sum() + caps.sum())
            if best < served_weight * (1 - 1e-12):
                k = p
                raise InfeasibleError(
                    f"the {k} largest capacities sum to {_fmt(best)} but total demand is "
                    f"{_fmt(served_weight)}; raise max_load/capacities, open more facilities, "
                    "or allow unassigned points")
        if low_site is not None and p is not None:
            lows = np.sort(low_site[elig & ~req])[:0 if at_most else max(p - n_req, 0)]
            need = float(low_site[req].sum() + lows.sum())
            if need > total * (1 + 1e-12):
                raise InfeasibleError(
                    f"{p} facilities need at least {_fmt(need)} of demand in total (min_load) "
                    f"but total demand is {_fmt(total)}; lower min_load or open fewer")
        if self.strategy == "min_facilities" and not self.allow_unassigned:
            lost = ~((D <= self.radius) & elig[None, :]).any(axis=1)
            if lost.any():
                raise InfeasibleError(
                    f"{int(lost.sum())} point(s) have no candidate site within radius "
                    f"{_fmt(self.radius)} (e.g. point positions {np.flatnonzero(lost)[:5].tolist()}"
                    "); raise the radius, add candidates or allow unassigned points")

    def _min_total_cost(self, p, rules, rng, deadline, coords, w, iters, patience, cap_site,
                        low_site) -> None:
        D, allowed = self._D, self._allowed
        cap_unit = np.minimum(self._comp_cost, self._penalty)
        C = np.where(allowed, np.minimum(D, cap_unit[:, None]), cap_unit[:, None]) * w[:, None]
        loads = cap_site is not None or low_site is not None
        t0 = time.monotonic()
        share = 0.4 if loads else 1.0
        res = solve_median(C, p, rules, rng, deadline=t0 + share * (deadline - t0),
                           coords=coords, weights=w, exact="never" if loads else self.exact,
                           max_iterations=iters, patience=patience, target_gap=self.target_gap)
        self.stats_.update(res.stats)
        if not loads:
            self.open_, self.objective_, self.bound_ = res.open, res.objective, res.bound
            if res.exact_status:
                self.stats_["exact_status"] = res.exact_status
            self._allocate_nearest()
            return
        # load limits: the unconstrained p-median bound stays a valid lower bound
        n, m = C.shape
        upper = np.full(m, np.inf) if cap_site is None else cap_site
        lower = np.zeros(m) if low_site is None else low_site
        out_cost = np.where(np.isfinite(self._comp_cost), self._comp_cost * w, np.inf)
        if self.allow_unassigned:
            out_cost = np.minimum(out_cost, self._penalty * w)
        # a point strictly closer to a competitor is captured: no site of ours may serve it
        own_ok = allowed & (D <= self._comp_cost[:, None])
        a = self._a
        prob = cap_mod.LoadProblem(C, own_ok, a, lower, upper, self._rank, out_cost,
                                   self._opening)

        def site_ok(sol):
            from components.locate.median import feasible_start
            return feasible_start(sol, rules)

        # the search is sensitive to where it starts: restart, alternately from a
        # half-shaken best and from a fresh random set (independent streams of the seeded
        # generator), until several restarts in a row find nothing or time runs out.
        # Closest assignment with tight limits leaves feasible sets rare and isolated
        # (3 of 400 neighbours of a 50-SCU optimum; none of 20,000 random sets), so it
        # gets more restarts.
        sol, alloc, info = None, None, {"restarts": 0}
        start = res.open
        max_attempts, give_up = (60, 15) if self.closest_assignment else (4, 4)
        attempt = since = 0
        while attempt < max_attempts and since < give_up:
            if attempt and time.monotonic() >= deadline - 0.05 * (deadline - t0):
                break
            if attempt:
                start = sol.copy()
                free = np.flatnonzero(~rules.fixed[start])
                pool = np.setdiff1d(np.flatnonzero(rules.eligible), start)
                k = min(len(free), len(pool), max(1, p // 2) if attempt % 2 else len(free))
                if k == 0:
                    break
                start[rng.choice(free, k, replace=False)] = rng.choice(pool, k, replace=False)
            s_i, a_i, inf_i = cap_mod.load_search(
                prob, start, rules.fixed, rules.eligible, rng, deadline,
                closest=self.closest_assignment, allow_out=self.allow_unassigned,
                max_iterations=iters, patience=max(20, patience // 2), site_ok=site_ok)
            if alloc is None or a_i.key < alloc.key:
                sol, alloc, since = s_i, a_i, 0
            else:
                since += 1
            info = {**inf_i, "restarts": attempt}
            attempt += 1
        self.stats_["load_search"] = info
        bound = res.bound
        cells = n * m * (m if self.closest_assignment else 1)
        small = cells <= (600_000 if self.closest_assignment else 400_000)
        if (self.exact == "always" or (self.exact == "auto" and small)) and \
                time.monotonic() < deadline:
            side = SiteSide(p, False, rules.fixed, ~rules.eligible & ~rules.fixed, self._opening,
                            rules.budget, rules.budget_cost, rules.group, rules.group_max)
            r = assignment_model(C, own_ok,
                                 side, demand=a, lower=lower if low_site is not None else None,
                                 upper=upper if cap_site is not None else None,
                                 closest=self.closest_assignment, rank=self._rank,
                                 out_cost=out_cost, out_in_closest=self.allow_unassigned,
                                 time_limit=max(deadline - time.monotonic(), 0.01),
                                 gap=self.target_gap * 0.1)
            self.stats_["exact"] = {"method": "HiGHS assignment model", "status": r.status,
                                    "seconds": r.seconds, "size": list(r.size)}
            if r.x is not None:
                cand = cap_mod.Allocation(r.x, np.bincount(r.x[r.x >= 0],
                                                           weights=a[r.x >= 0], minlength=m),
                                          prob.total(r.x, r.open), 0.0)
                cand.violation = prob.violation(cand.loads, r.open) + cap_mod._lost(prob, r.x)
                if cand.key < alloc.key:
                    sol, alloc = np.sort(r.open), cand
            if r.status == "infeasible":
                self.stats_["exact_infeasible"] = True
                if not self.allow_unassigned:
                    least = cap_mod._lost(prob, alloc.assign) + prob.violation(alloc.loads, sol)
                    raise InfeasibleError(
                        f"HiGHS proved that no {p} sites meet the load limits (min_load "
                        f"{_fmt(float(lower.max()))}, max_load/capacities "
                        f"{_fmt(float(upper.min()))}-{_fmt(float(upper.max()))}) with total "
                        f"demand {_fmt(float(a.sum()))}; the best set found violates them by "
                        f"{_fmt(least)}; relax the limits, change the number of facilities or "
                        "allow unassigned points")
            elif r.bound is not None:  # the bound HiGHS proved, finished or not
                bound = max(bound, r.bound)
        self.open_ = sol
        self.objective_ = alloc.cost
        self.bound_ = min(bound, alloc.cost) if alloc.violation <= 1e-9 else bound
        self.violation_ = alloc.violation
        self._set_assignment(alloc.assign, capacity_reason=True)

    # ------------------------------------------------------------------ allocation
    def _allocate_nearest(self) -> None:
        alloc = cap_mod.closest_allocation(
            cap_mod.LoadProblem(self._D, self._allowed, self._a, np.zeros(self._D.shape[1]),
                                np.full(self._D.shape[1], np.inf), self._rank,
                                np.full(len(self._w), np.inf)), self.open_)
        self._set_assignment(alloc.assign)

    def _allocate_radius(self, radius: float) -> None:
        self._allocate_nearest()
        a = self.assignment_
        served = a >= 0
        far = served & (self._D[np.arange(len(a)), np.maximum(a, 0)] > radius)
        self.assignment_[far] = -1
        self.reason_[far] = REASONS["radius"]

    def _set_assignment(self, assign: np.ndarray, capacity_reason: bool = False) -> None:
        n = len(assign)
        a = assign.copy()
        unit = np.full(n, np.nan)
        served = a >= 0
        unit[served] = self._D[np.flatnonzero(served), a[served]]
        reason = np.array([""] * n, dtype=object)
        comp = -np.ones(n, dtype=np.int64)
        own = np.where(served, unit, np.inf)
        captured = self._comp_cost < own
        a[captured] = -2
        comp[captured] = self._comp_idx[captured]
        unit[captured] = self._comp_cost[captured]
        reason[captured] = REASONS["competitor"]
        left = a == -1
        no_pair = left & ~self._allowed[:, self.open_].any(axis=1)
        reason[no_pair] = REASONS["beyond"]
        reason[left & ~no_pair] = REASONS["capacity"] if capacity_reason else REASONS["beyond"]
        self.assignment_, self.unit_cost_, self.reason_, self.competitor_ = a, unit, reason, comp

    def _finish(self, t0: float) -> None:
        m = self._D.shape[1]
        a = self.assignment_
        if not hasattr(self, "loads_"):  # market share sets expected loads itself
            self.loads_ = np.bincount(a[a >= 0], weights=self._a[a >= 0], minlength=m)
        obj, bnd = self.objective_, self.bound_
        if self.bound_kind_ == "coverage":
            total = float(self._w.sum())
            gap = ((total - bnd) - (total - obj)) / max(total - bnd, 1e-12)
        else:
            gap = (obj - bnd) / max(abs(obj), 1e-12)
        gap = max(float(gap), 0.0) if np.isfinite(gap) else None
        self.gap_ = gap
        self.lower_bound_ = bnd
        violation = getattr(self, "violation_", 0.0)
        # one vocabulary: 'infeasible' is never a status (a proof raises InfeasibleError,
        # CLI exit 3); without a proof the best answer is 'no_feasible_found' with its
        # least violation
        if violation > 1e-9:
            self.status_ = "no_feasible_found"
        elif gap is not None and gap <= max(self.target_gap, 1e-9):
            self.status_ = "optimal"
        else:
            self.status_ = "feasible"
        now = time.monotonic()
        self.stopped_by_ = ("gap closed" if self.status_ == "optimal"
                            else "time_limit" if now >= self._deadline - 1e-3
                            else "search finished")
        self.seconds_ = now - t0


def _mask(value: Any, m: int, name: str) -> np.ndarray:
    if value is None:
        return np.zeros(m, dtype=bool)
    arr = np.asarray(value)
    if arr.dtype == bool:
        if arr.shape != (m,):
            raise InputError(f"{name} must have one flag per site ({m})", column=name)
        return arr.copy()
    out = np.zeros(m, dtype=bool)
    out[arr.astype(np.int64)] = True
    return out


def _add_empty_slots(q: int, D, req, elig, rank, opening, bcost, groups, cap_site, low_site,
                     coords):
    """``q`` dummy sites that serve nobody: "exactly p" over them is "at most p" real."""
    n = D.shape[0]
    D = np.hstack([D, np.full((n, q), np.inf)])
    req = np.concatenate([req, np.zeros(q, dtype=bool)])
    elig = np.concatenate([elig, np.ones(q, dtype=bool)])
    rank = np.concatenate([np.asarray(rank), np.asarray(rank).max() + 1 + np.arange(q)])
    opening = None if opening is None else np.concatenate([opening, np.zeros(q)])
    bcost = None if bcost is None else np.concatenate([bcost, np.zeros(q)])
    groups = None if groups is None else np.concatenate([np.asarray(groups), -np.ones(q, int)])
    cap_site = None if cap_site is None else np.concatenate([cap_site, np.full(q, np.inf)])
    low_site = None if low_site is None else np.concatenate([low_site, np.zeros(q)])
    if coords is not None:  # far away: the Weber start never snaps to a dummy
        pts, sites = coords
        far = np.abs(np.concatenate([pts, sites])).max() * 1e6 + 1e6
        coords = (pts, np.vstack([sites, np.full((q, 2), far)]))
    return D, req, elig, rank, opening, bcost, groups, cap_site, low_site, coords

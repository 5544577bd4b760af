"""``LocationAllocator.solve`` on candidate lists (:mod:`~components.locate.sparse`).

The p-median (``min_total_cost``) with required and eligible sites and opening costs,
at sizes where a dense matrix does not fit. Options that need every pair (load limits,
competitors, forbidden pairs, budgets, groups, p-center and coverage) are refused with
the fix named, rather than silently densified. Bound to the solver class as a method.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from components.errors import InputError, ParameterError
from components.locate.checks import _mask
from components.locate.engine import SiteRules
from components.locate.median import solve_median
from components.locate.sparse import CandidateLists, knn_lists, true_assignment

_DENSE_ONLY = ("opening_costs", "budget_costs", "capacities", "min_loads", "groups",
               "group_max", "competitor_costs", "max_cost", "forbidden", "required_pairs",
               "loads", "attractiveness", "competitor_attractiveness")


def solve_lists(self, t0: float, lists: CandidateLists, weights: Any, *, required: Any = None,
                eligible: Any = None, coords: Any = None, site_names: Any = None,
                site_rank: Any = None, **dense_only: Any) -> Any:
    given = sorted(k for k, v in dense_only.items() if v is not None)
    unknown = [k for k in given if k not in _DENSE_ONLY]
    if unknown:
        raise TypeError(f"unexpected argument(s) {unknown}")
    if self.strategy != "min_total_cost" or self.facilities_mode != "exactly" or given or \
            self.min_load is not None or self.max_load is not None or self.closest_assignment \
            or self.budget is not None:
        what = given or [f"strategy {self.strategy!r}, facilities_mode "
                         f"{self.facilities_mode!r}, load limits, budget, closest assignment"]
        raise ParameterError(
            f"candidate lists (k nearest candidates per point) serve the p-median "
            f"(strategy min_total_cost, exactly p) with required/eligible sites only; got "
            f"{', '.join(what)}: drop the candidate list to use the dense path",
            column="candidate_list")
    n, m = lists.shape
    if not np.isfinite(lists.cost).all() or (lists.cost < 0).any():
        raise InputError("candidate list costs must be finite and >= 0", column="costs")
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any():
        raise InputError(f"weights must be {n} finite numbers >= 0", column="weight")
    req = _mask(required, m, "required")
    elig = (np.ones(m, dtype=bool) if eligible is None else _mask(eligible, m, "eligible")) | req
    p = int(self.facilities)
    names = np.asarray(site_names if site_names is not None else np.arange(m), dtype=object)
    self._feasibility(p, req, elig, None, None, None, None, w, None, None, names, None,
                      np.full(n, np.inf))
    rules = SiteRules(fixed=req, eligible=elig)
    wl = CandidateLists(lists.idx, lists.cost * w[:, None], m,
                        beyond=w * 10.0 * np.maximum(lists.cost[:, -1], 1e-9))
    iters = self.max_iterations or 50 * p + 200
    patience = self.patience or max(40, 3 * p)
    res = solve_median(wl, p, rules, np.random.default_rng(self.seed), deadline=self._deadline,
                       coords=coords, weights=w, exact="never", max_iterations=iters,
                       patience=patience, target_gap=self.target_gap)
    site, unit = true_assignment(lists, res.open)
    served = site >= 0
    self.open_ = res.open
    self.objective_ = float((w[served] * unit[served]).sum())
    self.bound_ = min(res.bound, self.objective_)
    self.bound_kind_ = "lower"
    self.stats_ = dict(res.stats, candidate_list=lists.width,
                       outside_list=int((site != _listed(lists, res.open)).sum()))
    self.assignment_ = np.where(served, site, -1)
    self.unit_cost_ = np.where(served, unit, np.nan)
    self.reason_ = np.where(served, "", "no open site in its candidate list").astype(object)
    self.competitor_ = -np.ones(n, dtype=np.int64)
    self.violation_ = float(w[~served].sum())
    self.loads_ = np.bincount(site[served], weights=w[served], minlength=m)
    self._m_real = m
    self._w = w
    self._finish(t0)
    self.seconds_ = time.monotonic() - t0
    return self


def _listed(lists: CandidateLists, open_: np.ndarray) -> np.ndarray:
    """The site each point gets from its own list (-1 when none is open)."""
    is_open = np.zeros(lists.m, dtype=bool)
    is_open[open_] = True
    ok = is_open[lists.idx]
    first = np.argmax(ok, axis=1)
    r = np.arange(len(first))
    return np.where(ok[r, first], lists.idx[r, first], -1)


def component_lists(p: dict, table: Any, cand: Any, comp: Any, costs: Any,
                    distance: str) -> CandidateLists:
    """``candidate_list=K`` in the component: the K nearest candidates by coordinates."""
    k = int(p["candidate_list"])
    if costs is not None or distance not in ("euclidean", "haversine") or comp is not None \
            or p["transform"] not in (None, "linear"):
        raise ParameterError(
            f"candidate_list (K nearest candidates per point) needs coordinates with distance "
            f"euclidean or haversine, no cost table, no competitors and the linear transform; "
            f"got distance {distance!r}{', a cost table' if costs is not None else ''}"
            f"{', competitors' if comp is not None else ''}, transform {p['transform']!r}: "
            "drop candidate_list to use the dense path", column="candidate_list")
    if not np.isfinite(cand.coords).all():
        raise InputError("candidate_list needs coordinates for every candidate and required "
                         "site", column="candidate_list")
    return knn_lists(table.coords, cand.coords, k, distance)

"""Parameter checks and the feasibility checks made before solving (with the numbers).

Functions here take the :class:`~components.locate.solver.LocationAllocator` as ``self``
and are bound to it as methods: the class stays one place to read the model, these
are its parts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from components.errors import InfeasibleError, InputError, ParameterError, TooManyTerritoriesError
from components.locate.capcover import NO_LOADS

STRATEGIES = ("min_total_cost", "min_max_cost", "max_coverage", "min_facilities",
              "max_backup_coverage", "max_market_share", "target_market_share")
SHARE = ("max_market_share", "target_market_share")
EXACT = ("auto", "always", "never")
MODES = ("exactly", "at_most", "auto")


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.4g}"


def check_params(self) -> None:
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
    if self.strategy == "max_backup_coverage" and not 0 <= self.backup_weight <= 1:
        raise ParameterError(f"backup_weight must be in [0, 1]; got {self.backup_weight!r}",
                             column="backup_weight")
    if self.strategy in ("max_coverage", "min_facilities", "max_backup_coverage") and (
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
    loaded = self.min_load is not None or self.max_load is not None
    if self.closest_assignment and self.strategy != "min_total_cost":
        raise ParameterError(f"closest_assignment applies to strategy 'min_total_cost' only; "
                             f"got strategy {self.strategy!r}", column="closest_assignment")
    if loaded and self.strategy in NO_LOADS:  # why, and what to use instead (capcover)
        raise ParameterError(NO_LOADS[self.strategy], column="strategy")
    if not self.time_limit > 0:
        raise ParameterError(f"time_limit must be > 0 seconds; got {self.time_limit!r}",
                             column="time_limit")

# ------------------------------------------------------------------ solve


def load_limits(self, capacities, min_loads, m):
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


def feasibility(self, p, req, elig, opening, bcost, groups, group_max, w, cap_site,
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

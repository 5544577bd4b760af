"""facilities_mode='auto': the solver chooses p (see the LocationAllocator doc).

Bound to :class:`~components.locate.solver.LocationAllocator` as a method (``self``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from components.errors import InfeasibleError
from components.locate.checks import _mask

if TYPE_CHECKING:
    from components.locate.solver import LocationAllocator


def solve_auto(self, t0: float, costs: Any, weights: Any, **kw: Any) -> Any:
    """facilities_mode='auto' (see the class doc)."""
    allocator = type(self)  # the class this is bound to

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
        sub = allocator(facilities=cap_p, facilities_mode="at_most",
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
        sub = allocator(facilities=p, facilities_mode="exactly",
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

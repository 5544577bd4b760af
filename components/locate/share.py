"""The market-share strategies on :class:`~components.locate.solver.LocationAllocator`.

``max_market_share``: open ``p`` stores (required ones included) capturing the most
demand under the Huff model (:mod:`components.locate.huff`); ``target_market_share``:
the fewest stores capturing ``target_share`` of the demand. The objective reported is
the demand *not* captured (minimised, like every strategy; the gap is measured on the
captured demand against its proven upper bound) or the number of stores.

Each point is listed with the open store it most likely visits (the highest utility);
a site's ``load`` is its expected captured demand ``sum_i w_i P_ij``. A point no store
of ours reaches within the cutoff stays unassigned; competitors keep their share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

import components.locate.huff as huff
from components.errors import InfeasibleError

if TYPE_CHECKING:
    from components.locate.engine import SiteRules
    from components.locate.solver import LocationAllocator

REASON = "no open store of ours within the impedance cutoff"
EXACT_CELLS = 60_000  # exact model (outer approximation) in 'auto' up to n * m cells


def solve_share(la: LocationAllocator, p: int | None, rules: SiteRules, deadline: float,
                comp_costs: np.ndarray, attract: Any, comp_attract: Any) -> None:
    D, w = la._D, la._w
    n, m = D.shape
    a = np.ones(m) if attract is None else np.asarray(attract, dtype=float)
    a = np.concatenate([a, np.zeros(m - len(a))])  # empty slots ('at most') attract nobody
    ca = np.ones(comp_costs.shape[1]) if comp_attract is None else \
        np.asarray(comp_attract, dtype=float)
    floor = huff.floor_of(np.hstack([D, comp_costs]))
    u = huff.utilities(D, a, la.decay, la.decay_rate, la.cutoff, floor)
    each = huff.utilities(comp_costs, ca, la.decay, la.decay_rate, la.cutoff, floor)
    comp = each.sum(axis=1)
    exact = la.exact == "always" or (la.exact == "auto" and n * m <= EXACT_CELLS)
    total = float(w.sum())
    if la.strategy == "max_market_share":
        assert p is not None  # checks.py requires facilities for max_market_share
        res = huff.max_share(u, comp, w, p, rules.fixed, rules.eligible, deadline, exact)
        la.open_ = res.open
        la.objective_, la.bound_ = total - res.captured, total - res.upper
        la.bound_kind_ = "coverage"
    else:
        assert la.target_share is not None  # checks.py requires it for target_market_share
        target = la.target_share
        all_sites = rules.eligible | rules.fixed
        best = huff.captured(u, comp, w, np.flatnonzero(all_sites))
        need = target * total
        if best < need * (1 - 1e-9):  # every store open is the most any set captures
            raise InfeasibleError(
                f"even all {int(all_sites.sum())} candidate stores capture "
                f"{100 * best / max(total, 1e-12):.2f} % of the demand, below the target "
                f"{100 * target:.2f} %; lower target_share, add candidates or "
                "raise the impedance cutoff")
        res, lower = huff.target_share(u, comp, w, target, rules.fixed,
                                       rules.eligible, deadline, exact)
        la.open_ = res.open
        la.objective_, la.bound_ = float(len(res.open)), float(lower)
        if res.captured < need * (1 - 1e-9):
            la.violation_ = need - res.captured
    la.stats_.update(res.stats, share_floor=floor)
    la._share = (u, each, res.captured, res.upper)


def finish(la: LocationAllocator) -> None:
    """Most likely store per point, expected loads, the shares in the report."""
    u, each, got, upper = la._share
    comp = each.sum(axis=1)
    m = la._D.shape[1]
    u = u[:, :m]
    U = u[:, la.open_].sum(axis=1)
    den = U + comp
    prob = np.divide(u[:, la.open_], den[:, None], out=np.zeros((len(U), len(la.open_))),
                     where=den[:, None] > 0)
    assign = np.where(U > 0, la.open_[np.argmax(u[:, la.open_], axis=1)], -1)
    unit = np.where(assign >= 0, la._D[np.arange(len(U)), np.maximum(assign, 0)], np.nan)
    la.assignment_, la.unit_cost_ = assign, unit
    la.reason_ = np.where(assign >= 0, "", REASON).astype(object)
    la.competitor_ = -np.ones(len(U), dtype=np.int64)
    loads = np.zeros(m)
    loads[la.open_] = (la._w[:, None] * prob).sum(axis=0)
    la.loads_ = loads
    la.competitor_loads_ = la._w @ np.divide(each, den[:, None], out=np.zeros_like(each),
                                             where=den[:, None] > 0)
    total = float(la._w.sum())
    la.market_share_ = got / total if total > 0 else 0.0
    la.stats_["market_share"] = {"captured": got, "share": la.market_share_,
                                 "upper_bound_share": upper / total if total > 0 else 0.0}

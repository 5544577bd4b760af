"""The result tables and report of :func:`~components.locate.component.location_allocation`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from components.locate.spec import SPEC
from components.result import ComponentResult, solve_status
from components.scu import SCUTable

if TYPE_CHECKING:
    from components.locate.component import Sites
    from components.locate.solver import LocationAllocator


def result_tables(table: SCUTable, weights: np.ndarray, cand: Sites, comp: Sites | None,
            s: LocationAllocator, p: dict, distance: str) -> ComponentResult:
    a = s.assignment_
    facility = np.full(table.n, None, dtype=object)
    facility[a >= 0] = cand.ids[a[a >= 0]]
    if comp is not None:
        cap = a == -2
        facility[cap] = comp.ids[s.competitor_[cap]]
    status = np.where(a >= 0, "served", np.where(a == -2, "captured", "unassigned"))
    cost = np.where(a == -1, np.nan, s.unit_cost_)
    assignments = pd.DataFrame({
        "id": table.ids, "facility": facility, "cost": np.round(cost, 9),
        "weight": weights, "weighted_cost": np.round(cost * weights, 9),
        "status": status, "reason": s.reason_,
    })
    is_open = np.zeros(len(cand), dtype=bool)
    is_open[s.open_] = True
    capacity = cand.extras.get("capacity")
    cap_v = np.full(len(cand), np.nan if p["max_load"] is None else p["max_load"])
    if capacity is not None:
        cap_v = np.where(np.isnan(capacity), cap_v, capacity)
    n_points = np.bincount(a[a >= 0], minlength=len(cand))
    util = np.where(is_open & (cap_v > 0), s.loads_ / np.where(cap_v > 0, cap_v, 1), np.nan)
    facilities = pd.DataFrame({
        "id": cand.ids, "type": cand.kind, "open": is_open, "load": np.round(s.loads_, 9),
        "capacity": cap_v, "utilisation": np.round(util, 6), "n_points": n_points,
    })
    if comp is not None:
        captured = a == -2
        c_load = np.bincount(s.competitor_[captured], weights=weights[captured],
                             minlength=len(comp))
        if hasattr(s, "competitor_loads_"):  # Huff: each competitor's expected demand
            c_load = s.competitor_loads_
        facilities = pd.concat([facilities, pd.DataFrame({
            "id": comp.ids, "type": comp.kind, "open": True, "load": c_load,
            "capacity": np.nan, "utilisation": np.nan,
            "n_points": np.bincount(s.competitor_[captured], minlength=len(comp))})],
            ignore_index=True)
    total = float(weights.sum())
    served_w = float(weights[a >= 0].sum())
    reasons = pd.Series(s.reason_[a < 0]).value_counts().to_dict() if (a < 0).any() else {}
    report: dict[str, Any] = {
        "component": SPEC.name, "strategy": p["strategy"], "status": solve_status(s.status_),
        "objective": s.objective_, "objective_meaning": _meaning(p["strategy"]),
        "lower_bound": s.lower_bound_, "gap": s.gap_, "stopped_by": s.stopped_by_,
        "n_points": table.n, "n_candidates": int((cand.kind == "candidate").sum()),
        "n_required": int((cand.kind == "required").sum()),
        "n_open": len(s.open_), "open_facilities": [_scalar(v) for v in cand.ids[s.open_]],
        "coverage_pct": 100.0 * served_w / total if total > 0 else 100.0,
        "unassigned": {"count": int((a == -1).sum()), "weight": float(weights[a == -1].sum()),
                       "reasons": reasons},
        "captured": {"count": int((a == -2).sum()), "weight": float(weights[a == -2].sum())},
        "distance": distance, "transform": p["transform"],
        "seconds": s.seconds_, "solver": s.stats_,
    }
    if s.violation_ > 1e-9:
        report["limit_violation"] = s.violation_  # least violation found (no proof)
    return ComponentResult({"assignments": assignments, "facilities": facilities}, report)


def _meaning(strategy: str) -> str:
    return {"min_total_cost": "total weighted cost (+ opening costs)",
            "min_max_cost": "largest cost of a served point",
            "max_coverage": "demand weight not covered (minimised)",
            "min_facilities": "number of open facilities",
            "max_backup_coverage": "total demand minus the backup score (minimised)",
            "max_market_share": "demand not captured under the Huff model (minimised)",
            "target_market_share": "number of open stores"}[strategy]


def _scalar(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v

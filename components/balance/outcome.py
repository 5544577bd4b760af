"""What a balance run reports beyond the alignment: the exact MILP's answer, the
certified bound, the bound's wording, and the best-effort explanation when the
tolerance is missed."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.sparse.csgraph import dijkstra as scipy_dijkstra

from components.balance.contiguity import contiguous_flags
from components.balance.solver import TerritoryBalancer
from components.scu import SCUTable


def exact(solver: TerritoryBalancer, graph, table: SCUTable, weights, current_idx, locked,
           p: dict) -> dict[str, Any]:
    """Solve the MILP for the heuristic's centers; keep it when it is at least as good."""
    from components.balance.exact import solve_exact

    res = solve_exact(graph, table.metrics, solver.centers_, solver.bounds_,
                      weights=weights, current=current_idx,
                      disruption_weight=p["disruption_weight"], locked=locked,
                      max_distance=p["max_distance"], time_limit=p["time_limit"] / 2)
    report = {"status": res.status, "objective": res.distance_objective,
              "bound": res.bound, "mip_gap": res.mip_gap, "seconds": res.seconds,
              "variables": res.n_variables, "constraints": res.n_constraints,
              "reason": res.reason, "used": False}
    heuristic_ok = solver.status_ in ("optimal", "feasible")
    if res.labels is None or (heuristic_ok and res.objective > solver.cost_objective_ + 1e-9):
        return report
    n = len(res.labels)
    dist = scipy_dijkstra(graph, directed=False, indices=solver.centers_)
    solver.labels_ = res.labels
    solver.distances_ = dist[res.labels, np.arange(n)]
    solver.objective_ = float(res.distance_objective)
    solver.cost_objective_ = float(res.objective)
    solver.bound_ = float(res.bound)
    solver.gap_ = float(res.mip_gap)
    solver.totals_ = np.zeros_like(solver.totals_)
    np.add.at(solver.totals_, res.labels, table.metrics)
    solver.contiguous_ = contiguous_flags(graph, res.labels, solver.n_territories)
    solver.status_ = "optimal" if res.status == "optimal" else "feasible"
    solver.stopped_by_ = "exact" if res.status == "optimal" else "exact_time_limit"
    solver.bound_kind_ = "star_mip"
    if solver.moved_share_ is not None and current_idx is not None:
        a = table.metrics[:, 0]
        leaves = (res.labels != current_idx) & (current_idx >= 0)  # new units do not move
        solver.moved_share_ = float(a[leaves].sum() / max(a.sum(), 1e-300))
    report["used"] = True
    return report


def certify(solver: TerritoryBalancer, graph, table: SCUTable, weights, current_idx, locked,
             p: dict, exact_report: dict | None) -> dict[str, Any] | None:
    """Tighter bound (and maybe a better answer) from HiGHS on small maps."""
    import components.balance.certify as cf

    spent = solver.seconds_ + (exact_report["seconds"] if exact_report else 0.0)
    left = p["time_limit"] - spent
    if solver.status_ == "constraint_violated" and solver.forbidden_:
        return None
    if left <= 0:  # the cap binds before the budget could be spent: say so
        solver.stopped_by_ = "time_limit"
        return {"bound": None, "skipped": f"time limit: {left + p['time_limit']:.1f} of "
                                          f"{p['time_limit']:g} s spent before the certificate",
                "stopped_by_time_limit": True}
    cert = cf.certify(graph, table.metrics, solver.centers_, solver.bounds_, solver.labels_,
                      weights=weights, current=current_idx,
                      disruption_weight=p["disruption_weight"], locked=locked,
                      max_distance=p["max_distance"], time_limit=left,
                      star=exact_report is None and current_idx is None)
    if cert is None:
        return None
    ok = solver.status_ in ("optimal", "feasible")
    used = cert.labels is not None and (
        not ok or cert.cost < cf.model_cost(cert.model, solver.labels_) * (1 - 1e-12))
    if used and p["max_moved"] is not None and current_idx is not None:
        a = table.metrics[:, 0]
        moved = a[(cert.labels != current_idx) & (current_idx >= 0)].sum() / max(a.sum(), 1e-300)
        used = bool(moved <= p["max_moved"] + 1e-12)  # the MIP does not know the move cap
    if used and ok and current_idx is not None:
        # with a current alignment the search's answer stays: later rebalances start from
        # it, and one from HiGHS's star-shaped optimum needed far more moves to rebalance
        # (tests/integration/test_workflow_lifecycle.py); the bound is tightened still
        used = False
    if used and cert.labels is not None:
        cf.adopt(solver, cert.labels, graph, table.metrics, current_idx)
        solver.status_, solver.forbidden_, solver.locked_ok_ = "feasible", 0, True
    cf.apply(solver, cert, cf.model_cost(cert.model, solver.labels_))
    solver.seconds_ += cert.seconds
    if solver.status_ == "tolerance_not_met":
        from components.balance.tolerance import proven_tolerance

        proof = proven_tolerance(graph, table.metrics, solver.centers_, solver.bounds_,
                                 locked=locked, max_distance=p["max_distance"],
                                 time_limit=p["time_limit"] - spent - cert.seconds)
        # read by best_effort (the solver's own attributes stop at what it computes)
        setattr(solver, "proven_tolerance_", proof)  # noqa: B010
        cert.capped |= bool(proof and proof["capped"])
    if cert.capped:
        solver.stopped_by_ = "time_limit"
    return {"bound": cert.bound if np.isfinite(cert.bound) else None, "rounds": cert.rounds,
            "cuts": cert.cuts, "proven_optimal": cert.proven, "answer_used": used,
            "stopped_by_time_limit": cert.capped,
            "budget": {"rounds": cf.ROUNDS, "nodes_per_highs_call": cf.NODES},
            "nodes": cert.nodes, "seconds": cert.seconds, "notes": cert.notes}


BOUND_TEXT = {
    "lagrangian": "Lagrangian bound (subgradient), contiguity relaxed",
    "lagrangian_lp_multipliers": "Lagrangian bound at the multipliers of an LP over each "
                                 "unit's cheapest territories, contiguity relaxed",
    "lp_relaxation": "LP relaxation (HiGHS), contiguity relaxed",
    "mip_separator_cuts": "HiGHS MIP bound without contiguity, tightened by separator cuts",
    "star_mip": "HiGHS MIP bound of the star-shaped model (star-shaped contiguity only)",
}


def bound_text(solver: TerritoryBalancer, p: dict) -> str:
    scope = ("for the final centers only (centers were sought: no bound over every center "
             "choice)" if solver.bound_scope_ == "these_centers" else "for these fixed centers")
    extra = "" if p["disruption_weight"] == 0 else ", incl. disruption cost"
    return f"{BOUND_TEXT.get(solver.bound_kind_, solver.bound_kind_)}{extra}, {scope}"


def best_effort(table: SCUTable, solver: TerritoryBalancer, names: np.ndarray,
                 tolerance: np.ndarray) -> dict[str, Any]:
    """What binds when the tolerance is missed: territories outside their bounds (with the
    heaviest units there), the achieved range per metric and the tolerance proven needed."""
    b, totals, labels = solver.bounds_, solver.totals_, solver.labels_
    binding = []
    for i, k in zip(*np.nonzero((totals < b.lower * (1 - 1e-9))
                                | (totals > b.upper * (1 + 1e-9))), strict=True):
        members = np.flatnonzero(labels == i)
        heavy = members[np.argsort(-table.metrics[members, k], kind="stable")[:3]]
        binding.append({"territory": str(names[i]), "metric": table.metric_names[k],
                        "total": float(totals[i, k]),
                        "ratio": float(totals[i, k] / max(b.target[i, k], 1e-300)),
                        "side": "above" if totals[i, k] > b.upper[i, k] else "below",
                        "heaviest_units": [str(v) for v in table.ids[heavy]]})
    ratio = totals / np.maximum(b.target, 1e-300)
    achieved = {name: float(np.abs(ratio[:, k] - 1).max())
                for k, name in enumerate(table.metric_names)}
    proofs = _tolerance_proofs(table, solver, names)
    best = max(proofs, key=lambda q: q["tolerance"]) if proofs else None
    need = best["tolerance"] if best is not None and best["tolerance"] > 1e-9 else None
    summary = ("tolerance not met: best alignment found is within "
               + ", ".join(f"{name} +-{v:.3f}" for name, v in achieved.items())
               + f" of target; {len(binding)} territory-metric pair(s) outside bounds")
    if binding:
        b0 = binding[0]
        summary += (f" (e.g. territory {b0['territory']} {b0['side']} on {b0['metric']} at "
                    f"{b0['ratio']:.3f}, heaviest units {', '.join(b0['heaviest_units'])})")
    if best is not None and need is not None:
        summary += f"; a tolerance of at least {need:.4f} is proven necessary ({best['proof']})"
    return {"achieved_tolerance": achieved, "binding": binding[:50],
            "tolerance_needed_at_least": need,
            "tolerance_needed_scope": best["proof"] if need is not None and best else None,
            "tolerance_proofs": proofs, "summary": summary}


def _tolerance_proofs(table: SCUTable, solver: TerritoryBalancer,
                      names: np.ndarray) -> list[dict[str, Any]]:
    """Every floor on the common tolerance we can prove, strongest wording first: single
    units (any centers), the LP and the integer model (these centers, contiguity relaxed,
    so valid for every contiguous alignment with them)."""
    from components.balance.checks import Names, necessary_tolerance

    out: list[dict[str, Any]] = []
    per_metric = necessary_tolerance(table.metrics, solver.bounds_,
                                     Names(list(table.metric_names), table.ids, names))
    for item in per_metric:
        if item["tolerance"] > 1e-9:
            out.append({"tolerance": float(item["tolerance"]),
                        "proof": f"{item['metric']}: {item['reason']} (any centers)"})
    if solver.needed_tolerance_ is not None:
        out.append({"tolerance": float(solver.needed_tolerance_),
                    "proof": "LP without contiguity, every metric at once, these centers"})
    mip = getattr(solver, "proven_tolerance_", None)
    if mip is not None:
        out.append({"tolerance": float(mip["tolerance"]),
                    "proof": "integer model without contiguity (HiGHS dual bound"
                             + (", optimal" if mip["optimal"] else ", node budget")
                             + "), every metric at once, these centers"})
    return out

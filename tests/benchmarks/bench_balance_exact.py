"""Territory balancing: the heuristic against the exact MILP (HiGHS) on the same centers.

For each instance (tests/benchmarks/instances.py) the TerritoryBalancer runs with
free centers; the exact MILP (components/balance/exact.py) then solves with the
heuristic's final centers and the same tolerance, time-boxed. One row per group
(kind, SCUs, territories, tolerance) over the seeds, then summary rows against
the issue's targets and the published figures.

Caveat stated in every note: the MILP's contiguity constraints admit the
territories that are star-shaped around their center (each member has a member
neighbour strictly closer to the center); a contiguous heuristic answer outside
that family can score below the "optimum" (a negative gap). Run this file
directly for the per-instance records: ``python -m tests.benchmarks.bench_balance_exact``.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from components.balance import TerritoryBalancer
from components.balance.contiguity import contiguous_flags
from components.balance.exact import assignment_cost, solve_exact
from components.balance.solver import tolerance_bounds
from tests.benchmarks.balance_refs import hess_samuels, star_shaped
from tests.benchmarks.instances import balance_figures, make_instance

EXACT_LIMIT = 60.0
ZS = ("Zoltners & Sinha 1983 (204-280 ZIPs, 13 terr.): range 0.93-1.05, s.d. 0.03-0.04, "
      "'within 2 % of optimality'; Hess & Samuels LP-and-round 0.81-1.22, s.d. 0.10")


def cases(quick: bool) -> list[tuple[str, int, int, float, int]]:
    if quick:
        return [("uniform", 200, 8, t, 0) for t in (0.05, 0.01)]
    sizes = [(200, 5), (200, 8), (300, 10), (400, 13)]
    return [(kind, n, m, tol, seed) for kind in ("uniform", "clustered") for n, m in sizes
            for tol in (0.05, 0.02, 0.01) for seed in (0, 1)]


def measure(kind: str, n: int, m: int, tol: float, seed: int,
            exact_limit: float = EXACT_LIMIT) -> dict:
    inst = make_instance(kind, n, seed)
    a, w = inst.metrics, inst.metrics[:, 0]
    t0 = time.monotonic()
    h = TerritoryBalancer(m, tolerance=tol, seed=seed, time_limit=60).solve(
        inst.graph, a, coords=inst.coords, weights=w)
    h_secs = time.monotonic() - t0
    t0 = time.monotonic()
    hf = TerritoryBalancer(m, tolerance=tol, seed=seed, time_limit=60).solve(
        inst.graph, a, coords=inst.coords, weights=w, centers=h.centers_)
    hf_secs = time.monotonic() - t0
    b = tolerance_bounds(a, m, np.array([tol]))
    ex = solve_exact(inst.graph, a, h.centers_, b, weights=w, time_limit=exact_limit)
    hs = hess_samuels(inst.graph, a, h.centers_, weights=w)
    fh, fhs = balance_figures(a, h.labels_, m), balance_figures(a, hs.labels, m)
    has = ex.labels is not None
    # one scoring rule for both (the solver may add a small epsilon to the weights)
    h_obj = assignment_cost(inst.graph, h.labels_, h.centers_, w)
    hf_obj = assignment_cost(inst.graph, hf.labels_, h.centers_, w)
    rec = {
        "instance": inst.name, "kind": kind, "n": n, "m": m, "tol": tol, "seed": seed,
        "h_status": h.status_,
        # measured, not taken from the status: every total inside its bounds
        "h_within": bool(((tot := _totals(a, h.labels_, m)) >= b.lower - 1e-9 * b.target).all()
                         and (tot <= b.upper + 1e-9 * b.target).all()),
        "h_obj": h_obj, "h_secs": h_secs, "h_bound": h.bound_,
        "h_min": float(fh["min"][0]), "h_max": float(fh["max"][0]), "h_sd": float(fh["sd"][0]),
        "h_contig": float(contiguous_flags(inst.graph, h.labels_, m).mean()),
        "h_star": bool(star_shaped(inst.graph, h.labels_, h.centers_).all()),
        "hf_status": hf.status_, "hf_obj": hf_obj, "hf_secs": hf_secs,
        "ex_status": ex.status, "ex_obj": ex.objective, "ex_bound": ex.bound,
        "ex_gap": ex.mip_gap, "ex_secs": ex.seconds,
        "ex_contig": float(contiguous_flags(inst.graph, ex.labels, m).mean()) if has else None,
        "hs_min": float(fhs["min"][0]), "hs_max": float(fhs["max"][0]),
        "hs_sd": float(fhs["sd"][0]), "hs_split": hs.split_units,
    }
    if has:
        fe = balance_figures(a, ex.labels, m)
        rec.update(ex_min=float(fe["min"][0]), ex_max=float(fe["max"][0]),
                   ex_sd=float(fe["sd"][0]))
        rec["gap"] = (h_obj - ex.objective) / ex.objective
        rec["gap_fixed"] = (hf_obj - ex.objective) / ex.objective
    return rec


def _totals(a: np.ndarray, labels: np.ndarray, m: int) -> np.ndarray:
    out = np.zeros((m, a.shape[1]))
    np.add.at(out, labels, a)
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def _group_row(recs: list[dict]) -> dict:
    r0 = recs[0]
    feas = [r for r in recs if r["ex_status"] in ("optimal", "time_limit_feasible")]
    proven = sum(r["ex_status"] == "optimal" for r in recs)
    infeas = sum(r["ex_status"] == "infeasible" for r in recs)
    within = [r for r in feas if r["h_within"]]
    gaps = [r["gap"] for r in within]
    fixed = [r["gap_fixed"] for r in feas if r["hf_status"] in ("feasible", "optimal")]
    note = (f"heur. within tol. {len(within)}/{len(feas)} where exact feasible "
            f"(exact: {proven} proven optimal, {len(feas) - proven} not proven in "
            f"{EXACT_LIMIT:.0f} s, {infeas} infeasible, of {len(recs)}); ")
    if gaps:
        note += f"gap avg {_pct(np.mean(gaps))} worst {_pct(max(gaps))}"
        if fixed:
            note += f" (heur. on fixed centers: avg {_pct(np.mean(fixed))})"
        note += "; "
    note += (f"range {min(r['h_min'] for r in recs):.3f}-{max(r['h_max'] for r in recs):.3f}, "
             f"s.d. <= {max(r['h_sd'] for r in recs):.4f}; "
             f"contiguous {100 * np.mean([r['h_contig'] for r in recs]):.0f} % "
             f"(exact {100 * np.mean([r['ex_contig'] for r in feas] or [np.nan]):.0f} %); "
             f"heur. {np.mean([r['h_secs'] for r in recs]):.1f} s, exact "
             f"{np.mean([r['ex_secs'] for r in recs]):.1f} s avg; H&S LP-and-round range "
             f"{min(r['hs_min'] for r in recs):.3f}-{max(r['hs_max'] for r in recs):.3f}, "
             f"s.d. {np.mean([r['hs_sd'] for r in recs]):.4f}")
    return {"benchmark": "balance_exact",
            "case": f"{r0['kind']} {r0['n']} SCUs / {r0['m']} terr., tol {r0['tol']:.0%}, "
                    f"{len(recs)} seed(s)",
            "value": 100 * float(np.mean(gaps)) if gaps else float("nan"), "unit": "% gap avg",
            "target": "within tol.; <= 0.5 % avg, <= 2 % worst", "note": note}


def _summary_rows(recs: list[dict]) -> list[dict]:
    feas = [r for r in recs if r["ex_status"] in ("optimal", "time_limit_feasible")]
    within = [r for r in feas if r["h_within"]]
    gaps = [r["gap"] for r in within]
    misses = [r["instance"] + f" m={r['m']} tol={r['tol']:.0%}" for r in feas
              if not r["h_within"]]
    tight = [r for r in recs if r["tol"] == 0.01 and r["n"] >= 200 and r["m"] <= 13]
    rows = [
        {"benchmark": "balance_exact", "case": "all: heuristic within tolerance where exact "
         "feasible", "value": 100 * len(within) / max(len(feas), 1), "unit": "%",
         "target": "100 %", "note": ("misses: " + ", ".join(misses[:8])) if misses else
         "no miss"},
        {"benchmark": "balance_exact", "case": "all: objective gap vs exact (same centers)",
         "value": 100 * float(np.mean(gaps)) if gaps else float("nan"), "unit": "% avg",
         "target": "<= 0.5 % avg, <= 2 % worst",
         "note": f"worst {_pct(max(gaps)) if gaps else 'n/a'}; "
                 f"{sum(g < -1e-9 for g in gaps)} negative (heuristic outside the star-shaped "
                 f"family); exact not proven on "
                 f"{sum(r['ex_status'] == 'time_limit_feasible' for r in recs)} of {len(recs)}"},
        {"benchmark": "balance_exact", "case": "all: contiguous territories",
         "value": 100 * float(np.mean([r["h_contig"] for r in recs])), "unit": "%",
         "target": "100 %", "note": f"star-shaped (in the MILP's family): "
                                    f"{sum(r['h_star'] for r in recs)}/{len(recs)}"},
    ]
    if tight:
        lo, hi = min(r["h_min"] for r in tight), max(r["h_max"] for r in tight)
        sd = max(r["h_sd"] for r in tight)
        hs_lo, hs_hi = min(r["hs_min"] for r in tight), max(r["hs_max"] for r in tight)
        ok = [r for r in tight if r["h_within"]]
        ex_sd = [r["ex_sd"] for r in tight if "ex_sd" in r]
        rows.append({"benchmark": "balance_exact",
                     "case": f"1 % requested, >= 200 SCUs, <= 13 terr. ({len(tight)} inst.)",
                     "value": sd, "unit": "s.d. (worst)",
                     "target": "range 0.99-1.01, s.d. <= 0.005",
                     "note": f"range {lo:.3f}-{hi:.3f} ({len(ok)}/{len(tight)} within 1 %, "
                             f"s.d. of those avg {np.mean([r['h_sd'] for r in ok]):.4f}); the "
                             f"exact optimum's s.d. avg {np.mean(ex_sd):.4f} max "
                             f"{max(ex_sd):.4f} (an optimum sits on the bounds); "
                             f"H&S LP-and-round (same centers) range "
                             f"{hs_lo:.3f}-{hs_hi:.3f}, s.d. "
                             f"{np.mean([r['hs_sd'] for r in tight]):.4f}; published: {ZS}"})
    return rows


def run(quick: bool = False) -> list[dict]:
    return rows_from([measure(*c) for c in cases(quick)])


def rows_from(recs: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for r in recs:
        groups.setdefault((r["kind"], r["n"], r["m"], r["tol"]), []).append(r)
    return [_group_row(g) for g in groups.values()] + _summary_rows(recs)


def main(argv: list[str]) -> None:
    """Per-instance records (TSV) for debugging the heuristic."""
    keys = ["instance", "m", "tol", "h_status", "h_obj", "hf_obj", "ex_status", "ex_obj",
            "ex_gap", "gap", "gap_fixed", "h_min", "h_max", "h_sd", "ex_sd", "h_contig",
            "h_star", "h_secs", "ex_secs", "hs_min", "hs_max"]
    print("\t".join(keys))
    recs = []
    for c in cases("--quick" in argv):
        r = measure(*c)
        recs.append(r)
        print("\t".join(f"{r.get(k):.4g}" if isinstance(r.get(k), float) else str(r.get(k))
                        for k in keys), flush=True)
    from tests.benchmarks.run import table

    print()
    print(table(rows_from(recs)))


if __name__ == "__main__":
    main(sys.argv[1:])

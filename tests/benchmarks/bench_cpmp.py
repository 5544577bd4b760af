"""Capacitated single-source p-median against published optima (issue #13).

Instances, read from the original files in ``tests/benchmarks/data/cpmp/`` (sources in
its README): Osman & Christofides (1994), OR-Library ``pmedcap1.txt`` (20 problems,
50 x 5 and 100 x 10, truncated Euclidean costs) and Lorena & Senne (2004), SJC1-SJC4b
(100-402 points, real Euclidean costs). Every point is a candidate site; the cost is
the distance (unweighted), the demand is the load on the capacities.

Targets (issue #13): average <= 0.2 % and worst <= 1 % above the published optimum, and
no lower bound above it. Each solve has a wall cap (``TERRAPLAN_CPMP_WALL``, default
300 s; every budget inside is in iterations or HiGHS nodes, the cap only stops a machine
that is too busy); CPU seconds (this process and its HiGHS children) are reported
beside the loaded wall time. The row carries ``ok``: ``make bench`` exits 1 on a miss.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
from scipy.spatial.distance import cdist

from components.locate import LocationAllocator

DATA = Path(__file__).resolve().parent / "data" / "cpmp"
SJC_OPT = {"SJC1": 17288.99, "SJC2": 33270.94, "SJC3a": 45335.16, "SJC3b": 40635.90,
           "SJC4a": 61925.51, "SJC4b": 52458.00}
WALL = float(os.environ.get("TERRAPLAN_CPMP_WALL", 300))


def read_pmedcap(path: Path = DATA / "pmedcap1.txt") -> list[dict]:
    """Every problem of an OR-Library pmedcap file: costs, demand, capacity, p, optimum."""
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    count, out, k = int(lines[0][0]), [], 1
    for _ in range(count):
        number, optimum = int(lines[k][0]), float(lines[k][1])
        n, p, cap = map(int, lines[k + 1])
        rows = np.array(lines[k + 2:k + 2 + n], dtype=float)
        xy = rows[:, 1:3]
        out.append({"name": f"pmedcap1-{number:02d}", "costs": np.floor(cdist(xy, xy)),
                    "demand": rows[:, 3], "capacity": np.full(n, float(cap)), "p": p,
                    "optimum": optimum})
        k += 2 + n
    return out


def read_sjc(name: str) -> dict:
    """One Lorena & Senne instance: ``n p`` then ``x y capacity demand`` per point."""
    lines = [ln.split() for ln in (DATA / f"{name}.dat").read_text().splitlines()
             if ln.strip()]
    n, p = map(int, lines[0][:2])
    rows = np.array(lines[1:1 + n], dtype=float)
    return {"name": name, "costs": cdist(rows[:, :2], rows[:, :2]), "demand": rows[:, 3],
            "capacity": rows[:, 2], "p": p, "optimum": SJC_OPT[name]}


def _children_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def solve(inst: dict) -> dict:
    t0, cpu0, kids0 = time.monotonic(), time.process_time(), _children_cpu()
    la = LocationAllocator("min_total_cost", inst["p"], time_limit=WALL, seed=0).solve(
        inst["costs"], None, loads=inst["demand"], capacities=inst["capacity"])
    a = la.assignment_
    loads = np.bincount(a, weights=inst["demand"], minlength=len(a))
    # the oracle: every point served by an open site, capacities held, cost recomputed
    assert (a >= 0).all() and np.isin(a, la.open_).all() and len(la.open_) == inst["p"]
    assert (loads <= inst["capacity"] + 1e-9).all()
    cost = float(inst["costs"][np.arange(len(a)), a].sum())
    assert abs(cost - la.objective_) <= 1e-6 * cost
    got = {"name": inst["name"], "objective": cost, "bound": la.lower_bound_,
           "status": la.status_, "opt": inst["optimum"],
           "gap": 100 * (cost - inst["optimum"]) / inst["optimum"],
           "seconds": time.monotonic() - t0,
           "cpu": time.process_time() - cpu0 + _children_cpu() - kids0}
    print(f"# {got['name']}: {cost:.2f} vs {got['opt']:.2f} ({got['gap']:.2f} %), bound "
          f"{got['bound']:.2f}, {got['status']}, {got['cpu']:.1f} CPU s, "
          f"{got['seconds']:.1f} s wall", file=sys.stderr, flush=True)
    return got


def _row(name: str, got: list[dict]) -> dict:
    gaps = [g["gap"] for g in got]
    false_bound = [g["name"] for g in got if g["bound"] > g["opt"] * (1 + 1e-6) + 1e-6]
    worst = int(np.argmax(gaps))
    ok = np.mean(gaps) <= 0.2 and max(gaps) <= 1.0 and not false_bound
    # the published optima are rounded to 0.01 (SJC): within 1e-4 % is at the optimum
    each = "; ".join(f"{g['name']} {g['objective']:.2f} ({g['gap']:.2f} %, {g['status']}, "
                     f"{g['cpu']:.0f} CPU s)" for g in got if g["gap"] > 1e-4)
    note = (f"worst {max(gaps):.2f} % ({got[worst]['name']}); at the optimum "
            f"{sum(g['gap'] <= 1e-4 for g in got)}/{len(got)}, proven "
            f"{sum(g['status'] == 'optimal' for g in got)}; CPU max "
            f"{max(g['cpu'] for g in got):.1f} s, wall max {max(g['seconds'] for g in got):.1f}"
            f" s (loaded, cap {WALL:g} s); bounds above the optimum: {false_bound or 'none'}"
            + (f"; above the optimum: {each}" if each else ""))
    return {"benchmark": "capacitated p-median", "case": name, "value": float(np.mean(gaps)),
            "unit": "% avg gap", "target": "avg <= 0.2 %, worst <= 1 %", "note": note,
            "ok": bool(ok)}


def run(quick: bool = False) -> list[dict]:
    oc = read_pmedcap()
    oc = [oc[0], oc[10]] if quick else oc
    sjc = ["SJC1"] if quick else list(SJC_OPT)
    got_oc = [solve(i) for i in oc]
    got_sjc = [solve(read_sjc(s)) for s in sjc]
    return [_row(f"Osman-Christofides pmedcap1 ({len(oc)} inst.)", got_oc),
            _row(f"Lorena-Senne SJC ({len(sjc)} inst.)", got_sjc)]

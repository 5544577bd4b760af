"""p-center (min_max_cost) on OR-Library pmed1-40 against the published optimal radii.

Instances: Beasley's pmed files (../shared/data/orlib-pmed/, read from the original
files: shortest paths over the edge lists, last occurrence of an edge counts). Optimal
radii: Pullan (2008), "A memetic genetic algorithm for the vertex p-center problem",
Evolutionary Computation 16(3), as listed in the public repository
timothy-ch-cheung/k-center, file src/server/dataset/ORLIB/kcenteropt.txt (commit
6d9f3e34a9f1); the same 40 values appear in another public p-center code (an
``opt[40]`` table) and agree with Elloumi, Labbe & Pochet (2004). Checked value by
value on 2026-12-07. Targets (issue #13): avg gap <= 0.2 %, worst <= 2 %, each <= 30 s,
and no lower bound above the published radius (issue #19). Times are reported in CPU
seconds (this process and its HiGHS children) beside the loaded wall time.
The row carries ``ok``: ``make bench`` exits non-zero when it is False.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import numpy as np

from components.locate import LocationAllocator
from tests.benchmarks import bench_locate

# the files sit beside the checkout (../shared/data/orlib-pmed); TERRAPLAN_ORLIB_PMED
# points elsewhere (a worktree one level deeper)
if os.environ.get("TERRAPLAN_ORLIB_PMED"):
    bench_locate.ORLIB = Path(os.environ["TERRAPLAN_ORLIB_PMED"])

OPT_RADIUS = {1: 127, 2: 98, 3: 93, 4: 74, 5: 48, 6: 84, 7: 64, 8: 55, 9: 37, 10: 20,
              11: 59, 12: 51, 13: 36, 14: 26, 15: 18, 16: 47, 17: 39, 18: 28, 19: 18,
              20: 13, 21: 40, 22: 38, 23: 22, 24: 15, 25: 11, 26: 38, 27: 32, 28: 18,
              29: 13, 30: 9, 31: 30, 32: 29, 33: 15, 34: 11, 35: 30, 36: 27, 37: 15,
              38: 29, 39: 23, 40: 13}
LIMIT = 30.0  # the target, judged in CPU seconds (this process and its HiGHS children)
# the time limit given to the solver is only a cap: every budget inside is in iterations
# or branch-and-bound nodes, so the answer does not depend on the machine's load. With a
# 30 s wall, a loaded machine (6 engineers on 2 cores) cut several instances short that
# need under 11 CPU s; the cap is therefore 10 x the target (TERRAPLAN_PCENTER_WALL
# overrides it) and the target is judged on CPU seconds.
WALL = float(os.environ.get("TERRAPLAN_PCENTER_WALL", 10 * LIMIT))


def solve(k: int) -> dict:
    d, p = bench_locate.read_pmed(k)
    t0, cpu0, kids0 = time.monotonic(), time.process_time(), _children_cpu()
    la = LocationAllocator("min_max_cost", p, exact="always", time_limit=WALL,
                           seed=0).solve(d)
    return {"k": k, "objective": la.objective_, "bound": la.lower_bound_,
            "status": la.status_, "seconds": time.monotonic() - t0,
            "cpu": time.process_time() - cpu0 + _children_cpu() - kids0,
            "opt": OPT_RADIUS[k]}


def _children_cpu() -> float:
    """CPU seconds of finished child processes (HiGHS runs in forked children)."""
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def run(quick: bool = False) -> list[dict]:
    ks = [1, 6, 11, 20] if quick else list(range(1, 41))
    got = [solve(k) for k in ks]
    gaps = [100 * (g["objective"] - g["opt"]) / g["opt"] for g in got]
    false_bound = [g["k"] for g in got if g["bound"] > g["opt"] + 1e-9]
    # "each <= 30 s" is judged in CPU seconds: wall time on a shared machine measures the
    # other tenants; the wall must still hold (the limit is a cap)
    over = [g["k"] for g in got if g["cpu"] > LIMIT or g["seconds"] > 1.1 * WALL]
    proven = sum(g["status"] == "optimal" for g in got)
    worst = int(np.argmax(gaps))
    ok = np.mean(gaps) <= 0.2 and max(gaps) <= 2.0 and not false_bound and not over
    note = (f"worst {max(gaps):.2f} % (pmed{got[worst]['k']}: {got[worst]['objective']:g} vs "
            f"{got[worst]['opt']}); proven optimal {proven}/{len(got)}; max "
            f"{max(g['seconds'] for g in got):.1f} s wall (shared machine), CPU max "
            f"{max(g['cpu'] for g in got):.1f} s (with HiGHS children); bounds above the "
            f"published radius: {false_bound or 'none'}; over the wall: {over or 'none'}")
    return [{"benchmark": "p-center OR-Library", "case": f"pmed{ks[0]}-{ks[-1]} "
             f"({len(ks)} inst.), {WALL:g} s wall", "value": float(np.mean(gaps)),
             "unit": "% avg gap", "target": "avg <= 0.2 %, worst <= 2 %, <= 30 CPU s each",
             "note": note, "ok": bool(ok)}]

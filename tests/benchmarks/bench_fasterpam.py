"""p-median side by side with FasterPAM, and the large p-median (issue #19).

**Side by side.** FasterPAM (the ``kmedoids`` package, Schubert & Rousseeuw 2021) on
the same instance: points uniform on [0, 100]^2 (seeded), every point a candidate,
unit weights. FasterPAM gets the dense dissimilarity matrix it needs (float64 up to
10k points, float32 filled in blocks at 50k: 10 GB), one thread, run to convergence
(``init='build'`` up to 10k; BUILD is O(n^2 p), so ``'lab'``, its linear approximation,
at 50k). Ours runs as a user would run it: dense costs up to 1,000 points, candidate
lists (``candidate_list=K``, K = max(64, 3 n / p)) above, with limits of 1, 10, 60 s.
Reported: objectives, the first limit at which ours is within 0.5 % of FasterPAM's,
CPU seconds and peak RSS per run (each run in its own process), loaded wall seconds.

**Large.** 50,000 demand x 10,000 candidates, p=500, limit 120 s: certified gap and
peak memory; 100,000 x 20,000, p=1,000: that it runs within the machine's 24 GB.

Targets: ours no worse than FasterPAM at every size and limit, every limit honoured
within 10 % (the solve's own seconds, loaded wall); 50k x 10k: gap <= 2 % and peak
RSS <= 8 GB; 100k x 20k: peak RSS <= 24 GB. Each case runs in a subprocess so that
its peak RSS is its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

SIZES = ((1000, 50), (10_000, 100), (50_000, 500))
LIMITS = (1.0, 10.0, 60.0)
LARGE = ((50_000, 10_000, 500, 120.0, 0.02, 8.0), (100_000, 20_000, 1000, 120.0, None, 24.0))


def points(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 100, (n, 2))


def _fasterpam(n: int, p: int) -> dict:
    import kmedoids
    from scipy.spatial.distance import cdist

    pts = points(n)
    dtype = np.float64 if n <= 10_000 else np.float32
    d = np.empty((n, n), dtype=dtype)
    for s in range(0, n, 2000):  # blocks: no float64 n x n temporary at 50k
        d[s:s + 2000] = cdist(pts[s:s + 2000], pts)
    c0 = time.process_time()
    init = "build" if n <= 10_000 else "lab"
    fp = kmedoids.fasterpam(d, p, max_iter=100, init=init, random_state=0, n_cpu=1)
    return {"objective": float(fp.loss), "cpu": time.process_time() - c0, "init": init}


def _ours(n: int, p: int, limit: float, m: int | None = None) -> dict:
    from components.locate import LocationAllocator
    from components.locate.sparse import knn_lists

    pts = points(n)
    sites = pts if m is None else points(m, seed=1)
    c0, t0 = time.process_time(), time.monotonic()
    k = max(64, 3 * len(sites) // p)
    if n <= 1000 and m is None:
        from scipy.spatial.distance import cdist
        costs, k = cdist(pts, sites), 0
    else:
        costs = knn_lists(pts, sites, k)
    la = LocationAllocator("min_total_cost", p, time_limit=limit, seed=0).solve(
        costs, coords=(pts, sites))
    return {"objective": la.objective_, "bound": la.lower_bound_, "gap": la.gap_,
            "status": la.status_, "stopped_by": la.stopped_by_, "solve_seconds": la.seconds_,
            "wall": time.monotonic() - t0, "cpu": time.process_time() - c0, "k": k,
            "swaps": la.stats_.get("swaps"), "lagrangian": la.stats_.get("lagrangian")}


def _child(kind: str, *args: float) -> dict:
    """One case in its own process: its answer plus its own peak RSS (GB)."""
    code = ("import json, resource, sys; from tests.benchmarks import bench_fasterpam as b; "
            f"r = b._{kind}(*{[int(a) if float(a).is_integer() else a for a in args]!r}); "
            "r['rss_gb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20; "
            "print(json.dumps(r))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=os.getcwd()))
    if out.returncode:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def side_by_side(n: int, p: int, limits=LIMITS) -> dict:
    ours = []
    for limit in limits:
        r = _child("ours", n, p, limit)
        r["limit"] = limit
        ours.append(r)
    return {"n": n, "p": p, "fasterpam": _child("fasterpam", n, p), "ours": ours}


def _row_side(r: dict) -> dict:
    fp, ours = r["fasterpam"], r["ours"]
    bad = [o for o in ours if "error" in o]
    theirs = fp.get("objective")
    worse = [o["limit"] for o in ours if "error" not in o and theirs is not None
             and o["objective"] > theirs * (1 + 1e-9)]
    over = [o["limit"] for o in ours if "error" not in o
            and o["solve_seconds"] > 1.1 * o["limit"]]
    within = next((o["limit"] for o in ours if "error" not in o and theirs is not None
                   and o["objective"] <= 1.005 * theirs), None)
    at = "; ".join(
        f"{o['limit']:g} s: error {o['error']}" if "error" in o else
        f"{o['limit']:g} s: {o['objective']:,.1f} (gap {100 * (o['gap'] or 0):.2f} %, "
        f"solve {o['solve_seconds']:.1f} s loaded wall, {o['cpu']:.1f} CPU s, "
        f"{o['rss_gb']:.2f} GB, K={o['k'] or 'dense'})" for o in ours)
    theirs_txt = (f"FasterPAM {theirs:,.1f} in {fp['cpu']:.1f} CPU s ({fp['init']} init, "
                  f"1 thread, {fp['rss_gb']:.1f} GB)" if theirs is not None
                  else f"FasterPAM did not run: {fp.get('error')}")
    return {"benchmark": "FasterPAM side by side", "case": f"{r['n']:,} points, p={r['p']}",
            "value": within, "unit": "s limit to within 0.5 %",
            "target": "never worse than FasterPAM at the limit, limit within 10 %",
            "note": f"{theirs_txt}; ours {at}; worse at {worse or 'none'}; over the limit at "
                    f"{over or 'none'}",
            "ok": theirs is not None and not bad and not worse and not over}


def _row_large(n: int, m: int, p: int, limit: float, gap: float | None, gb: float) -> dict:
    r = _child("ours", n, p, limit, m)
    if "error" in r:
        return {"benchmark": "large p-median", "case": f"{n:,} x {m:,}, p={p}",
                "value": None, "unit": "gap", "target": "", "note": r["error"], "ok": False}
    ok = r["rss_gb"] <= gb and r["solve_seconds"] <= 1.1 * limit and (
        gap is None or (r["gap"] is not None and r["gap"] <= gap))
    return {"benchmark": "large p-median", "case": f"{n:,} demand x {m:,} candidates, p={p}",
            "value": round(100 * (r["gap"] or 0), 2), "unit": "% certified gap",
            "target": (f"gap <= {100 * gap:g} % " if gap is not None else "runs ")
            + f"in {limit:g} s, peak RSS <= {gb:g} GB",
            "note": f"objective {r['objective']:,.1f}, bound {r['bound']:,.1f}, K={r['k']}, "
                    f"solve {r['solve_seconds']:.1f} s loaded wall, {r['cpu']:.1f} CPU s, "
                    f"peak RSS {r['rss_gb']:.2f} GB, {r['swaps']} swaps, Lagrangian "
                    f"{r['lagrangian']['iterations']} steps ({r['lagrangian']['stopped_by']})",
            "ok": ok}


def run(quick: bool = False) -> list[dict]:
    try:
        import kmedoids  # noqa: F401
    except ImportError:
        return [{"benchmark": "FasterPAM side by side", "case": "kmedoids not installed",
                 "value": None, "unit": "", "target": "", "note": "pip install kmedoids "
                 "(the bench extra)", "ok": False}]
    small = quick or os.environ.get("TERRAPLAN_BENCH_SMALL")
    sizes = SIZES[:1] if small else SIZES
    rows = [_row_side(side_by_side(n, p, LIMITS[:2] if small else LIMITS)) for n, p in sizes]
    if not small:
        rows += [_row_large(*case) for case in LARGE]
    return rows

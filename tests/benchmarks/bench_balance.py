"""Territory balancing: speed, balance and certified gap (Lagrangian bound).

The large uniform rows are run in a child process so their peak RSS is their own; the
figure reported is CPU seconds of that child (the machine may be loaded; the solver's
time limit is wall time and generous here, so budgets decide the answer).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

from components.balance import TerritoryBalancer, territory_balancing
from tests.benchmarks.instances import delaunay_graph
from tests.conftest import DATA


def _uniform(n: int, m: int, tol: float, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 100, (n, 2))
    a = rng.uniform(4, 8, (n, 1))
    g = delaunay_graph(pts)
    t0 = time.monotonic()
    b = TerritoryBalancer(m, tolerance=tol, seed=seed, time_limit=60).solve(g, a, coords=pts)
    secs = time.monotonic() - t0
    r = b.totals_[:, 0] / (a.sum() / m)
    return {"seconds": secs, "range": f"{r.min():.3f}-{r.max():.3f}", "sd": r.std(),
            "gap": b.gap_, "contiguous": bool(b.contiguous_.all()), "status": b.status_}


# units, territories, tolerance: (CPU s, peak RSS GB) targets from issue #18
LARGE = {100_000: (60.0, 4.0), 1_000_000: (900.0, 16.0)}


def _child(n: int, m: int, tol: float) -> dict:
    """One large uniform solve in a fresh process: CPU seconds, peak RSS, answer."""
    out = subprocess.run([sys.executable, "-m", "tests.benchmarks.bench_balance", str(n),
                          str(m), str(tol)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _large_row(n: int, m: int, tol: float) -> dict:
    r = _child(n, m, tol)
    cpu_target, rss_target = LARGE[n]
    ok = r["status"] in ("optimal", "feasible") and r["cpu"] < cpu_target \
        and r["rss_gb"] < rss_target and r["contiguous"]
    return {"benchmark": "balance", "case": f"uniform {n:,} SCUs / {m} terr., tol {tol:.0%}",
            "value": round(r["cpu"], 1), "unit": "CPU s",
            "target": f"feasible, < {cpu_target:.0f} CPU s, < {rss_target:.0f} GB", "met": ok,
            "note": f"{r['status']}, range {r['range']}, gap {r['gap']}, peak RSS "
                    f"{r['rss_gb']:.2f} GB, wall {r['wall']:.0f} s (loaded), "
                    f"contiguous {r['contiguous']}"}


def run(quick: bool = False) -> list[dict]:
    rows = []
    cases = [(200, 8, 0.05), (1000, 25, 0.02)] if quick else \
        [(200, 8, 0.05), (400, 13, 0.01), (1000, 13, 0.01), (1000, 25, 0.02), (5000, 50, 0.02),
         (20_000, 100, 0.02)]
    for n, m, tol in cases:
        r = _uniform(n, m, tol)
        rows.append({"benchmark": "balance", "case": f"uniform {n} SCUs / {m} terr., tol {tol:.0%}",
                     "value": r["seconds"], "unit": "s",
                     "target": "< 2 s" if n <= 1000 else "< 60 s" if n >= 100_000 else "",
                     "note": f"{r['status']}, range {r['range']}, s.d. {r['sd']:.4f}, "
                             f"gap <= {100 * r['gap']:.2f}%, contiguous {r['contiguous']}"})
    if not quick:
        rows.append(_large_row(100_000, 200, 0.02))
    scus = pd.read_csv(DATA / "scus.csv", dtype={"scu_id": str})
    edges = pd.read_csv(DATA / "edges.csv", dtype=str)
    t0 = time.monotonic()
    res = territory_balancing(scus, edges=edges, territories=10, metrics=["population"],
                              id="scu_id", tolerance=0.05)
    b = res.report["balance"]["population"]
    rows.append({"benchmark": "balance", "case": "Georgia 159 counties / 10 terr., tol 5%",
                 "value": time.monotonic() - t0, "unit": "s", "target": "",
                 "note": f"{res.report['status']}, range {b['min_ratio']:.3f}-"
                         f"{b['max_ratio']:.3f}, gap <= {100 * res.report['gap']:.2f}%"})
    return rows


if __name__ == "__main__":
    # python -m tests.benchmarks.bench_balance N M TOL: one uniform solve, JSON on stdout
    n_, m_, tol_ = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 100, (n_, 2))
    a = rng.uniform(4, 8, (n_, 1))
    g = delaunay_graph(pts)
    c0, w0 = time.process_time(), time.monotonic()
    b = TerritoryBalancer(m_, tolerance=tol_, seed=0, time_limit=3600).solve(g, a, coords=pts)
    r = b.totals_[:, 0] / (a.sum() / m_)
    print(json.dumps({"status": b.status_, "cpu": time.process_time() - c0,
                      "wall": time.monotonic() - w0,
                      "rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                      "range": f"{r.min():.3f}-{r.max():.3f}", "gap": b.gap_,
                      "contiguous": bool(b.contiguous_.all())}))

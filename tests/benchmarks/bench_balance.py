"""Territory balancing: speed, balance and certified gap (Lagrangian bound)."""

from __future__ import annotations

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


def run(quick: bool = False) -> list[dict]:
    rows = []
    cases = [(200, 8, 0.05), (1000, 25, 0.02)] if quick else \
        [(200, 8, 0.05), (400, 13, 0.01), (1000, 13, 0.01), (1000, 25, 0.02), (5000, 50, 0.02),
         (20_000, 100, 0.02), (100_000, 200, 0.02)]
    for n, m, tol in cases:
        r = _uniform(n, m, tol)
        rows.append({"benchmark": "balance", "case": f"uniform {n} SCUs / {m} terr., tol {tol:.0%}",
                     "value": r["seconds"], "unit": "s",
                     "target": "< 2 s" if n <= 1000 else "< 60 s" if n >= 100_000 else "",
                     "note": f"{r['status']}, range {r['range']}, s.d. {r['sd']:.4f}, "
                             f"gap <= {100 * r['gap']:.2f}%, contiguous {r['contiguous']}"})
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

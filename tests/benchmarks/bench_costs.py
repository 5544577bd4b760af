"""Benchmarks of the cost-matrix core: dense, k-nearest and road-network costs.

``run(quick=False)`` returns one dict per measurement with keys ``benchmark``, ``case``,
``value``, ``unit``, ``target`` and ``note``. ``quick=True`` uses small sizes for a
smoke test. Run directly to print JSON: ``python -m tests.benchmarks.bench_costs``.
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from components.costs import RoadNetwork, knn_costs, point_costs

SEED = 20240611
MIB = 1024 * 1024


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _repeated(fn: Callable[[], Any], repeats: int = 3) -> tuple[float, float]:
    """(median seconds, first-call seconds) over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        seconds, result = _timed(fn)
        del result
        times.append(seconds)
    return float(np.median(times)), times[0]


def _peak_mib(fn: Callable[[], Any]) -> float:
    """Peak memory traced by tracemalloc (numpy buffers included) while ``fn`` runs."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / MIB
    finally:
        tracemalloc.stop()


def _row(case: str, value: float, unit: str, target: str, note: str) -> dict[str, Any]:
    return {"benchmark": "costs", "case": case, "value": round(float(value), 4),
            "unit": unit, "target": target, "note": note}


def _grid_network(side: int, rng: np.random.Generator) -> RoadNetwork:
    """Square grid road network, side x side nodes, edge costs 1 +- 20 % (seeded)."""
    xs, ys = np.meshgrid(np.arange(side), np.arange(side))
    node = (ys * side + xs).ravel()
    right = node[xs.ravel() < side - 1]
    up = node[ys.ravel() < side - 1]
    from_id = np.concatenate([right, up])
    to_id = np.concatenate([right + 1, up + side])
    edges = pd.DataFrame({"from_id": from_id, "to_id": to_id,
                          "cost": rng.uniform(0.8, 1.2, from_id.size)})
    nodes = pd.DataFrame({"node_id": node, "x": xs.ravel().astype(float),
                          "y": ys.ravel().astype(float)})
    return RoadNetwork.from_edges(edges, nodes=nodes)


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Run every case and return the measurements."""
    rng = np.random.default_rng(SEED)
    n, m = (2_000, 200) if quick else (20_000, 2_000)
    n_knn, k = (5_000, 10) if quick else (100_000, 50)
    side, n_origins = (50, 20) if quick else (500, 200)
    rows: list[dict[str, Any]] = []

    planar_o = rng.uniform(0, 1000, (n, 2))
    planar_d = rng.uniform(0, 1000, (m, 2))
    seconds, first = _repeated(lambda: point_costs(planar_o, planar_d))
    rows.append(_row(f"dense euclidean {n:,} x {m:,}", seconds, "s", "< 5 s",
                     f"median of 3; first call {first:.2f} s (fresh pages for the "
                     f"{n * m * 8 / MIB:,.0f} MiB result)"))

    lonlat_o = np.column_stack((rng.uniform(-125, -66, n), rng.uniform(24, 50, n)))
    lonlat_d = np.column_stack((rng.uniform(-125, -66, m), rng.uniform(24, 50, m)))
    seconds, first = _repeated(lambda: point_costs(lonlat_o, lonlat_d, "haversine"))
    rows.append(_row(f"dense haversine {n:,} x {m:,}", seconds, "s", "< 5 s",
                     f"median of 3, first call {first:.2f} s; chunked cdist on unit "
                     "vectors, arcsin in place"))

    points = rng.uniform(0, 1000, (n_knn, 2))
    seconds, sparse = _timed(lambda: knn_costs(points, points, k))
    result_mib = (sparse.data.nbytes + sparse.indices.nbytes + sparse.indptr.nbytes) / MIB
    dense_gib = n_knn * n_knn * 8 / 1024 ** 3
    rows.append(_row(f"knn euclidean {n_knn:,} points k={k}", seconds, "s", "< 10 s",
                     f"nnz {sparse.nnz:,}; cKDTree, all cores"))
    rows.append(_row(f"knn euclidean {n_knn:,} points k={k}: result size", result_mib, "MiB",
                     "< 100 MiB", f"a dense n x n float64 would be {dense_gib:,.1f} GiB"))
    del sparse
    peak = _peak_mib(lambda: knn_costs(points, points, k))
    rows.append(_row(f"knn euclidean {n_knn:,} points k={k}: peak memory", peak, "MiB",
                     "< 500 MiB", "tracemalloc peak during the call (numpy buffers)"))

    geo = np.column_stack((rng.uniform(-125, -66, n_knn), rng.uniform(24, 50, n_knn)))
    seconds, sparse = _timed(lambda: knn_costs(geo, geo, k, "haversine"))
    rows.append(_row(f"knn haversine {n_knn:,} points k={k}", seconds, "s", "< 10 s",
                     "tree on 3-D unit vectors, exact chord -> arc"))
    del sparse

    seconds, network = _timed(lambda: _grid_network(side, rng))
    rows.append(_row(f"build grid road network {side * side:,} nodes", seconds, "s", "< 10 s",
                     f"{network.graph.nnz:,} arcs (two-way edges), validation included"))
    origins = rng.choice(network.n_nodes, n_origins, replace=False)
    seconds, costs = _timed(lambda: network.shortest_costs(origins))
    rows.append(_row(f"network costs {n_origins} origins x {network.n_nodes:,} nodes",
                     seconds, "s", "< 60 s",
                     f"scipy dijkstra from origins only, 64 MiB blocks; "
                     f"{np.isfinite(costs).mean():.0%} reachable"))
    return rows


if __name__ == "__main__":
    json.dump(run(quick="--quick" in sys.argv), sys.stdout, indent=2)
    sys.stdout.write("\n")

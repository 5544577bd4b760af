"""The cost-matrix component: tables in, long cost table and report out."""

from __future__ import annotations

import json

import duckdb
import jsonschema
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from components import registry
from components.costs import (
    SPEC,
    RoadNetwork,
    knn_costs,
    network_costs,
    point_costs,
    run,
    transform_costs,
)
from components.costs.component import as_text_ids, compute_cost_matrix
from components.errors import (
    DuplicateIdError,
    InputError,
    MissingColumnError,
    MissingValueError,
    NegativeValueError,
    ParameterError,
    UnknownIdError,
)
from udfs.duckdb import register_functions


def planar(n: int, seed: int, prefix: str = "p") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": [f"{prefix}{i:03d}" for i in range(n)],
                         "x": rng.uniform(0, 100, n), "y": rng.uniform(0, 100, n)})


def lonlat(n: int, seed: int, prefix: str = "g") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"site": [f"{prefix}{i:03d}" for i in range(n)],
                         "lng": rng.uniform(-125, -66, n), "lat": rng.uniform(24, 50, n)})


def as_matrix(table: pd.DataFrame, origins, destinations) -> np.ndarray:
    """Long table -> dense matrix (inf where no row)."""
    out = np.full((len(origins), len(destinations)), np.inf)
    i = pd.Index(origins).get_indexer(table["origin_id"])
    j = pd.Index(destinations).get_indexer(table["destination_id"])
    assert (i >= 0).all() and (j >= 0).all()
    out[i, j] = table["cost"].to_numpy()
    return out


# ------------------------------------------------------------------- straight line


def test_all_pairs_is_row_major_and_equals_point_costs():
    pts = planar(30, 1)
    res = run(pts)
    table = res.tables["costs"]
    assert list(table.columns) == ["origin_id", "destination_id", "cost"]
    assert len(table) == 900
    assert table["origin_id"].tolist()[:31] == ["p000"] * 30 + ["p001"]
    assert table["destination_id"].tolist()[:3] == ["p000", "p001", "p002"]
    expected = point_costs(pts[["x", "y"]], pts[["x", "y"]])
    np.testing.assert_array_equal(table["cost"].to_numpy().reshape(30, 30), expected)
    r = res.report
    assert (r["metric"], r["mode"], r["status"]) == ("euclidean", "all pairs", "ok")
    assert r["pairs_written"] == r["pairs_considered"] == 900
    assert r["unreachable_pairs"] == 0 and r["all_pairs_of_input"] is True
    assert r["cost"]["min"] == 0.0 and r["cost"]["max"] == pytest.approx(expected.max())
    assert r["seconds"] >= 0


def test_to_table_with_its_own_id_column_and_the_input_coordinate_names():
    units = planar(12, 2).rename(columns={"id": "scu_id", "x": "east", "y": "north"})
    centers = planar(3, 3, "c").rename(columns={"x": "east", "y": "north"})
    res = run(units, to=centers, id="scu_id", x="east", y="north")
    table = res.tables["costs"]
    assert len(table) == 36 and set(table["destination_id"]) == {"c000", "c001", "c002"}
    expected = point_costs(units[["east", "north"]], centers[["east", "north"]])
    np.testing.assert_array_equal(as_matrix(table, units["scu_id"], centers["id"]), expected)
    # the id column of --to may also be named explicitly
    renamed = centers.rename(columns={"id": "center"})
    again = run(units, to=renamed, id="scu_id", x="east", y="north", to_id="center")
    pd.testing.assert_frame_equal(again.tables["costs"], table)
    with pytest.raises(MissingColumnError, match=r"column 'east' not found in the destination "
                                                 r"table \(--to\)"):
        run(units, to=centers.drop(columns="east"), id="scu_id", x="east", y="north")


@pytest.mark.parametrize("unit", ["km", "mi"])
def test_lonlat_defaults_to_haversine_in_km_or_miles(unit):
    units, sites = lonlat(20, 4), lonlat(5, 5, "s")
    res = run(units, to=sites, id="site", lon="lng", lat="lat", unit=unit)
    assert res.report["metric"] == "haversine" and res.report["unit"] == unit
    expected = point_costs(units[["lng", "lat"]], sites[["lng", "lat"]], "haversine", unit=unit)
    got = as_matrix(res.tables["costs"], units["site"], sites["site"])
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_k_nearest_matches_knn_costs_and_a_point_is_its_own_nearest():
    pts = planar(200, 6)
    res = run(pts, k=4)
    table = res.tables["costs"]
    assert len(table) == 800 and (table.groupby("origin_id").size() == 4).all()
    own = table[table["origin_id"] == table["destination_id"]]
    assert len(own) == 200 and (own["cost"] == 0).all()
    expected = knn_costs(pts[["x", "y"]], pts[["x", "y"]], 4).toarray()
    got = as_matrix(table, pts["id"], pts["id"])
    np.testing.assert_array_equal(np.where(np.isinf(got), 0.0, got), expected)
    assert res.report["mode"] == "k nearest"
    assert res.report["pairs_not_kept_by_k_or_cutoff"] == 200 * 200 - 800


def test_cutoff_keeps_exactly_the_pairs_within_it():
    units, centers = planar(150, 7), planar(10, 8, "c")
    res = run(units, to=centers, cutoff=25.0)
    dense = point_costs(units[["x", "y"]], centers[["x", "y"]])
    got = as_matrix(res.tables["costs"], units["id"], centers["id"])
    within = dense <= 25.0
    assert within.sum() == len(res.tables["costs"]) > 0
    np.testing.assert_array_equal(got[within], dense[within])
    assert np.isinf(got[~within]).all()
    assert res.report["pairs_not_kept_by_k_or_cutoff"] == int((~within).sum())
    both = run(units, to=centers, cutoff=25.0, k=2).tables["costs"]
    assert (both.groupby("origin_id").size() <= 2).all() and (both["cost"] <= 25.0).all()


def test_cutoff_below_every_distance_names_the_smallest():
    pts = pd.DataFrame({"id": ["a", "b", "c"], "x": [0.0, 3.0, 10.0], "y": [0.0, 4.0, 0.0]})
    with pytest.raises(ParameterError, match=r"cutoff=2 is below every distance between "
                                             r"different points: the smallest is 5 \(from "
                                             r"'a' to 'b'\); raise --cutoff"):
        run(pts, cutoff=2.0)
    centers = pd.DataFrame({"id": ["z"], "x": [0.0], "y": [7.0]})
    with pytest.raises(ParameterError, match=r"cutoff=1 is below every distance.*the smallest is "
                                             r"4\.24264 \(from 'b' to 'z'\)"):
        run(pts, to=centers, cutoff=1.0)
    assert len(run(pts, cutoff=5.0).tables["costs"]) == 5  # 3 self pairs + a-b, b-a


def test_transforms_apply_after_k_and_cutoff():
    pts = planar(40, 9)
    base = run(pts, k=5).tables["costs"]["cost"].to_numpy()
    power = run(pts, k=5, transform="power", exponent=2.0, scale=3.0)
    np.testing.assert_allclose(power.tables["costs"]["cost"], 3.0 * base ** 2)
    assert power.report["transform"] == {"kind": "power", "scale": 3.0, "exponent": 2.0}
    expo = run(pts, k=5, transform="exponential", rate=0.01).tables["costs"]["cost"]
    np.testing.assert_allclose(expo, np.expm1(0.01 * base))
    dense = compute_cost_matrix(pts, transform="linear", scale=2.0)
    np.testing.assert_allclose(dense.costs, 2.0 * point_costs(pts[["x", "y"]], pts[["x", "y"]]))


@pytest.mark.parametrize(("params", "pattern"), [
    ({"exponent": 2.0}, r"parameter 'exponent' applies only to transform 'power' but "
                        r"transform is 'linear' \(got exponent=2\)"),
    ({"transform": "power", "rate": 0.5}, r"'rate' applies only to transform 'exponential'"),
    ({"transform": "power", "exponent": 0}, r"parameter 'exponent' must be a float in "
                                            r"\(0, inf\); got 0"),
    ({"transform": "exponential", "rate": 100.0}, r"rate=100.0 overflows the exponential"),
    ({"k": 0}, r"parameter 'k' must be an int in \[1, inf\); got 0"),
    ({"cutoff": -1}, r"parameter 'cutoff' must be a float in \(0, inf\)"),
    ({"distance": "manhattan"}, r"parameter 'distance' must be one of euclidean, haversine, "
                                r"network"),
    ({"unit": "m"}, r"parameter 'unit' must be one of km, mi; got 'm'"),
    ({"max_pairs": 100}, r"30 x 30 = 900 pairs exceed max_pairs=100: pass --k N"),
    ({"distance": "haversine"}, r"distance 'haversine' needs lon/lat coordinates"),
])
def test_parameter_errors_name_the_parameter(params, pattern):
    with pytest.raises(ParameterError, match=pattern):
        run(planar(30, 10), **params)


def test_input_errors_name_table_column_and_rows():
    pts = planar(5, 11)
    with pytest.raises(DuplicateIdError, match=r"id column 'id' has 1 duplicated id\(s\)"):
        run(pts.assign(id=["a", "a", "b", "c", "d"]))
    with pytest.raises(MissingValueError, match=r"coordinate column 'x' has 1 NULL"):
        run(pts.assign(x=[1.0, np.nan, 2.0, 3.0, 4.0]))
    with pytest.raises(MissingColumnError, match=r"no coordinate columns"):
        run(pts.drop(columns=["x", "y"]))
    with pytest.raises(InputError, match=r"the points table \(INPUT\) is empty"):
        run(pts.iloc[0:0])
    geo = lonlat(4, 12)
    with pytest.raises(ParameterError, match=r"distance 'euclidean' on lon/lat degrees"):
        run(geo, id="site", lon="lng", lat="lat", distance="euclidean")
    with pytest.raises(InputError, match=r"latitude column 'lat' has 1 value\(s\) outside"):
        run(geo.assign(lat=[10.0, 95.0, 0.0, 1.0]), id="site", lon="lng", lat="lat")


def test_dense_or_sparse_matrix_for_the_solvers():
    pts = planar(50, 13)
    dense = compute_cost_matrix(pts)
    assert not dense.is_sparse and dense.costs.shape == (50, 50)
    sparse = compute_cost_matrix(pts, k=3)
    assert sparse.is_sparse and sparse.costs.nnz == 150
    assert sparse.origin_ids.tolist() == pts["id"].tolist()
    table, dropped = sparse.long_table()
    assert len(table) == 150 and dropped == 0


# ------------------------------------------------------------------- road network


def road_edges() -> pd.DataFrame:
    """Directed and two-way roads between point ids; 'e' is cut off, 'f' has no road."""
    return pd.DataFrame({
        "from_id": ["a", "b", "c", "a", "d", "e"],
        "to_id": ["b", "c", "d", "d", "b", "g"],
        "cost": [1.0, 2.0, 1.5, 10.0, 0.0, 1.0],
        "oneway": ["no", "no", "yes", "no", "yes", "no"],
    })


def point_ids(ids) -> pd.DataFrame:
    return pd.DataFrame({"id": list(ids)})


def floyd(edges: pd.DataFrame, ids: list[str]) -> np.ndarray:
    """All-pairs shortest paths by hand (scipy's dense csgraph would drop 0-cost arcs)."""
    nodes = pd.unique(np.r_[edges["from_id"], edges["to_id"]])
    index = pd.Index(nodes)
    i, j = index.get_indexer(edges["from_id"]), index.get_indexer(edges["to_id"])
    full = np.full((len(nodes), len(nodes)), np.inf)
    np.fill_diagonal(full, 0.0)
    cost = edges["cost"].to_numpy(dtype=float)
    two = ~edges["oneway"].eq("yes").to_numpy()
    full[i, j] = np.minimum(full[i, j], cost)
    full[j[two], i[two]] = np.minimum(full[j[two], i[two]], cost[two])
    for k in range(len(nodes)):
        full = np.minimum(full, full[:, k:k + 1] + full[k:k + 1, :])
    pos = index.get_indexer(ids)
    out = np.full((len(ids), len(ids)), np.inf)
    ok = pos >= 0
    out[np.ix_(ok, ok)] = full[np.ix_(pos[ok], pos[ok])]
    np.fill_diagonal(out, 0.0)
    return out


def test_network_on_point_ids_follows_oneway_and_reports_unreachable_pairs():
    ids = ["a", "b", "c", "d", "e", "f"]
    res = run(point_ids(ids), edges=road_edges())  # --edges alone means network
    table = res.tables["costs"]
    expected = floyd(road_edges(), ids)
    np.testing.assert_allclose(as_matrix(table, ids, ids), expected)
    assert np.isfinite(table["cost"]).all()  # never a big number: unreachable rows are gone
    r = res.report
    assert r["metric"] == "network" and r["network"]["snapped"] is False
    assert r["unreachable_pairs"] == int(np.isinf(expected).sum()) == len(ids) ** 2 - len(table)
    assert ["a", "e"] in r["unreachable"]["examples"]
    assert r["unreachable"]["origins_reaching_nothing"] == ["e", "f"]
    assert r["unreachable"]["destinations_reached_by_nothing"] == ["e", "f"]
    assert r["status"] == "warnings"
    assert any("no road path" in w and "check oneway" in w for w in r["warnings"])
    assert any("'f'" in w and "not on any road edge" in w for w in r["warnings"])
    # zero-cost one-way arc d -> b is an arc: c reaches b through d at 1.5 + 0
    assert expected[2, 1] == 1.5


def test_network_from_the_smaller_side_equals_the_forward_computation():
    """Dijkstra runs from the centers on the reversed graph: same costs, one-way included."""
    ids = ["a", "b", "c", "d", "e"]
    centers = point_ids(["b", "d"])
    res = run(point_ids(ids), to=centers, edges=road_edges())
    full = floyd(road_edges(), ids)
    np.testing.assert_allclose(as_matrix(res.tables["costs"], ids, ["b", "d"]),
                               full[:, [1, 3]])
    # and origins fewer than destinations (forward Dijkstra)
    back = run(centers, to=point_ids(ids), edges=road_edges())
    np.testing.assert_allclose(as_matrix(back.tables["costs"], ["b", "d"], ids),
                               full[[1, 3], :])


def grid_roads(width: int, height: int, river_x: float | None = None,
               bridges: tuple[int, ...] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    xs, ys = np.meshgrid(np.arange(width), np.arange(height))
    node = (ys * width + xs).ravel()
    nodes = pd.DataFrame({"node_id": node, "x": xs.ravel() * 1.0, "y": ys.ravel() * 1.0})
    right, up = node[xs.ravel() < width - 1], node[ys.ravel() < height - 1]
    edges = pd.DataFrame({"from_id": np.r_[right, up], "to_id": np.r_[right + 1, up + width]})
    if river_x is not None:
        fx, tx = nodes["x"].to_numpy()[edges["from_id"]], nodes["x"].to_numpy()[edges["to_id"]]
        fy = nodes["y"].to_numpy()[edges["from_id"]]
        crosses = (np.minimum(fx, tx) < river_x) & (np.maximum(fx, tx) > river_x)
        edges = edges[~crosses | np.isin(fy, bridges)]
    # ids as the CLI reads them: edges as text, nodes as numbers (the component aligns them)
    edges = edges.astype(str).assign(cost=1.0)
    return edges.reset_index(drop=True), nodes


def test_snapped_network_adds_snap_distance_and_matches_network_costs():
    edges, nodes = grid_roads(6, 5)
    edges["oneway"] = np.where(np.arange(len(edges)) % 3 == 0, "yes", "no")
    units = pd.DataFrame({"id": ["u1", "u2", "u3", "u4"], "x": [0.2, 4.9, 2.5, 5.0],
                          "y": [0.1, 3.8, 2.0, 0.0]})
    centers = pd.DataFrame({"id": ["A", "B"], "x": [1.0, 4.2], "y": [1.0, 1.1]})
    res = run(units, to=centers, edges=edges, nodes=nodes, snap_cost=2.0)
    net = RoadNetwork.from_edges(edges.astype({"from_id": int, "to_id": int}), nodes=nodes,
                                 oneway_col="oneway")
    expected = network_costs(net, units[["x", "y"]], centers[["x", "y"]], snap_cost_per_unit=2.0)
    got = as_matrix(res.tables["costs"], units["id"], centers["id"])
    np.testing.assert_allclose(got, expected.costs)
    r = res.report["network"]
    assert r["snapped"] is True and r["snap_cost"] == 2.0
    assert r["max_origin_snap"] == pytest.approx(0.5)  # u3 (2.5, 2) snaps 0.5 away


def test_network_k_and_cutoff_are_sparse_by_road_cost():
    edges, nodes = grid_roads(8, 8)
    units = pd.DataFrame({"id": [f"u{i}" for i in range(8)], "x": np.arange(8.0),
                          "y": np.full(8, 3.0)})
    res = run(units, edges=edges, nodes=nodes, k=3)
    table = res.tables["costs"]
    assert (table.groupby("origin_id").size() == 3).all()
    # on a straight road the 3 cheapest are itself and its neighbours (rows in input order)
    assert table[table["origin_id"] == "u0"]["destination_id"].tolist() == ["u0", "u1", "u2"]
    assert table[table["origin_id"] == "u4"]["destination_id"].tolist() == ["u3", "u4", "u5"]
    cut = run(units, edges=edges, nodes=nodes, cutoff=2.0).tables["costs"]
    assert (cut["cost"] <= 2.0).all() and len(cut) == 8 + 2 * 7 + 2 * 6
    with pytest.raises(ParameterError, match=r"cutoff=0\.5 is below the cheapest road edge"):
        run(point_ids(["0", "1"]), edges=edges, cutoff=0.5)
    # every point 0.707 off the roads: cutoff 1.2 is above the cheapest edge, below any pair
    off = units.assign(x=units["x"] + 0.5, y=3.5)
    with pytest.raises(ParameterError, match=r"cutoff=1\.2 leaves every \(origin, "
                                             r"destination\) pair unreachable"):
        run(off, to=off.iloc[:2], edges=edges, nodes=nodes, cutoff=1.2)


ROAD_ERRORS = [
    (lambda e: pd.concat([e, pd.DataFrame({"from_id": ["a"], "to_id": ["a"], "cost": [1.0],
                                           "oneway": ["no"]})]), InputError,
     r"edges has self-loops .* at nodes 'a'; a loop never shortens a path"),
    (lambda e: e.assign(cost=[1.0, -2.0, 1.5, 10.0, 0.0, 1.0]), NegativeValueError,
     r"column 'cost' has negative costs in rows 1 \(values -2\.0\)"),
    (lambda e: e.assign(cost=[1.0, np.nan, 1.5, 10.0, 0.0, 1.0]), MissingValueError,
     r"column 'cost' has missing, non-numeric or infinite costs in rows 1"),
    (lambda e: pd.concat([e, pd.DataFrame({"from_id": ["b"], "to_id": ["a"], "cost": [7.0],
                                           "oneway": ["no"]})], ignore_index=True), InputError,
     r"appear more than once with different 'cost': \(from, to\) \('a', 'b'\)"),
    (lambda e: e.drop(columns="cost"), MissingColumnError,
     r"the edges table has no 'cost' column.*give --nodes FILE with coordinates"),
    (lambda e: e.drop(columns="to_id"), MissingColumnError,
     r"column 'to_id' not found in the edges table"),
    (lambda e: e.assign(oneway=["no", "maybe", "no", "no", "no", "no"]), InputError,
     r"column 'oneway' must be true/false .* rows 1 hold 'maybe'"),
]


@pytest.mark.parametrize(("change", "error", "pattern"), ROAD_ERRORS)
def test_road_edge_errors_name_rows_and_fix(change, error, pattern):
    with pytest.raises(error, match=pattern):
        run(point_ids("abcd"), edges=change(road_edges()))


def test_network_table_mismatches():
    with pytest.raises(ParameterError, match=r"distance 'network' needs a road edges table"):
        run(planar(3, 1), distance="network")
    with pytest.raises(ParameterError, match=r"only read with distance 'network'"):
        run(planar(3, 1), edges=road_edges(), distance="euclidean")
    with pytest.raises(ParameterError, match=r"a nodes table needs a road edges table"):
        run(planar(3, 1), nodes=pd.DataFrame({"node_id": [1], "x": [0.0], "y": [0.0]}))
    with pytest.raises(UnknownIdError, match=r"none of the points' ids \('x1', 'x2'\) appears "
                                             r"in the edges' from_id / to_id"):
        run(point_ids(["x1", "x2"]), edges=road_edges())
    edges, nodes = grid_roads(3, 3)
    with pytest.raises(UnknownIdError, match=r"edges refer to 1 node id\(s\) missing from "
                                             r"nodes.node_id: '8'"):
        run(planar(3, 1), edges=edges, nodes=nodes.iloc[:-1])


def test_ids_are_matched_as_text():
    assert as_text_ids([1.0, "07", 3, None]).tolist() == ["1", "07", "3", None]
    numeric = pd.DataFrame({"id": [1, 2, 3]})
    edges = pd.DataFrame({"from_id": ["1", "2"], "to_id": ["2", "3"], "cost": [1.0, 2.0]})
    table = run(numeric, edges=edges).tables["costs"]
    assert table["origin_id"].tolist()[:3] == [1, 1, 1]  # the input's ids, not the text
    assert table["cost"].tolist() == [0.0, 1.0, 3.0, 1.0, 0.0, 2.0, 3.0, 2.0, 0.0]


# ------------------------------------------------------------------- spec, SQL function


def test_spec_is_discovered_and_drives_workflow_validation():
    component = registry.get("cost_matrix")
    assert component.spec is SPEC and component.run is run
    assert SPEC.command == "costs" and SPEC.cli_out == "file"
    assert [t.name for t in SPEC.inputs] == ["points", "to", "edges", "nodes"]
    schema = SPEC.json_schema()
    assert schema["required"] == []
    assert schema["properties"]["distance"]["enum"] == ["euclidean", "haversine", "network"]
    assert schema["properties"]["k"] == {"description": SPEC.param("k").help,
                                         "type": "integer", "minimum": 1}
    jsonschema.validate({"k": 5, "distance": "haversine", "unit": "mi"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"k": "five"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"transform": "log"}, schema)
    assert SPEC.validate_params({"k": "3", "cutoff": "2.5"})["k"] == 3  # warehouse strings


def test_duckdb_sql_function_matches_the_component():
    con = duckdb.connect()
    assert "terraplan_cost_matrix" in register_functions(con)
    pts, centers = planar(8, 20), planar(2, 21, "c")
    con.register("pts_df", pts)
    con.register("centers_df", centers)
    con.execute("CREATE TABLE pts AS SELECT * FROM pts_df")
    con.execute("CREATE TABLE centers AS SELECT * FROM centers_df")
    raw = con.execute("""
        SELECT terraplan_cost_matrix(
            (SELECT to_json(list(p)) FROM pts AS p),
            (SELECT to_json(list(c)) FROM centers AS c),
            NULL, NULL, '{"k": 1}')""").fetchone()[0]
    doc = json.loads(raw)
    expected = run(pts, to=centers, k=1).tables["costs"]
    got = pd.DataFrame(doc["tables"]["costs"])
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert doc["report"]["mode"] == "k nearest" and doc["report"]["pairs_written"] == 8
    bad = json.loads(con.execute("""
        SELECT terraplan_cost_matrix((SELECT to_json(list(p)) FROM pts AS p), NULL, NULL, NULL,
                                     '{"distance": "network"}')""").fetchone()[0])
    assert bad == {"error": "distance 'network' needs a road edges table (--edges FILE with "
                            "from_id, to_id, cost)", "kind": "input"}


def test_same_input_same_bytes():
    edges, nodes = grid_roads(6, 6)
    pts = pd.DataFrame({"id": ["a", "b", "c"], "x": [0.3, 2.2, 5.0], "y": [0.0, 4.4, 1.0]})
    first = run(pts, edges=edges, nodes=nodes, k=2).tables["costs"].to_csv(index=False)
    again = run(pts, edges=edges, nodes=nodes, k=2).tables["costs"].to_csv(index=False)
    assert first == again


def test_transform_matches_transform_costs_on_sparse():
    pts = planar(30, 22)
    m = compute_cost_matrix(pts, cutoff=30.0, transform="power", exponent=0.5)
    raw = knn_costs(pts[["x", "y"]], pts[["x", "y"]], None, cutoff=30.0)
    expected = transform_costs(raw, "power", exponent=0.5)
    assert sp.issparse(m.costs)
    np.testing.assert_array_equal(m.costs.toarray(), expected.toarray())
    assert m.costs.nnz == expected.nnz  # explicit zeros (self pairs) kept

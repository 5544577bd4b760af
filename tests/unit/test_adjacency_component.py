"""The adjacency component: units in, edge table and a report of disconnected parts out."""

from __future__ import annotations

import json

import duckdb
import jsonschema
import numpy as np
import pandas as pd
import pytest

from components import registry
from components.adjacency import SPEC, from_points, from_road_network, run
from components.adjacency.component import canonical_edges, compute_adjacency
from components.costs import RoadNetwork
from components.errors import (
    InputError,
    MissingColumnError,
    NegativeValueError,
    ParameterError,
    UnknownIdError,
)
from udfs.duckdb import register_functions

EDGE_COLUMNS = ["from_id", "to_id", "length", "artificial", "source"]


def grid(nx: int, ny: int, *, offset: float = 0.0, prefix: str = "u") -> pd.DataFrame:
    xs, ys = np.meshgrid(np.arange(nx, dtype=float), np.arange(ny, dtype=float))
    return pd.DataFrame({"id": [f"{prefix}{i:02d}" for i in range(nx * ny)],
                         "x": xs.ravel() + offset, "y": ys.ravel()})


def pairs(edges: pd.DataFrame) -> set[tuple]:
    return set(edges[["from_id", "to_id"]].itertuples(index=False, name=None))


def square_wkt(x: float, y: float, size: float = 1.0) -> str:
    return (f"POLYGON (({x} {y}, {x + size} {y}, {x + size} {y + size}, {x} {y + size}, "
            f"{x} {y}))")


def test_points_by_default_equal_from_points_and_report_one_part():
    units = grid(4, 4)
    res = run(units)
    edges = res.tables["edges"]
    assert list(edges.columns) == EDGE_COLUMNS
    expected = from_points(units["id"], units[["x", "y"]])
    pd.testing.assert_frame_equal(edges, expected.edges)
    r = res.report
    assert (r["status"], r["source"], r["connected"]) == ("ok", "points", True)
    assert r["components"]["count"] == 1 and r["components"]["sizes"] == [16]
    assert r["n_edges"] == len(edges) and r["length_unit"] == "coordinate units"
    assert r["artificial_edges"] == {"count": 0, "edges": []}
    assert r["warnings"] == [] and r["seconds"] >= 0


def test_islands_are_reported_and_linked_only_when_asked():
    # two towns 38 apart: the Delaunay edges between them are long at both ends
    units = pd.concat([grid(3, 3), grid(2, 2, offset=40.0, prefix="far")], ignore_index=True)
    res = run(units)
    r = res.report
    assert r["components"]["count"] == 2 and r["components"]["sizes"] == [9, 4]
    assert r["components"]["components"][1]["ids"] == ["far00", "far01", "far02", "far03"]
    assert r["isolated_units"] == {"count": 0, "ids": []}
    assert r["connected"] is False and r["status"] == "warnings"
    assert "2 disconnected parts (sizes 9, 4)" in r["warnings"][0]
    assert "'far00', 'far01'" in r["warnings"][0] and "--link-islands" in r["warnings"][0]
    assert not res.tables["edges"]["artificial"].any()

    linked = run(units, link_islands=True)
    edges = linked.tables["edges"]
    fake = edges[edges["artificial"]]
    assert set(fake["source"]) == {"link_islands"}
    # the closest pair, ties to the lowest positions: (2, 0) - (40, 0), lower id first
    assert pairs(fake) == {("far00", "u02")} and fake["length"].tolist() == [38.0]
    assert linked.report["connected"] is True and linked.report["status"] == "ok"
    assert linked.report["artificial_edges"] == {
        "count": 1, "edges": [{"from_id": "u02", "to_id": "far00", "length": 38.0}]}
    assert linked.report["components"]["count"] == 2  # the parts as found, before linking
    pd.testing.assert_frame_equal(edges[~edges["artificial"]].reset_index(drop=True),
                                  res.tables["edges"])


def test_lonlat_points_have_km_lengths():
    units = pd.DataFrame({"id": ["a", "b", "c"], "lon": [2.3522, -0.1278, 4.9041],
                          "lat": [48.8566, 51.5074, 52.3676]})
    res = run(units)
    assert res.report["length_unit"] == "km"
    edges = res.tables["edges"].set_index(["from_id", "to_id"])
    assert edges.loc[("a", "b"), "length"] == pytest.approx(343.5, abs=0.5)  # Paris-London
    with pytest.raises(ParameterError, match=r"distance 'euclidean' on lon/lat degrees"):
        run(units, distance="euclidean")
    with pytest.raises(ParameterError, match=r"distance 'haversine' needs lon/lat"):
        run(grid(2, 2), distance="haversine")


def test_polygons_queen_and_rook():
    pytest.importorskip("shapely")
    cells = [(i, j) for j in range(3) for i in range(3)]
    units = pd.DataFrame({"id": [f"c{i}{j}" for i, j in cells],
                          "wkt": [square_wkt(i, j) for i, j in cells]})
    queen = run(units, wkt="wkt")  # --wkt alone means polygons
    rook = run(units, wkt="wkt", kind="rook")
    assert queen.report["source"] == "polygons" and queen.report["kind"] == "queen"
    assert len(queen.tables["edges"]) == 12 + 8 and len(rook.tables["edges"]) == 12
    assert ("c00", "c11") in pairs(queen.tables["edges"])
    assert ("c00", "c11") not in pairs(rook.tables["edges"])
    assert set(rook.tables["edges"]["source"]) == {"rook"}
    with pytest.raises(MissingColumnError, match=r"column 'wkt' not found in the units table"):
        run(units.drop(columns="wkt"), source="polygons")
    with pytest.raises(InputError, match=r"wkt rows 1 \(ids 'c10'\) are missing or not valid"):
        run(units.assign(wkt=[units["wkt"][0], "POLYGON ((", *units["wkt"][2:]]), wkt="wkt")


def test_polygon_islands_link_through_representative_points():
    pytest.importorskip("shapely")
    units = pd.DataFrame({"id": ["a", "b", "c"],
                          "wkt": [square_wkt(0, 0), square_wkt(1, 0), square_wkt(5, 0)]})
    res = run(units, wkt="wkt", link_islands=True)
    fake = res.tables["edges"][res.tables["edges"]["artificial"]]
    assert pairs(fake) == {("b", "c")}
    assert fake["length"].tolist() == [pytest.approx(4.0)]


def test_h3_cells_and_their_islands():
    h3 = pytest.importorskip("h3")
    origin = h3.latlng_to_cell(33.75, -84.39, 7)
    ring = [origin, *sorted(h3.grid_ring(origin, 1))]
    far = h3.latlng_to_cell(34.5, -83.0, 7)
    units = pd.DataFrame({"id": [f"h{i}" for i in range(8)], "cell": [*ring, far]})
    res = run(units, h3="cell")
    assert res.report["source"] == "h3" and res.report["length_unit"] == "km"
    assert res.report["components"]["sizes"] == [7, 1]
    assert len(res.tables["edges"]) == 6 + 6  # spokes plus the ring
    linked = run(units, h3="cell", link_islands=True)
    fake = linked.tables["edges"][linked.tables["edges"]["artificial"]]
    assert len(fake) == 1 and fake["to_id"].tolist() == ["h7"]
    assert 100 < fake["length"].iloc[0] < 200  # km between cell centres
    with pytest.raises(ParameterError, match=r"H3 cells are on the sphere"):
        run(units, h3="cell", distance="euclidean")


def test_explicit_edges_keep_the_input_ids_and_match_them_as_text():
    units = pd.DataFrame({"id": [1, 2, 3, 4], "x": [0.0, 1.0, 2.0, 9.0], "y": [0.0] * 4})
    edges = pd.DataFrame({"from_id": ["1", "3"], "to_id": ["2", "2"]})
    res = run(units, edges=edges)  # --edges alone means explicit edges
    out = res.tables["edges"]
    assert out["from_id"].tolist() == [1, 2] and out["to_id"].tolist() == [2, 3]
    assert out["length"].tolist() == [1.0, 1.0]  # straight line between the units
    assert res.report["source"] == "edges" and res.report["isolated_units"]["ids"] == [4]
    assert res.report["components"]["sizes"] == [3, 1]
    with_cost = run(units, edges=edges.assign(minutes=[5.0, 7.0]), cost="minutes")
    assert with_cost.tables["edges"]["length"].tolist() == [5.0, 7.0]
    assert with_cost.report["length_unit"] == "edge cost"
    hops = run(units[["id"]], edges=edges)
    assert hops.tables["edges"]["length"].tolist() == [1.0, 1.0]
    assert hops.report["length_unit"] == "hops"
    with pytest.raises(ParameterError, match=r"--link-islands needs unit coordinates"):
        run(units[["id"]], edges=edges, link_islands=True)


EDGE_ERRORS = [
    (pd.DataFrame({"from_id": ["a", "b"], "to_id": ["b", "zz"]}), UnknownIdError,
     r"column 'to_id' refers to 1 unit id\(s\) that are not in ids: 'zz' \(rows 1\)"),
    (pd.DataFrame({"from_id": ["a", "c"], "to_id": ["b", "c"]}), InputError,
     r"edges has self-loops .* in rows 1 for ids 'c'"),
    (pd.DataFrame({"from_id": ["a", "b"], "to_id": ["b", "a"], "cost": [1.0, 2.0]}),
     InputError, r"1 unit pair\(s\) appear more than once with different 'cost': "
                 r"\('a', 'b'\) in rows 0, 1"),
    (pd.DataFrame({"from_id": ["a"], "to_id": ["b"], "cost": [-1.0]}), NegativeValueError,
     r"column 'cost' has negative costs in rows 0"),
    (pd.DataFrame({"from": ["a"], "to_id": ["b"]}), MissingColumnError,
     r"column 'from_id' not found in the edges table"),
]


@pytest.mark.parametrize(("edges", "error", "pattern"), EDGE_ERRORS)
def test_edge_table_errors_name_rows_and_ids(edges, error, pattern):
    units = pd.DataFrame({"id": ["a", "b", "c"], "x": [0.0, 1.0, 2.0], "y": [0.0] * 3})
    with pytest.raises(error, match=pattern):
        run(units, edges=edges)


def river_roads() -> tuple[pd.DataFrame, pd.DataFrame]:
    """21 x 21 road grid, river at x = 10.5 crossed only at y = 0 and y = 20."""
    xs, ys = np.meshgrid(np.arange(21), np.arange(21))
    node = (ys * 21 + xs).ravel()
    nodes = pd.DataFrame({"node_id": node, "x": xs.ravel() * 1.0, "y": ys.ravel() * 1.0})
    right, up = node[xs.ravel() < 20], node[ys.ravel() < 20]
    edges = pd.DataFrame({"from_id": np.r_[right, up], "to_id": np.r_[right + 1, up + 21]})
    fx = nodes["x"].to_numpy()[edges["from_id"]]
    tx = nodes["x"].to_numpy()[edges["to_id"]]
    fy = nodes["y"].to_numpy()[edges["from_id"]]
    crosses = (np.minimum(fx, tx) < 10.5) & (np.maximum(fx, tx) > 10.5)
    return edges[~crosses | np.isin(fy, (0, 20))].astype(str), nodes


def test_roads_join_units_only_across_bridges():
    edges, nodes = river_roads()
    xs, ys = [1.3, 5.3, 9.7, 11.3, 15.3, 19.7], [1.3, 7.3, 13.3, 19.3]
    units = pd.DataFrame([(f"{x}/{y}", x, y) for y in ys for x in xs], columns=["id", "x", "y"])
    res = run(units, edges=edges, nodes=nodes)  # --nodes means roads
    assert res.report["source"] == "roads" and res.report["connected"] is True
    out = res.tables["edges"]
    net = RoadNetwork.from_edges(edges.astype(int), nodes=nodes, cost_col=None)
    expected = from_road_network(units["id"], units[["x", "y"]], net)
    pd.testing.assert_frame_equal(out, canonical_edges(expected.edges))
    west = dict(zip(units["id"], units["x"] < 10.5, strict=True))
    crossing = {frozenset((a, b)) for a, b in pairs(out) if west[a] != west[b]}
    assert crossing == {frozenset(("9.7/1.3", "11.3/1.3")), frozenset(("9.7/19.3", "11.3/19.3"))}
    straight = run(units).tables["edges"]
    assert sum(west[a] != west[b] for a, b in pairs(straight)) > len(crossing)


def test_source_and_table_mismatches():
    units = grid(2, 2)
    edges = pd.DataFrame({"from_id": ["u00"], "to_id": ["u01"]})
    nodes = pd.DataFrame({"node_id": [1], "x": [0.0], "y": [0.0]})
    cases = [
        (dict(source="edges"), r"source 'edges' needs an edges table"),
        (dict(source="roads", edges=edges), r"source 'roads' needs a road nodes table"),
        (dict(source="points", edges=edges), r"edges table is only read with source 'edges' "
                                             r"or 'roads'; got source 'points'"),
        (dict(source="edges", edges=edges, nodes=nodes), r"a nodes table is only read with "
                                                         r"source 'roads'"),
        (dict(source="plygons"), r"must be one of points, polygons, h3, edges, roads; got "
                                 r"'plygons' \(did you mean 'polygons'\?\)"),
        (dict(max_edge_factor=0.5), r"parameter 'max_edge_factor' must be a float in \[1, inf"),
    ]
    for kwargs, pattern in cases:
        with pytest.raises(ParameterError, match=pattern):
            run(units, **kwargs)
    with pytest.raises(MissingColumnError, match=r"no coordinate columns"):
        run(units[["id"]])  # points need coordinates


def test_compute_adjacency_gives_the_sparse_matrix_for_the_solvers():
    graph, report = compute_adjacency(grid(3, 3), link_islands=True)
    assert graph.matrix.shape == (9, 9) and (graph.matrix != graph.matrix.T).nnz == 0
    assert graph.matrix.nnz == 2 * report["n_edges"]


def test_spec_is_discovered_and_drives_workflow_validation():
    component = registry.get("adjacency")
    assert component.spec is SPEC and component.run is run
    assert SPEC.command == "adjacency" and SPEC.cli_out == "file"
    assert [t.name for t in SPEC.inputs] == ["units", "edges", "nodes"]
    schema = SPEC.json_schema()
    assert schema["properties"]["link_islands"] == {
        "description": SPEC.param("link_islands").help, "type": "boolean", "default": False}
    jsonschema.validate({"source": "polygons", "wkt": "geom", "kind": "rook"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"kind": "bishop"}, schema)
    assert SPEC.validate_params({"link_islands": "yes"})["link_islands"] is True


def test_duckdb_sql_function_matches_the_component():
    con = duckdb.connect()
    assert "terraplan_adjacency" in register_functions(con)
    units = grid(3, 2)
    con.register("units_df", units)
    con.execute("CREATE TABLE units AS SELECT * FROM units_df")
    doc = json.loads(con.execute("""
        SELECT terraplan_adjacency((SELECT to_json(list(u)) FROM units AS u), NULL, NULL,
                                   '{"max_edge_factor": 2}')""").fetchone()[0])
    expected = run(units, max_edge_factor=2.0).tables["edges"]
    pd.testing.assert_frame_equal(pd.DataFrame(doc["tables"]["edges"]), expected,
                                  check_dtype=False)
    assert doc["report"]["connected"] is True
    bad = json.loads(con.execute("""
        SELECT terraplan_adjacency((SELECT to_json(list(u)) FROM units AS u), NULL, NULL,
                                   '{"source": "roads"}')""").fetchone()[0])
    assert bad["error"].startswith("source 'roads' needs an edges table")

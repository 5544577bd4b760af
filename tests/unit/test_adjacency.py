"""Adjacency constructors, components and island linking."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from components.adjacency import (
    MIN_LENGTH,
    Adjacency,
    components_report,
    from_edges,
    from_h3,
    from_points,
    from_polygons,
    from_road_network,
    link_islands,
)
from components.adjacency._optional import require
from components.costs import EARTH_RADIUS_KM, RoadNetwork, point_costs
from components.errors import (
    DuplicateIdError,
    InputError,
    MissingColumnError,
    MissingValueError,
    NegativeValueError,
    ParameterError,
    UnknownIdError,
)


def assert_well_formed(adj: Adjacency) -> None:
    """Invariants every constructor must keep."""
    n = adj.n_units
    m = adj.matrix
    assert isinstance(m, sp.csr_matrix) and m.shape == (n, n)
    assert (m != m.T).nnz == 0
    assert (m.data > 0).all()
    assert m.diagonal().sum() == 0
    assert adj.edges.columns.tolist() == ["from_id", "to_id", "length", "artificial", "source"]
    i, j = adj.edge_positions()
    assert (i >= 0).all() and (j >= 0).all() and (i < j).all()
    assert not pd.Series(list(zip(i, j, strict=True))).duplicated().any()
    assert m.nnz == 2 * len(adj.edges)
    if len(i):
        np.testing.assert_allclose(np.asarray(m[i, j]).ravel(),
                                   np.maximum(adj.edges["length"].to_numpy(), MIN_LENGTH))


def grid_points(cols: int, rows: int) -> np.ndarray:
    xs, ys = np.meshgrid(np.arange(cols, dtype=float), np.arange(rows, dtype=float))
    return np.column_stack((xs.ravel(), ys.ravel()))


def square_wkt(points: np.ndarray) -> list[str]:
    return [f"POLYGON(({x} {y}, {x + 1} {y}, {x + 1} {y + 1}, {x} {y + 1}, {x} {y}))"
            for x, y in points]


# ---------------------------------------------------------------- from_edges


def test_from_edges_lengths_from_cost_coords_or_hops():
    ids = np.array(["a", "b", "c", "d"])
    coords = np.array([[0.0, 0.0], [3.0, 4.0], [3.0, 0.0], [9.0, 9.0]])
    edges = pd.DataFrame({"from_id": ["b", "a", "c"], "to_id": ["a", "c", "b"],
                          "w": [1.5, 2.0, 7.0]})
    by_cost = from_edges(ids, edges, cost_col="w")
    assert_well_formed(by_cost)
    assert by_cost.edges[["from_id", "to_id", "length"]].to_records(index=False).tolist() == [
        ("a", "b", 1.5), ("a", "c", 2.0), ("b", "c", 7.0)]
    assert not by_cost.edges["artificial"].any()
    assert set(by_cost.edges["source"]) == {"edges"}
    by_coords = from_edges(ids, edges, coords=coords)
    np.testing.assert_allclose(by_coords.edges["length"], [5.0, 3.0, 4.0])
    by_hops = from_edges(ids, edges)
    np.testing.assert_allclose(by_hops.edges["length"], [1.0, 1.0, 1.0])
    assert by_cost.n_components() == 2  # d is alone
    assert by_cost.neighbors(0).tolist() == [1, 2]
    assert by_cost.ids[by_cost.neighbors(3)].tolist() == []


def test_from_edges_haversine_lengths_in_km():
    coords = np.array([[2.3522, 48.8566], [-0.1276, 51.5072]])
    adj = from_edges(["paris", "london"], pd.DataFrame({"from_id": ["paris"],
                                                        "to_id": ["london"]}),
                     coords=coords, metric="haversine")
    assert adj.edges["length"].iloc[0] == pytest.approx(343.5, abs=0.5)


def test_from_edges_merges_identical_duplicates_in_either_direction():
    edges = pd.DataFrame({"from_id": [1, 2, 1], "to_id": [2, 1, 2], "cost": [4.0, 4.0, 4.0]})
    adj = from_edges([1, 2], edges, cost_col="cost")
    assert len(adj.edges) == 1 and adj.matrix.nnz == 2


def test_zero_length_edges_survive_in_the_matrix():
    adj = from_edges([1, 2], pd.DataFrame({"from_id": [1], "to_id": [2], "c": [0.0]}),
                     cost_col="c")
    assert adj.edges["length"].tolist() == [0.0]
    assert adj.matrix[0, 1] == MIN_LENGTH
    assert adj.n_components() == 1


@pytest.mark.parametrize(("edges", "kwargs", "error", "pattern", "rows"), [
    (pd.DataFrame({"from_id": ["a", "x", "b", "y"], "to_id": ["b", "a", "c", "c"]}), {},
     UnknownIdError, r"column 'from_id' refers to 2 unit id\(s\) that are not in ids: "
                     r"'x', 'y' \(rows 1, 3\)", [1, 3]),
    (pd.DataFrame({"from_id": ["a"], "to_id": ["zz"]}), {},
     UnknownIdError, r"column 'to_id' refers to 1 unit id\(s\).*'zz' \(rows 0\)", [0]),
    (pd.DataFrame({"from_id": ["a", "b"], "to_id": ["b", "b"]}), {},
     InputError, r"self-loops .* in rows 1 for ids 'b'", [1]),
    (pd.DataFrame({"from_id": ["a", "b"], "to_id": ["b", "c"], "cost": [1.0, np.nan]}),
     {"cost_col": "cost"}, MissingValueError,
     r"column 'cost' has missing, non-numeric or infinite costs in rows 1", [1]),
    (pd.DataFrame({"from_id": ["a", "b"], "to_id": ["b", "c"], "cost": [-1.0, 1.0]}),
     {"cost_col": "cost"}, NegativeValueError,
     r"column 'cost' has negative costs in rows 0 \(values -1.0\)", [0]),
    (pd.DataFrame({"from_id": ["a", "c", "b"], "to_id": ["b", "b", "a"],
                   "cost": [1.0, 1.0, 2.0]}),
     {"cost_col": "cost"}, InputError,
     r"1 unit pair\(s\) appear more than once with different 'cost': \('a', 'b'\) in rows "
     r"0, 2", [0, 2]),
    (pd.DataFrame({"from_id": ["a", None], "to_id": ["b", "c"]}), {},
     MissingValueError, r"column 'from_id' has missing unit ids in rows 1", [1]),
])
def test_from_edges_bad_input_messages(edges, kwargs, error, pattern, rows):
    with pytest.raises(error, match=pattern) as err:
        from_edges(["a", "b", "c"], edges, **kwargs)
    assert err.value.rows == rows


def test_from_edges_with_no_edges_gives_singletons_and_links_them():
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0]])
    adj = from_edges(["a", "b", "c"], pd.DataFrame({"from_id": [], "to_id": []}))
    assert_well_formed(adj)
    assert adj.n_components() == 3 and len(adj.edges) == 0
    linked = link_islands(adj, pts)
    assert linked.edges[["from_id", "to_id", "length", "artificial"]].to_records(
        index=False).tolist() == [("a", "b", 1.0, True), ("b", "c", 4.0, True)]


def test_from_edges_bad_tables_and_ids():
    with pytest.raises(MissingColumnError, match=r"edges has no column 'cost'; its columns are "
                                                 r"'from_id', 'to_id'"):
        from_edges([1, 2], pd.DataFrame({"from_id": [1], "to_id": [2]}), cost_col="cost")
    with pytest.raises(DuplicateIdError, match=r"ids has repeated values 2 \(rows 1, 2\)"):
        from_edges([1, 2, 2], pd.DataFrame({"from_id": [1], "to_id": [2]}))
    with pytest.raises(ParameterError, match=r"coords has 1 rows but ids has 2"):
        from_edges([1, 2], pd.DataFrame({"from_id": [1], "to_id": [2]}), coords=[[0, 0]])


# ---------------------------------------------------------------- from_points


def test_delaunay_on_a_grid_keeps_axis_edges_and_one_diagonal_per_cell():
    adj = from_points(np.arange(100), grid_points(10, 10))
    assert_well_formed(adj)
    lengths = adj.edges["length"].to_numpy()
    assert (np.isclose(lengths, 1.0)).sum() == 2 * 10 * 9
    assert (np.isclose(lengths, np.sqrt(2))).sum() == 81
    assert len(adj.edges) == 261 and adj.n_components() == 1
    assert set(adj.edges["source"]) == {"delaunay"}


def test_delaunay_edges_are_a_subset_of_brute_force_empty_circle_pairs():
    rng = np.random.default_rng(11)
    pts = rng.uniform(0, 100, (60, 2))
    adj = from_points(np.arange(60), pts, max_edge_factor=None)
    # Euler: a triangulation of n points with h on the hull has 3n - 3 - h edges
    from scipy.spatial import ConvexHull
    h = len(ConvexHull(pts).vertices)
    assert len(adj.edges) == 3 * 60 - 3 - h
    # each point is adjacent to its nearest neighbour (a Delaunay property)
    d = point_costs(pts, pts)
    np.fill_diagonal(d, np.inf)
    for i, j in enumerate(d.argmin(axis=1)):
        assert j in adj.neighbors(i)


def test_pruning_separates_far_clusters_but_not_a_uniform_cloud():
    rng = np.random.default_rng(12)
    left = rng.uniform(0, 10, (150, 2))
    pts = np.vstack([left, left + np.array([40.0, 0.0])])
    split = from_points(np.arange(300), pts)
    assert split.n_components() == 2
    assert (split.edges["length"] < 10).all()
    kept = from_points(np.arange(300), pts, max_edge_factor=None)
    assert kept.n_components() == 1
    cloud = from_points(np.arange(500), rng.uniform(0, 10, (500, 2)))
    assert cloud.n_components() == 1


def test_pruning_rule_is_both_ends_long():
    # a fan: point 0 has only long edges, so its own median is long and its edges stay
    pts = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 1.0], [10.0, 2.0], [10.0, 3.0]])
    adj = from_points(np.arange(5), pts, max_edge_factor=3.0)
    assert adj.n_components() == 1
    assert len(adj.neighbors(0)) >= 1


def test_duplicate_coordinates_are_adjacent_and_share_neighbours():
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    adj = from_points(["a", "b", "c", "b2", "b3"], pts)
    assert_well_formed(adj)
    edges = {frozenset((f, t)): length for f, t, length in
             adj.edges[["from_id", "to_id", "length"]].to_records(index=False).tolist()}
    for pair in (("b", "b2"), ("b", "b3"), ("b2", "b3")):
        assert edges[frozenset(pair)] == 0.0
    for twin in ("b", "b2", "b3"):
        assert edges[frozenset(("a", twin))] == 1.0
        assert edges[frozenset(("c", twin))] == pytest.approx(np.sqrt(2))
    assert len(edges) == 3 + 3 + 3 + 1  # twins, a-twins, c-twins, a-c
    assert adj.matrix[1, 3] == MIN_LENGTH


def test_collinear_and_tiny_inputs():
    line = from_points(list("abcd"), [[3.0, 3.0], [0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    assert line.edges[["from_id", "to_id"]].to_records(index=False).tolist() == [
        ("a", "d"), ("b", "c"), ("c", "d")]
    assert from_points(["x", "y"], [[0, 0], [5, 5]]).edges["length"].tolist() == [
        pytest.approx(np.sqrt(50))]
    assert len(from_points(["x"], [[0, 0]]).edges) == 0
    assert from_points([], np.empty((0, 2))).n_units == 0


def test_from_points_lonlat_lengths_are_km_across_the_antimeridian():
    pts = np.array([[179.9, 0.0], [-179.9, 0.0], [179.9, 0.2], [-179.9, 0.2]])
    adj = from_points(np.arange(4), pts, metric="haversine")
    assert adj.n_components() == 1
    assert adj.edges["length"].max() < 40  # nobody goes round the world
    assert adj.edges["length"].min() == pytest.approx(np.radians(0.2) * EARTH_RADIUS_KM,
                                                      rel=1e-3)


def test_from_points_parameter_errors():
    with pytest.raises(ParameterError, match=r"max_edge_factor must be a number >= 1 .*got 0.5"):
        from_points([1, 2, 3], [[0, 0], [1, 0], [0, 1]], max_edge_factor=0.5)
    with pytest.raises(ParameterError, match=r"coords has 2 rows but ids has 3"):
        from_points([1, 2, 3], [[0, 0], [1, 0]])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=25))
def test_property_from_points_is_well_formed_on_degenerate_integer_points(raw):
    pts = np.array(raw, dtype=float)
    adj = from_points(np.arange(len(pts)), pts)
    assert_well_formed(adj)
    # units at one location are always adjacent
    for loc in np.unique(pts, axis=0):
        members = np.flatnonzero((pts == loc).all(axis=1))
        for m in members[1:]:
            assert members[0] in adj.neighbors(m)
    assert adj.n_components() == 1 or len(np.unique(pts, axis=0)) > 2


# ---------------------------------------------------------------- polygons and h3


def test_rook_and_queen_counts_on_a_grid():
    pytest.importorskip("shapely")
    cols, rows = 5, 4
    cells = grid_points(cols, rows)
    ids = [f"c{i}" for i in range(len(cells))]
    rook = from_polygons(ids, square_wkt(cells), kind="rook")
    queen = from_polygons(ids, square_wkt(cells), kind="queen")
    assert_well_formed(rook)
    assert_well_formed(queen)
    n_rook = rows * (cols - 1) + cols * (rows - 1)
    assert len(rook.edges) == n_rook == 31
    assert len(queen.edges) == n_rook + 2 * (rows - 1) * (cols - 1) == 55
    # the centre of a 3 x 3 block has 4 rook and 8 queen neighbours
    centre = 1 * cols + 1
    assert len(rook.neighbors(centre)) == 4 and len(queen.neighbors(centre)) == 8
    np.testing.assert_allclose(sorted(set(np.round(queen.edges["length"], 9))),
                               [1.0, np.round(np.sqrt(2), 9)])
    assert set(rook.edges["source"]) == {"rook"}


def test_rook_counts_overlapping_slivers_and_ignores_far_polygons():
    pytest.importorskip("shapely")
    wkt = ["POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))", "POLYGON((0.99 0, 2 0, 2 1, 0.99 1, 0.99 0))",
           "POLYGON((5 5, 6 5, 6 6, 5 6, 5 5))"]
    adj = from_polygons([1, 2, 3], wkt, kind="rook")
    assert adj.edges[["from_id", "to_id"]].to_records(index=False).tolist() == [(1, 2)]


def test_polygon_input_errors():
    pytest.importorskip("shapely")
    with pytest.raises(InputError, match=r"wkt rows 1 \(ids 'b'\) are missing or not valid WKT"):
        from_polygons(["a", "b"], ["POLYGON((0 0, 1 0, 1 1, 0 0))", "POLYGON((0 0, 1"])
    with pytest.raises(InputError, match=r"wkt rows 0 \(ids 'a'\) are empty or not polygons"):
        from_polygons(["a", "b"], ["POINT(0 0)", "POLYGON((0 0, 1 0, 1 1, 0 0))"])
    with pytest.raises(ParameterError, match=r"kind must be one of 'queen', 'rook'; got 'king'"):
        from_polygons(["a"], ["POLYGON((0 0, 1 0, 1 1, 0 0))"], kind="king")


def test_missing_optional_package_says_how_to_install(monkeypatch):
    with pytest.raises(InputError, match=r"pip install 'terraplan\[geo\]'"):
        require("terraplan_no_such_package", "from_polygons")
    monkeypatch.setitem(sys.modules, "shapely", None)
    with pytest.raises(InputError, match=r"from_polygons needs the optional package 'shapely'"):
        from_polygons(["a"], ["POLYGON((0 0, 1 0, 1 1, 0 0))"])
    monkeypatch.setitem(sys.modules, "h3", None)
    with pytest.raises(InputError, match=r"from_h3 needs the optional package 'h3'.*"
                                         r"terraplan\[geo\]"):
        from_h3(["a"], ["871fb4662ffffff"])


def test_h3_neighbours_match_brute_force():
    h3 = pytest.importorskip("h3")
    centre = h3.latlng_to_cell(48.8566, 2.3522, 7)
    cells = sorted(h3.grid_disk(centre, 2))
    adj = from_h3(np.arange(len(cells)), cells)
    assert_well_formed(adj)
    expected = {(i, j) for i in range(len(cells)) for j in range(i + 1, len(cells))
                if h3.are_neighbor_cells(cells[i], cells[j])}
    i, j = adj.edge_positions()
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == expected
    assert len(expected) == 42
    spacing = adj.edges["length"].to_numpy()
    assert spacing.min() > 1.5 and spacing.max() < 3.5  # res 7 centres are ~2.3 km apart
    # integer cells and upper-case strings are accepted
    as_int = from_h3(np.arange(len(cells)), np.array([h3.str_to_int(c) for c in cells],
                                                     dtype=np.uint64))
    assert len(as_int.edges) == 42
    assert len(from_h3(np.arange(len(cells)), [c.upper() for c in cells]).edges) == 42


def test_h3_input_errors():
    h3 = pytest.importorskip("h3")
    cell = h3.latlng_to_cell(48.8566, 2.3522, 7)
    with pytest.raises(InputError, match=r"cells rows 1 \(ids 'b'\) hold values that are not "
                                         r"valid H3 cells: 'nope'"):
        from_h3(["a", "b"], [cell, "nope"])
    with pytest.raises(InputError, match=r"cells mix H3 resolutions 6, 7; rows 2 \(ids 'c'\)"):
        from_h3(["a", "b", "c"], [cell, h3.grid_ring(cell, 1)[0], h3.cell_to_parent(cell, 6)])
    with pytest.raises(DuplicateIdError, match=r"belong to more than one unit \(ids 'a', 'b'\)"):
        from_h3(["a", "b"], [cell, cell])


# ---------------------------------------------------------------- road network


def river_network(width: int = 21, height: int = 21, river_x: float = 10.5,
                  bridges: tuple[int, ...] = (0, 20)) -> RoadNetwork:
    pts = grid_points(width, height)
    node = np.arange(len(pts))
    nodes = pd.DataFrame({"node_id": node, "x": pts[:, 0], "y": pts[:, 1]})
    right = node[pts[:, 0] < width - 1]
    up = node[pts[:, 1] < height - 1]
    edges = pd.DataFrame({"from_id": np.r_[right, up], "to_id": np.r_[right + 1, up + width]})
    fx, tx = pts[edges["from_id"], 0], pts[edges["to_id"], 0]
    crosses = (np.minimum(fx, tx) < river_x) & (np.maximum(fx, tx) > river_x)
    edges = edges[~crosses | np.isin(pts[edges["from_id"], 1], bridges)]
    return RoadNetwork.from_edges(edges.assign(cost=1.0), nodes=nodes)


def test_road_adjacency_does_not_cross_a_river_except_at_bridges():
    net = river_network()  # 21 x 21 road grid, river at x = 10.5, bridges at y = 0 and 20
    xs = np.array([1.3, 4.3, 7.3, 9.7, 11.3, 13.7, 16.7, 19.7])
    ys = np.array([1.3, 4.3, 7.3, 10.3, 13.3, 16.3, 19.3])
    units = np.array([(x, y) for y in ys for x in xs])
    ids = np.array([f"{x}/{y}" for x, y in units])
    adj = from_road_network(ids, units, net)
    assert_well_formed(adj)
    assert set(adj.edges["source"]) == {"road"}
    west = units[:, 0] < 10.5
    i, j = adj.edge_positions()
    crossing = {(adj.ids[a], adj.ids[b]) for a, b in zip(i, j, strict=True) if west[a] != west[b]}
    # only the bridges join the banks: the units owning the bridge ends, nothing else
    assert crossing == {("9.7/1.3", "11.3/1.3"), ("9.7/19.3", "11.3/19.3")}
    # a straight-line triangulation of the same units crosses everywhere
    plain = from_points(ids, units)
    pi, pj = plain.edge_positions()
    assert (west[pi] != west[pj]).sum() >= 7
    assert adj.n_components() == 1


def test_road_adjacency_matches_brute_force_catchments():
    rng = np.random.default_rng(21)
    net = river_network(12, 9, river_x=5.5, bridges=(4,))
    units = rng.uniform(0, 11, (15, 2)) * [1, 8 / 11]
    adj = from_road_network(np.arange(15), units, net)
    owner = point_costs(net.coords, units).argmin(axis=1)
    coo = net.graph.tocoo()
    expected = {(min(a, b), max(a, b)) for a, b in zip(owner[coo.row], owner[coo.col], strict=True)
                if a != b}
    lonely = set(range(15)) - set(owner.tolist())
    for u in lonely:  # units without catchment join the owner of their snapped node
        node = point_costs(units[u:u + 1], net.coords).argmin()
        expected.add((min(u, owner[node]), max(u, owner[node])))
    i, j = adj.edge_positions()
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == expected
    np.testing.assert_allclose(adj.edges["length"], np.hypot(*(units[i] - units[j]).T))


def test_road_adjacency_links_a_unit_without_catchment_to_its_access_unit():
    nodes = pd.DataFrame({"node_id": [1, 2, 3], "x": [0.0, 10.0, 20.0], "y": [0.0, 0.0, 0.0]})
    net = RoadNetwork.from_edges(pd.DataFrame({"from_id": [1, 2], "to_id": [2, 3]}),
                                 nodes=nodes)
    units = np.array([[0.0, 0.0], [20.0, 0.0], [9.0, 0.0], [10.5, 0.0]])
    adj = from_road_network(["w", "e", "m", "m2"], units, net)
    # node 2 belongs to m2 (0.5 away); m has no node and shares m2's access
    assert ("m", "m2") in set(adj.edges[["from_id", "to_id"]].itertuples(index=False,
                                                                          name=None))
    assert adj.n_components() == 1


def test_road_adjacency_errors():
    bare = RoadNetwork.from_edges(pd.DataFrame({"from_id": [1], "to_id": [2], "cost": [1.0]}))
    with pytest.raises(ParameterError, match=r"the road network has no node coordinates"):
        from_road_network([1], [[0, 0]], bare)
    with pytest.raises(ParameterError, match=r"network must be a RoadNetwork"):
        from_road_network([1], [[0, 0]], "roads.csv")
    with pytest.raises(ParameterError, match=r"metric='haversine' but the network's node "
                                             r"coordinates were loaded as 'euclidean'"):
        from_road_network([1], [[0, 0]], river_network(3, 3), metric="haversine")


# ---------------------------------------------------------------- components and islands


def test_components_report_largest_first_with_truncated_ids():
    edges = pd.DataFrame({"from_id": [*range(0, 29), 40, 41],
                          "to_id": [*range(1, 30), 41, 42]})
    adj = from_edges(np.arange(45), edges)
    report = components_report(adj, max_ids=5, max_components=3)
    assert report["count"] == 2 + 12  # chain of 30, chain of 3, 12 singletons
    assert report["connected"] is False
    assert report["sizes"] == [30, 3, 1]
    assert report["components"][0] == {"size": 30, "ids": [0, 1, 2, 3, 4],
                                       "ids_truncated": True}
    assert report["components"][1] == {"size": 3, "ids": [40, 41, 42], "ids_truncated": False}
    assert report["components"][2]["ids"] == [30]  # ties: lowest position first
    assert report["components_not_listed"] == 11
    labels = adj.component_labels()
    assert labels[0] == 0 and labels[40] == 1


def test_link_islands_links_nearest_pairs_with_artificial_edges():
    mainland = grid_points(5, 5)
    island_a = np.array([[7.0, 2.0], [7.0, 3.0]])        # 3 east of the mainland
    island_b = np.array([[11.5, 2.4]])                    # 4.5 beyond island a
    far = np.array([[2.0, -9.0]])                         # 9 south of the mainland
    pts = np.vstack([mainland, island_a, island_b, far])
    ids = np.array([f"u{i}" for i in range(len(pts))])
    adj = from_points(ids, pts, max_edge_factor=None)
    adj = from_edges(ids, adj.edges[adj.edges["length"] < 2.5], coords=pts)
    assert adj.n_components() == 4
    linked = link_islands(adj, pts)
    assert_well_formed(linked)
    assert linked.n_components() == 1
    new = linked.edges[linked.edges["artificial"]]
    assert (new["source"] == "link_islands").all()
    assert len(new) == 3
    assert not linked.edges.loc[~linked.edges["artificial"], "source"].eq("link_islands").any()
    pairs = {frozenset(p): length for *p, length in
             new[["from_id", "to_id", "length"]].itertuples(index=False, name=None)}
    # island b links to island a (nearer) rather than to the mainland
    assert pairs[frozenset({"u27", "u25"})] == pytest.approx(np.hypot(4.5, 0.4))
    assert pairs[frozenset({"u25", "u14"})] == pytest.approx(3.0)  # (7,2) -> (4,2), tie: lowest
    assert pairs[frozenset({"u28", "u2"})] == pytest.approx(9.0)   # (2,0) -> (2,-9)
    # the original edges are all still there, unflagged
    assert len(linked.edges) == len(adj.edges) + 3


def test_link_islands_matches_brute_force_nearest_pair_and_is_a_forest():
    rng = np.random.default_rng(13)
    n = 400
    pts = rng.uniform(0, 100, (n, 2))
    adj = from_edges(np.arange(n), pd.DataFrame({"from_id": [0], "to_id": [1]}), coords=pts)
    linked = link_islands(adj, pts)
    assert linked.n_components() == 1
    assert linked.edges["artificial"].sum() == n - 2  # a spanning forest: no extra edge
    # with only singletons, each round links each unit to its nearest neighbour first
    d = point_costs(pts, pts)
    np.fill_diagonal(d, np.inf)
    i, j = linked.edge_positions()
    nn = d.argmin(axis=1)
    linked_pairs = set(zip(i.tolist(), j.tolist(), strict=True))
    assert all((min(k, nn[k]), max(k, nn[k])) in linked_pairs for k in range(2, n))


def test_link_islands_haversine_lengths_and_no_op_when_connected():
    pts = np.array([[2.3522, 48.8566], [2.36, 48.86], [-0.1276, 51.5072]])
    adj = from_edges(["p1", "p2", "l"], pd.DataFrame({"from_id": ["p1"], "to_id": ["p2"]}),
                     coords=pts, metric="haversine")
    linked = link_islands(adj, pts, metric="haversine")
    new = linked.edges[linked.edges["artificial"]]
    assert len(new) == 1 and new["length"].iloc[0] == pytest.approx(343.5, abs=1.0)
    assert link_islands(linked, pts, metric="haversine") is linked
    with pytest.raises(ParameterError, match=r"coords has 2 rows but adjacency ids has 3"):
        link_islands(adj, pts[:2])

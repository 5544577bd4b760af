"""Cost matrices: straight-line, k-nearest, transforms, long tables and road networks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from components.costs import (
    EARTH_RADIUS_KM,
    RoadNetwork,
    knn_costs,
    network_costs,
    point_costs,
    to_long_table,
    transform_costs,
)
from components.errors import (
    CoordinateRangeError,
    EmptyTableError,
    InputError,
    MissingColumnError,
    MissingValueError,
    NegativeValueError,
    ParameterError,
    UnknownIdError,
)

PARIS = (2.3522, 48.8566)
LONDON = (-0.1276, 51.5072)


def haversine_reference(a: np.ndarray, b: np.ndarray, radius: float = EARTH_RADIUS_KM):
    """Textbook haversine, all pairs, by broadcasting (the brute force to check against)."""
    lon1, lat1 = np.radians(a[:, None, 0]), np.radians(a[:, None, 1])
    lon2, lat2 = np.radians(b[None, :, 0]), np.radians(b[None, :, 1])
    h = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * radius * np.arcsin(np.sqrt(h))


def euclidean_reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))


def lonlat(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.column_stack((rng.uniform(-180, 180, n), rng.uniform(-89, 89, n)))


# ---------------------------------------------------------------- point_costs


def test_paris_london_is_343_km_and_213_miles():
    km = point_costs([PARIS], [LONDON], "haversine")
    mi = point_costs([PARIS], [LONDON], "haversine", unit="mi")
    assert km.shape == (1, 1)
    assert km[0, 0] == pytest.approx(343.5, abs=0.5)
    assert mi[0, 0] == pytest.approx(km[0, 0] / 1.609344, rel=1e-12)
    assert mi[0, 0] == pytest.approx(213.5, abs=0.5)


def test_haversine_known_arcs():
    quarter = point_costs([[0, 0]], [[90, 0], [0, 90], [180, 0], [0, 0]], "haversine")
    np.testing.assert_allclose(
        quarter[0], [np.pi / 2 * EARTH_RADIUS_KM, np.pi / 2 * EARTH_RADIUS_KM,
                     np.pi * EARTH_RADIUS_KM, 0.0], rtol=1e-12, atol=1e-9)
    across_antimeridian = point_costs([[179.5, 0]], [[-179.5, 0]], "haversine")
    assert across_antimeridian[0, 0] == pytest.approx(np.radians(1) * EARTH_RADIUS_KM,
                                                      rel=1e-9)


def test_haversine_matches_textbook_formula_across_chunks():
    rng = np.random.default_rng(1)
    a, b = lonlat(rng, 1500), lonlat(rng, 800)  # 1.2M pairs: more than one chunk
    np.testing.assert_allclose(point_costs(a, b, "haversine"), haversine_reference(a, b),
                               rtol=1e-9, atol=1e-6)


def test_euclidean_matches_brute_force_across_chunks():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(1300, 2)) * 100, rng.normal(size=(900, 2)) * 100
    out = point_costs(a, b)
    assert out.dtype == np.float64 and out.shape == (1300, 900)
    np.testing.assert_allclose(out, euclidean_reference(a, b), rtol=1e-12, atol=1e-12)


def test_point_costs_empty_inputs():
    assert point_costs(np.empty((0, 2)), [[1, 2]]).shape == (0, 1)
    assert point_costs([[1, 2]], np.empty((0, 2))).shape == (1, 0)


def test_point_costs_rejects_bad_points():
    with pytest.raises(ParameterError, match=r"origins must be an \(n, 2\) array.*\(3,\)"):
        point_costs([1, 2, 3], [[0, 0]])
    with pytest.raises(MissingValueError, match=r"destinations has missing .* rows 1") as err:
        point_costs([[0, 0]], [[0, 0], [np.nan, 1]])
    assert err.value.rows == [1] and err.value.column == "destinations"
    with pytest.raises(CoordinateRangeError, match=r"origins rows 0 .*swapped"):
        point_costs([[48.8, 200.0]], [[0, 0]], "haversine")
    with pytest.raises(ParameterError, match=r"metric must be one of 'euclidean', "
                                             r"'haversine'; got 'manhattan'"):
        point_costs([[0, 0]], [[0, 0]], "manhattan")
    with pytest.raises(ParameterError, match=r"unit must be one of 'km', 'mi'; got 'm'"):
        point_costs([[0, 0]], [[0, 0]], "haversine", unit="m")
    with pytest.raises(InputError, match="origins must hold numeric coordinates"):
        point_costs([["a", "b"]], [[0, 0]])


# ---------------------------------------------------------------- knn_costs


def brute_knn(dense: np.ndarray, k: int) -> np.ndarray:
    return np.sort(dense, axis=1)[:, :k]


def stored_rows(matrix: sp.csr_matrix) -> list[np.ndarray]:
    return [matrix.data[matrix.indptr[i]:matrix.indptr[i + 1]] for i in range(matrix.shape[0])]


@pytest.mark.parametrize("metric", ["euclidean", "haversine"])
def test_knn_matches_brute_force(metric):
    rng = np.random.default_rng(3)
    if metric == "euclidean":
        a, b = rng.uniform(0, 100, (400, 2)), rng.uniform(0, 100, (300, 2))
    else:
        a, b = lonlat(rng, 400), lonlat(rng, 300)
    dense = point_costs(a, b, metric)
    result = knn_costs(a, b, 7, metric)
    assert isinstance(result, sp.csr_matrix) and result.shape == (400, 300)
    assert result.nnz == 400 * 7
    assert result.has_sorted_indices
    expected = brute_knn(dense, 7)
    for i, row in enumerate(stored_rows(result)):
        np.testing.assert_allclose(np.sort(row), expected[i], rtol=1e-12)
    # every stored value is the exact pair cost, column by column
    coo = result.tocoo()
    np.testing.assert_allclose(coo.data, dense[coo.row, coo.col], rtol=1e-12)


@pytest.mark.parametrize("metric", ["euclidean", "haversine"])
def test_knn_cutoff_only_returns_exactly_pairs_within_cutoff(metric):
    rng = np.random.default_rng(4)
    if metric == "euclidean":
        a, b, cutoff = rng.uniform(0, 100, (300, 2)), rng.uniform(0, 100, (200, 2)), 12.5
    else:
        a, b, cutoff = lonlat(rng, 300), lonlat(rng, 200), 1500.0
    dense = point_costs(a, b, metric)
    result = knn_costs(a, b, None, metric, cutoff=cutoff)
    coo = result.tocoo()
    got = set(zip(coo.row.tolist(), coo.col.tolist(), strict=True))
    want = set(zip(*np.nonzero(dense <= cutoff), strict=True))
    assert got == {(int(i), int(j)) for i, j in want}
    np.testing.assert_allclose(coo.data, dense[coo.row, coo.col], rtol=1e-12)


def test_knn_with_k_and_cutoff_keeps_nearest_within_cutoff():
    rng = np.random.default_rng(5)
    a, b = rng.uniform(0, 10, (200, 2)), rng.uniform(0, 10, (150, 2))
    dense = point_costs(a, b)
    result = knn_costs(a, b, 4, cutoff=1.0)
    for i, row in enumerate(stored_rows(result)):
        expected = brute_knn(dense, 4)[i]
        np.testing.assert_allclose(np.sort(row), expected[expected <= 1.0], rtol=1e-12)


def test_knn_keeps_explicit_zeros_for_coincident_points():
    points = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    result = knn_costs(points, points, 2)
    assert result.nnz == 6  # the three zero self-distances are stored
    assert (result.data == 0).sum() == 3
    assert result.diagonal().tolist() == [0.0, 0.0, 0.0]
    table, dropped = to_long_table(result, ["a", "b", "c"], ["a", "b", "c"])
    assert dropped == 0 and len(table) == 6
    assert table.query("origin_id == destination_id")["cost"].tolist() == [0.0, 0.0, 0.0]


def test_knn_k_larger_than_destinations_is_capped_and_empty_inputs_work():
    result = knn_costs([[0, 0], [1, 1]], [[0, 1], [2, 2]], 10)
    np.testing.assert_allclose(result.toarray(), point_costs([[0, 0], [1, 1]],
                                                             [[0, 1], [2, 2]]))
    assert knn_costs(np.empty((0, 2)), [[0, 0]], 3).shape == (0, 1)
    assert knn_costs([[0, 0]], np.empty((0, 2)), 3).nnz == 0


def test_knn_on_20k_points_stays_sparse():
    rng = np.random.default_rng(6)
    points = rng.uniform(0, 1000, (20_000, 2))
    result = knn_costs(points, points, 10)
    assert result.nnz == 200_000
    assert result.data.nbytes + result.indices.nbytes < 3_000_000


def test_knn_rejects_bad_parameters():
    with pytest.raises(ParameterError, match=r"k must be an integer >= 1 or None; got 0"):
        knn_costs([[0, 0]], [[0, 0]], 0)
    with pytest.raises(ParameterError, match=r"k must be an integer >= 1 or None; got 2.5"):
        knn_costs([[0, 0]], [[0, 0]], 2.5)
    with pytest.raises(ParameterError, match=r"needs k, cutoff or both"):
        knn_costs([[0, 0]], [[0, 0]], None)
    with pytest.raises(ParameterError, match=r"cutoff must be a finite number >= 0; got -1"):
        knn_costs([[0, 0]], [[0, 0]], 1, cutoff=-1)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 12), st.just(2)),
              elements=st.floats(-1e3, 1e3, allow_subnormal=False)),
       arrays(np.float64, st.tuples(st.integers(1, 12), st.just(2)),
              elements=st.floats(-1e3, 1e3, allow_subnormal=False)))
def test_property_knn_with_all_destinations_equals_dense(origins, destinations):
    dense = point_costs(origins, destinations)
    full = knn_costs(origins, destinations, len(destinations))
    assert full.nnz == dense.size  # zeros included: every pair is stored
    np.testing.assert_allclose(full.toarray(), dense, rtol=1e-12, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 10), st.just(2)),
              elements=st.floats(-89, 89, allow_subnormal=False)))
def test_property_haversine_symmetric_with_zero_diagonal(points):
    d = point_costs(points, points, "haversine")
    np.testing.assert_allclose(d, d.T, atol=1e-9)
    np.testing.assert_allclose(np.diag(d), 0.0, atol=1e-9)
    assert (d <= np.pi * EARTH_RADIUS_KM + 1e-6).all()


# ---------------------------------------------------------------- transforms


def test_transforms_dense():
    c = np.array([[0.0, 1.0], [2.0, np.inf]])
    np.testing.assert_allclose(transform_costs(c, scale=3), [[0, 3], [6, np.inf]])
    np.testing.assert_allclose(transform_costs(c, "power", exponent=2, scale=0.5),
                               [[0, 0.5], [2, np.inf]])
    np.testing.assert_allclose(transform_costs(c, "exponential", rate=0.5, scale=2),
                               [[0, 2 * (np.exp(0.5) - 1)], [2 * (np.e - 1), np.inf]])
    # expm1 keeps precision for tiny costs
    assert transform_costs(np.array([1e-12]), "exponential")[0] == pytest.approx(1e-12,
                                                                                 rel=1e-9)
    assert c[0, 1] == 1.0  # input untouched


def test_transforms_sparse_keep_structure_and_explicit_zeros():
    points = np.array([[0.0, 0.0], [3.0, 4.0]])
    m = knn_costs(points, points, 2)
    for kind, kwargs in [("linear", {"scale": 2}), ("power", {"exponent": 1.5}),
                         ("exponential", {"rate": 0.1})]:
        out = transform_costs(m, kind, **kwargs)
        assert sp.issparse(out) and out.nnz == m.nnz == 4
        np.testing.assert_array_equal(out.indices, m.indices)
        dense = transform_costs(m.toarray(), kind, **kwargs)
        np.testing.assert_allclose(out.toarray(), dense)
    assert m.data.max() == 5.0  # input untouched


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"kind": "log"}, r"kind must be one of 'linear', 'power', 'exponential'; got 'log'"),
    ({"kind": "power", "exponent": 0}, r"exponent must be a finite number > 0; got 0"),
    ({"kind": "power", "exponent": -2}, r"exponent must be a finite number > 0; got -2"),
    ({"kind": "exponential", "rate": 0}, r"rate must be a finite number > 0; got 0"),
    ({"kind": "linear", "scale": -1}, r"scale must be a finite number > 0; got -1"),
    ({"kind": "linear", "scale": np.nan}, r"scale must be a finite number > 0; got nan"),
    ({"kind": "linear", "exponent": 2}, r"exponent does not apply to kind='linear'.*"
                                        r"got exponent=2"),
    ({"kind": "power", "rate": 3}, r"rate does not apply to kind='power'"),
])
def test_transform_parameter_errors(kwargs, pattern):
    with pytest.raises(ParameterError, match=pattern) as err:
        transform_costs(np.ones((2, 2)), **kwargs)
    assert err.value.column in {"kind", "exponent", "rate", "scale"}


def test_transform_bad_costs_and_overflow():
    with pytest.raises(NegativeValueError, match=r"1 negative values at \(row, column\) "
                                                 r"\(1, 0\)"):
        transform_costs(np.array([[1.0, 2.0], [-3.0, 4.0]]), "power", exponent=2)
    with pytest.raises(MissingValueError, match=r"NaN or -inf values at \(row, column\) "
                                                r"\(0, 1\)"):
        transform_costs(np.array([[1.0, np.nan]]))
    with pytest.raises(ParameterError, match=r"rate=1.0 overflows.*reaches 1000"):
        transform_costs(np.array([1000.0]), "exponential", rate=1.0)


# ---------------------------------------------------------------- long tables


def test_long_table_dense_is_row_major_and_drops_unreachable():
    costs = np.array([[1.0, np.inf, 2.0], [0.0, 3.0, np.inf]])
    table, dropped = to_long_table(costs, np.array([10, 20]), ["x", "y", "z"])
    assert dropped == 2
    assert table.columns.tolist() == ["origin_id", "destination_id", "cost"]
    assert table.to_records(index=False).tolist() == [
        (10, "x", 1.0), (10, "z", 2.0), (20, "x", 0.0), (20, "y", 3.0)]
    assert table["origin_id"].dtype == np.int64 and table["cost"].dtype == np.float64


def test_long_table_sparse_reads_stored_entries_only():
    matrix = sp.csr_matrix((np.array([0.0, np.inf, 4.0]), np.array([1, 0, 0]),
                            np.array([0, 1, 3])), shape=(2, 2))
    result = to_long_table(matrix, ["a", "b"], ["p", "q"])
    assert result.n_unreachable == 1
    assert result.table.to_records(index=False).tolist() == [("a", "q", 0.0), ("b", "p", 4.0)]


def test_long_table_errors():
    with pytest.raises(ParameterError, match=r"origin_ids has 3 rows but the cost matrix's "
                                             r"rows has 2"):
        to_long_table(np.zeros((2, 2)), [1, 2, 3], [1, 2])
    with pytest.raises(MissingValueError, match=r"\('b', 'q'\)"):
        to_long_table(np.array([[0.0, 1.0], [2.0, np.nan]]), ["a", "b"], ["p", "q"])
    with pytest.raises(NegativeValueError, match=r"\('a', 'p'\)"):
        to_long_table(np.array([[-1.0]]), ["a"], ["p"])


# ---------------------------------------------------------------- road networks


def floyd_warshall(n: int, arcs: list[tuple[int, int, float]]) -> np.ndarray:
    dist = np.full((n, n), np.inf)
    np.fill_diagonal(dist, 0.0)
    for u, v, c in arcs:
        dist[u, v] = min(dist[u, v], c)
    for k in range(n):
        dist = np.minimum(dist, dist[:, k:k + 1] + dist[k:k + 1, :])
    return dist


def test_shortest_costs_match_floyd_warshall_with_oneway_edges():
    rng = np.random.default_rng(7)
    n = 30
    pairs = {(int(u), int(v)) for u, v in rng.integers(0, n, (90, 2)) if u != v}
    pairs = {(u, v) for u, v in pairs if (v, u) not in pairs or u < v}
    rows = [(f"n{u}", f"n{v}", float(rng.uniform(0.5, 10)), bool(rng.random() < 0.4))
            for u, v in sorted(pairs)]
    edges = pd.DataFrame(rows, columns=["from_id", "to_id", "cost", "oneway"])
    net = RoadNetwork.from_edges(edges, oneway_col="oneway")
    position = {node: i for i, node in enumerate(net.node_ids)}
    arcs = []
    for a, b, c, one in rows:
        arcs.append((position[a], position[b], c))
        if not one:
            arcs.append((position[b], position[a], c))
    expected = floyd_warshall(net.n_nodes, arcs)
    origins = np.array([0, 5, 5, 11])
    np.testing.assert_allclose(net.shortest_costs(origins), expected[origins], rtol=1e-12)
    dests = np.array([3, 0, 7])
    np.testing.assert_allclose(net.shortest_costs(origins, dests),
                               expected[np.ix_(origins, dests)], rtol=1e-12)
    cut = net.shortest_costs(origins, cutoff=6.0)
    want = np.where(expected[origins] <= 6.0, expected[origins], np.inf)
    np.testing.assert_allclose(cut, want, rtol=1e-12)


def test_zero_cost_edges_are_edges():
    edges = pd.DataFrame({"from_id": ["a", "b"], "to_id": ["b", "c"], "cost": [0.0, 2.0]})
    net = RoadNetwork.from_edges(edges)
    assert net.shortest_costs([0]).tolist() == [[0.0, 0.0, 2.0]]


def test_missing_cost_column_uses_straight_line_lengths():
    nodes = pd.DataFrame({"node_id": [1, 2, 3], "x": [0.0, 3.0, 3.0], "y": [0.0, 4.0, 0.0]})
    edges = pd.DataFrame({"from_id": [1, 2], "to_id": [2, 3]})
    net = RoadNetwork.from_edges(edges, nodes=nodes)
    assert net.shortest_costs([0]).tolist() == [[0.0, 5.0, 9.0]]
    with pytest.raises(MissingColumnError, match=r"no cost column 'cost' and no node "
                                                 r"coordinates"):
        RoadNetwork.from_edges(edges)


def test_identical_duplicates_merge_and_conflicting_duplicates_fail():
    same = pd.DataFrame({"from_id": ["a", "b", "a"], "to_id": ["b", "a", "b"],
                         "cost": [2.0, 2.0, 2.0]})
    assert RoadNetwork.from_edges(same).graph.nnz == 2
    clash = pd.DataFrame({"from_id": ["a", "b", "b"], "to_id": ["b", "c", "a"],
                          "cost": [2.0, 1.0, 3.0]}, index=[10, 11, 12])
    with pytest.raises(InputError, match=r"appear more than once with different 'cost'.*"
                                         r"rows 10, 12") as err:
        RoadNetwork.from_edges(clash)
    assert err.value.rows == [10, 12]
    # opposite one-way arcs with different costs are two different arcs: fine
    oneway = clash.assign(oneway=[True, False, True])
    net = RoadNetwork.from_edges(oneway, oneway_col="oneway")
    assert net.shortest_costs([0], [1]).tolist() == [[2.0]]
    assert net.shortest_costs([1], [0]).tolist() == [[3.0]]


@pytest.mark.parametrize(("edges", "kwargs", "error", "pattern"), [
    (pd.DataFrame({"a": [1], "to_id": [2], "cost": [1.0]}), {}, MissingColumnError,
     r"edges has no column 'from_id'; its columns are 'a', 'to_id', 'cost'"),
    (pd.DataFrame({"from_id": [], "to_id": [], "cost": []}), {}, EmptyTableError,
     r"edges has no rows"),
    (pd.DataFrame({"from_id": [1, 2, 3], "to_id": [2, 3, 4], "cost": [1.0, np.nan, 2.0]}),
     {}, MissingValueError, r"column 'cost' has missing, non-numeric or infinite costs in "
                            r"rows 1"),
    (pd.DataFrame({"from_id": [1, 2], "to_id": [2, 3], "cost": ["1", "fast"]}),
     {}, MissingValueError, r"rows 1 \(values 'fast'\)"),
    (pd.DataFrame({"from_id": [1, 2, 3], "to_id": [2, 3, 4], "cost": [1.0, -2.0, -1.0]}),
     {}, NegativeValueError, r"column 'cost' has negative costs in rows 1, 2 "
                             r"\(values -2.0, -1.0\)"),
    (pd.DataFrame({"from_id": [1, 2], "to_id": [2, 2], "cost": [1.0, 1.0]}),
     {}, InputError, r"self-loops .* in rows 1 at nodes 2"),
    (pd.DataFrame({"from_id": [1, None], "to_id": [2, 3], "cost": [1.0, 1.0]}),
     {}, MissingValueError, r"column 'from_id' has missing node ids in rows 1"),
    (pd.DataFrame({"from_id": [1], "to_id": [2], "cost": [1.0], "oneway": ["maybe"]}),
     {"oneway_col": "oneway"}, InputError, r"column 'oneway' must be true/false .* rows 0 "
                                           r"hold 'maybe'"),
    (pd.DataFrame({"from_id": [1, 2], "to_id": [2, 9], "cost": [1.0, 1.0]}),
     {"nodes": pd.DataFrame({"node_id": [1, 2], "x": [0, 1], "y": [0, 0]})},
     UnknownIdError, r"1 node id\(s\) missing from nodes.node_id: 9 in rows 1"),
    (pd.DataFrame({"from_id": [1], "to_id": [2], "cost": [1.0]}),
     {"nodes": pd.DataFrame({"node_id": [1, 2], "east": [0, 1], "north": [0, 0]})},
     MissingColumnError, r"nodes needs coordinate columns 'x', 'y' .* or 'lon', 'lat'"),
])
def test_road_network_validation_messages(edges, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        RoadNetwork.from_edges(edges, **kwargs)


def test_oneway_accepts_yes_no_strings():
    edges = pd.DataFrame({"from_id": [1, 2], "to_id": [2, 3], "cost": [1.0, 1.0],
                          "oneway": ["Yes", "no"]})
    net = RoadNetwork.from_edges(edges, oneway_col="oneway")
    assert net.shortest_costs([1], [0]).tolist() == [[np.inf]]
    assert net.shortest_costs([2], [1]).tolist() == [[1.0]]


def test_shortest_costs_parameter_errors():
    edges = pd.DataFrame({"from_id": [1, 2], "to_id": [2, 3], "cost": [4.0, 5.0]})
    net = RoadNetwork.from_edges(edges)
    with pytest.raises(ParameterError, match=r"cutoff=1.0 is below the cheapest road edge "
                                             r"leaving any origin \(4\)"):
        net.shortest_costs([0, 2], cutoff=1.0)
    with pytest.raises(ParameterError, match=r"origin_nodes holds graph indices outside "
                                             r"0..2: 7"):
        net.shortest_costs([0, 7])
    with pytest.raises(ParameterError, match=r"no node coordinates"):
        net.snap([[0, 0]])
    with pytest.raises(UnknownIdError, match=r"node ids 9 are not in the road network"):
        net.node_index([1, 9])
    assert net.node_index([3, 1]).tolist() == [2, 0]


def grid_network(width: int, height: int, *, river_x: float | None = None,
                 bridges: tuple[int, ...] = ()) -> RoadNetwork:
    """Unit-spaced grid of two-way roads; a river at x = river_x cut except at bridges."""
    xs, ys = np.meshgrid(np.arange(width), np.arange(height), indexing="xy")
    node = (ys * width + xs).ravel()
    nodes = pd.DataFrame({"node_id": node, "x": xs.ravel().astype(float),
                          "y": ys.ravel().astype(float)})
    right = pd.DataFrame({"from_id": node[xs.ravel() < width - 1],
                          "to_id": node[xs.ravel() < width - 1] + 1})
    up = pd.DataFrame({"from_id": node[ys.ravel() < height - 1],
                       "to_id": node[ys.ravel() < height - 1] + width})
    edges = pd.concat([right, up], ignore_index=True)
    if river_x is not None:
        fx = nodes["x"].to_numpy()[edges["from_id"]]
        tx = nodes["x"].to_numpy()[edges["to_id"]]
        fy = nodes["y"].to_numpy()[edges["from_id"]]
        crosses = (np.minimum(fx, tx) < river_x) & (np.maximum(fx, tx) > river_x)
        edges = edges[~crosses | np.isin(fy, bridges)]
    return RoadNetwork.from_edges(edges.assign(cost=1.0), nodes=nodes)


def test_river_with_two_bridges_changes_the_closest_center():
    """Acceptance: a barrier makes the straight-line nearest center the wrong one.

    Roads form a 21 x 21 unit grid. A river runs north-south at x = 10.5 and is
    crossed only by the bridges at y = 0 and y = 20. Center A sits at (5, 10) on the
    west bank, center B at (13, 10) on the east bank. The unit at (10, 10) is on the
    west bank, 3 from B and 5 from A in a straight line; by road, B is
    10 (south to the bridge) + 1 (bridge) + 2 (east) + 10 (north) = 23 away, A only 5.
    """
    centers = np.array([[5.0, 10.0], [13.0, 10.0]])  # A, B
    unit = np.array([[10.0, 10.0]])
    straight = point_costs(unit, centers)
    np.testing.assert_allclose(straight, [[5.0, 3.0]])
    assert straight.argmin() == 1  # straight line: B

    river = grid_network(21, 21, river_x=10.5, bridges=(0, 20))
    road = network_costs(river, unit, centers)
    np.testing.assert_allclose(road.costs, [[5.0, 23.0]])
    assert road.costs.argmin() == 0  # by road: A
    assert road.n_unreachable == 0

    # the river, not the grid, is the cause: bridge it at y = 10 and B wins again
    bridged = grid_network(21, 21, river_x=10.5, bridges=(0, 10, 20))
    np.testing.assert_allclose(network_costs(bridged, unit, centers).costs, [[5.0, 3.0]])

    # the whole west bank: every unit straight-line nearer to B flips to A by road
    xs, ys = np.meshgrid(np.arange(11.0), np.arange(21.0))
    west = np.column_stack((xs.ravel(), ys.ravel())) + 0.2  # off the nodes: snapping counts
    by_line = point_costs(west, centers).argmin(axis=1)
    by_road = network_costs(river, west, centers).costs.argmin(axis=1)
    flipped = (by_line == 1) & (by_road == 0)
    assert flipped.sum() >= 10
    assert (by_road[by_line == 0] == 0).all()  # nothing moves the other way
    assert set(np.round(west[flipped, 0] - 0.2)) <= {8.0, 9.0, 10.0}


def test_network_costs_adds_snap_distances_and_reports_unreachable():
    nodes = pd.DataFrame({"node_id": ["a", "b", "c", "d"], "x": [0.0, 10.0, 50.0, 60.0],
                          "y": [0.0, 0.0, 0.0, 0.0]})
    edges = pd.DataFrame({"from_id": ["a", "c"], "to_id": ["b", "d"], "cost": [10.0, 10.0]})
    net = RoadNetwork.from_edges(edges, nodes=nodes)
    units = np.array([[0.0, 1.0], [10.0, 2.0], [60.0, 3.0]])
    result = network_costs(net, units)
    assert result.origin_node.tolist() == [0, 1, 3]
    np.testing.assert_allclose(result.origin_snap, [1.0, 2.0, 3.0])
    expected = np.array([[0.0, 1 + 10 + 2, np.inf], [13.0, 0.0, np.inf],
                         [np.inf, np.inf, 0.0]])
    np.testing.assert_allclose(result.costs, expected)
    assert result.unreachable_pairs().tolist() == [[0, 2], [1, 2], [2, 0], [2, 1]]
    summary = result.summary(origin_ids=["u1", "u2", "u3"], destination_ids=["u1", "u2", "u3"])
    assert summary["n_unreachable_pairs"] == 4
    assert summary["unreachable_pairs_sample"][0] == ["u1", "u3"]
    assert summary["max_origin_snap"] == 3.0
    # minutes on the road, 2 minutes per unit of distance off the road
    timed = network_costs(net, units[:2], units[:1], snap_cost_per_unit=2.0)
    np.testing.assert_allclose(timed.costs, [[4.0], [2 * 2 + 10 + 2 * 1]])
    # destinations: centre far from everything but unit 3
    one = network_costs(net, units, [[61.0, 0.0]])
    assert one.unreachable_origins().tolist() == [0, 1]
    assert one.unreachable_destinations().tolist() == []


def test_network_costs_cutoff():
    net = grid_network(5, 1)
    points = np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 0.0]])
    result = network_costs(net, points, cutoff=2.0)
    np.testing.assert_allclose(result.costs, [[0, 2, np.inf], [2, 0, 2], [np.inf, 2, 0]])
    with pytest.raises(ParameterError, match=r"cutoff=0.5 is below the cheapest road edge"):
        network_costs(net, points, cutoff=0.5)
    far = np.array([[0.0, 3.0], [4.0, 3.0]])
    with pytest.raises(ParameterError, match=r"cutoff=5.0 leaves every \(origin, "
                                             r"destination\) pair unreachable"):
        network_costs(net, far, cutoff=5.0)


def test_snap_haversine_network_in_km():
    nodes = pd.DataFrame({"node_id": [1, 2], "lon": [PARIS[0], LONDON[0]],
                          "lat": [PARIS[1], LONDON[1]]})
    net = RoadNetwork.from_edges(pd.DataFrame({"from_id": [1], "to_id": [2]}), nodes=nodes)
    assert net.metric == "haversine"
    assert net.graph.data[0] == pytest.approx(343.5, abs=0.5)
    node, dist = net.snap([[2.3522, 48.9566]])
    assert node.tolist() == [0]
    assert dist[0] == pytest.approx(np.radians(0.1) * EARTH_RADIUS_KM, rel=1e-6)
    with pytest.raises(ParameterError, match=r"metric='euclidean' but the network's node "
                                             r"coordinates were loaded as 'haversine'"):
        net.snap([[0, 0]], metric="euclidean")
    with pytest.raises(CoordinateRangeError):
        net.snap([[500.0, 0.0]])


def test_snap_ignores_nodes_without_roads():
    nodes = pd.DataFrame({"node_id": ["lonely", "a", "b"], "x": [0.0, 5.0, 9.0],
                          "y": [0.0, 0.0, 0.0]})
    net = RoadNetwork.from_edges(pd.DataFrame({"from_id": ["a"], "to_id": ["b"]}),
                                 nodes=nodes)
    assert net.n_nodes == 3 and net.connected_nodes.tolist() == [1, 2]
    node, dist = net.snap([[0.5, 0.0], [8.0, 0.0]])
    assert net.node_ids[node].tolist() == ["a", "b"]
    np.testing.assert_allclose(dist, [4.5, 1.0])


def test_benchmark_quick_run_reports_every_case():
    from tests.benchmarks.bench_costs import run

    rows = run(quick=True)
    assert len(rows) == 8
    for row in rows:
        assert set(row) == {"benchmark", "case", "value", "unit", "target", "note"}
        assert row["benchmark"] == "costs" and row["value"] >= 0
        assert row["unit"] in {"s", "MiB"}

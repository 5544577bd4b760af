"""The contiguity oracle (tests/oracles.py) on hand-made cases and against networkx."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tests.oracles import array_flags, array_split, frame_split, graph_pairs, pieces

PATH5 = [(0, 1), (1, 2), (2, 3), (3, 4)]


def test_path_split_and_whole():
    assert pieces(PATH5, dict(enumerate([0, 0, 1, 1, 1]))) == {0: 1, 1: 1}
    # territory 0 = {0, 4} is two pieces; a singleton territory is one piece
    assert pieces(PATH5, dict(enumerate([0, 1, 2, 1, 0]))) == {0: 2, 1: 2, 2: 1}


def test_edges_count_both_ways_and_self_loops_do_not_join():
    one_way = [(1, 0), (1, 2)]
    assert pieces(one_way, {0: "a", 1: "a", 2: "a"}) == {"a": 1}
    assert pieces([(0, 0), (1, 1), (0, 1), (0, 1)], {0: "a", 1: "a"}) == {"a": 1}
    assert pieces([(0, 0), (1, 1)], {0: "a", 1: "a"}) == {"a": 2}


def test_units_outside_the_labels_do_not_connect():
    # 0 - 9 - 1: unit 9 is not labelled, so it cannot carry territory "a" across
    assert pieces([(0, 9), (9, 1)], {0: "a", 1: "a"}) == {"a": 2}


def test_other_territory_does_not_connect():
    # a cycle 0-1-2-3-0: territory a = {0, 2} touches only through b's units
    cycle = [(0, 1), (1, 2), (2, 3), (3, 0)]
    assert pieces(cycle, {0: "a", 1: "b", 2: "a", 3: "b"}) == {"a": 2, "b": 2}


def test_sparse_graph_helpers():
    g = sp.diags([1.0, 1.0], [-1, 1], shape=(5, 5), format="csr")
    assert sorted(graph_pairs(g)) == sorted(PATH5 + [(b, a) for a, b in PATH5])
    assert array_split(g, np.array([0, 1, 1, 1, 0])) == [0]
    assert array_flags(g, [0, 1, 1, 1, 0], 3).tolist() == [False, True, True]  # 2 is empty
    # an explicit zero is not an edge
    g = g.tolil()
    g[1, 2] = g[2, 1] = 0
    g = g.tocsr()
    assert array_split(g, [0, 0, 0, 1, 1]) == [0]


def test_frame_with_text_ids():
    assign = pd.DataFrame({"id": ["a", "b", "c"], "territory": ["T", "U", "T"]})
    edges = pd.DataFrame({"from_id": ["a", "b"], "to_id": ["b", "c"]})
    assert frame_split(assign, edges) == ["T"]
    edges = pd.concat([edges, pd.DataFrame({"from_id": ["c"], "to_id": ["a"]})])
    assert frame_split(assign, edges) == []


@pytest.mark.parametrize("seed", range(20))
def test_matches_networkx_on_random_graphs(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 30))
    k = int(rng.integers(1, 5))
    g = nx.gnp_random_graph(n, float(rng.uniform(0.05, 0.4)), seed=seed)
    labels = dict(enumerate(rng.integers(0, k, n).tolist()))
    expected = {}
    for t in set(labels.values()):
        sub = g.subgraph([u for u, lab in labels.items() if lab == t])
        expected[t] = nx.number_connected_components(sub)
    assert pieces(list(g.edges()), labels) == expected

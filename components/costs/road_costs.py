"""Road-network costs of the cost-matrix component: snapping, shortest paths, k cheapest.

Split from :mod:`components.costs.component` (which calls :func:`road_costs` for
``distance: network``) so each module reads in one sitting.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from components.costs._checks import scalar
from components.costs.metrics import csr_with_explicit_zeros
from components.costs.network import RoadNetwork
from components.costs.points import (
    _MAX_EXAMPLES,
    _MAX_LISTED,
    PointTable,
    _check_size,
    as_text_ids,
)
from components.costs.routing import NetworkCosts, network_costs
from components.errors import MissingColumnError, ParameterError, UnknownIdError, preview


def _text_edges(edges: pd.DataFrame) -> pd.DataFrame:
    for col in ("from_id", "to_id"):
        if col not in edges.columns:
            raise MissingColumnError(
                f"column '{col}' not found in the edges table; columns present: "
                f"{', '.join(map(str, edges.columns))}: a road edge is from_id, to_id, cost",
                column=col)
    return edges.assign(from_id=as_text_ids(edges["from_id"]).to_numpy(),
                        to_id=as_text_ids(edges["to_id"]).to_numpy())


def road_costs(origins: PointTable, dests: PointTable, square: bool, edges: pd.DataFrame,
             nodes: pd.DataFrame | None, p: dict[str, Any], report: dict[str, Any],
             warnings: list[str]) -> np.ndarray | sp.csr_matrix:
    n, m = len(origins.ids), len(dests.ids)
    _check_size(n, m, p["max_pairs"])  # routing always fills a dense n x m block
    edges = _text_edges(edges)
    oneway = "oneway" if "oneway" in edges.columns else None
    report["metric"] = "network"
    report["unit"] = "edge cost"
    if nodes is None:
        if "cost" not in edges.columns:
            raise MissingColumnError(
                "the edges table has no 'cost' column; columns present: "
                f"{', '.join(map(str, edges.columns))}: add a cost (length or travel time) "
                "or give --nodes FILE with coordinates so edge lengths are measured",
                column="cost")
        net = RoadNetwork.from_edges(edges, oneway_col=oneway)
        result = _node_costs(net, origins, dests, square, p["cutoff"], warnings)
        report["network"] = {"nodes": net.n_nodes, "arcs": int(net.graph.nnz),
                             "snapped": False}
    else:
        if "node_id" not in nodes.columns:
            raise MissingColumnError(
                "column 'node_id' not found in the nodes table; columns present: "
                f"{', '.join(map(str, nodes.columns))}", column="node_id")
        nodes = nodes.assign(node_id=as_text_ids(nodes["node_id"]).to_numpy())
        coord_cols = origins.columns.coordinate_columns if origins.columns else None
        if coord_cols is not None and not set(coord_cols) <= set(nodes.columns):
            coord_cols = None  # x, y or lon, lat by convention
        metric = "haversine" if origins.kind == "lonlat" else "euclidean"
        net = RoadNetwork.from_edges(edges, cost_col="cost", oneway_col=oneway, nodes=nodes,
                                     coord_cols=coord_cols, metric=metric, unit=p["unit"])
        result = _snapped_costs(net, origins, dests, square, p)
        report["network"] = {
            "nodes": net.n_nodes, "arcs": int(net.graph.nnz), "snapped": True,
            "snap_cost": p["snap_cost"],
            "max_origin_snap": float(result.origin_snap.max()),
            "max_destination_snap": float(result.destination_snap.max()),
            "snap_unit": p["unit"] if metric == "haversine" else "coordinate units",
        }
    lost = _unreachable(result.costs, origins.ids, dests.ids, square)
    report["unreachable_pairs"] = lost["count"]
    report["unreachable"] = {"within_cutoff": p["cutoff"], **lost}
    del report["unreachable"]["count"]
    if lost["count"] and p["cutoff"] is None:
        nothing = lost["origins_reaching_nothing"]
        warnings.append(
            f"{lost['count']:,} of {n * m:,} pairs have no road path and were dropped, e.g. "
            f"(origin, destination) {preview([tuple(x) for x in lost['examples']])}"
            + (f"; origins reaching no destination: {preview(nothing)}" if nothing else "")
            + ": check oneway edges and missing road links, or connect these points to the "
              "network")
    costs = result.costs
    if p["k"] is not None:
        return _k_cheapest(costs, p["k"])
    if p["cutoff"] is not None:
        rows, cols = np.nonzero(np.isfinite(costs))
        return csr_with_explicit_zeros(rows, cols, costs[rows, cols], costs.shape)
    return costs


def _unreachable(costs: np.ndarray, o_ids: np.ndarray, d_ids: np.ndarray,
                 square: bool) -> dict[str, Any]:
    """Count and name the pairs without a road path (a point to itself always has one)."""
    missing = np.isinf(costs)
    pairs = np.argwhere(missing)
    others = np.ones_like(missing)
    if square:
        np.fill_diagonal(others, False)
    cut_off = ~(~missing & others).any(axis=1) & others.any(axis=1)
    unreached = ~(~missing & others).any(axis=0) & others.any(axis=0)
    return {
        "count": int(missing.sum()),
        "examples": [[scalar(o_ids[i]), scalar(d_ids[j])] for i, j in pairs[:_MAX_EXAMPLES]],
        "origins_reaching_nothing": [scalar(v) for v in o_ids[cut_off][:_MAX_LISTED]],
        "destinations_reached_by_nothing": [scalar(v) for v in d_ids[unreached][:_MAX_LISTED]],
    }


def _reverse(net: RoadNetwork) -> RoadNetwork:
    """The same roads travelled backwards (explicit zero-cost arcs kept)."""
    return RoadNetwork(net.node_ids, net.graph.transpose().tocsr(), net.coords, net.metric,
                       net.unit)


def _node_costs(net: RoadNetwork, origins: PointTable, dests: PointTable, square: bool,
                cutoff: float | None, warnings: list[str]) -> NetworkCosts:
    """Costs when the edges join the point ids themselves (no snapping)."""
    index = pd.Index(net.node_ids)
    o_node = index.get_indexer(as_text_ids(origins.ids))
    d_node = o_node if square else index.get_indexer(as_text_ids(dests.ids))
    o_in, d_in = o_node >= 0, d_node >= 0
    if not o_in.any() or not d_in.any():
        side, ids = ("points", origins.ids) if not o_in.any() else ("destinations", dests.ids)
        raise UnknownIdError(
            f"none of the {side}' ids ({preview(ids)}) appears in the edges' from_id / to_id "
            f"(e.g. {preview(net.node_ids)}): either the edges join point ids (check the id "
            "column and its type), or give --nodes FILE with node_id and coordinates to snap "
            "the points to the roads", column="from_id", rows=list(ids[:20]))
    missing = np.concatenate([origins.ids[~o_in], [] if square else dests.ids[~d_in]])
    if missing.size:
        warnings.append(
            f"{missing.size} point(s) are not on any road edge and reach nothing: "
            f"{preview(missing)}; add edges for them or give --nodes FILE to snap them")
    costs = np.full((len(o_node), len(d_node)), np.inf)
    o_pos, d_pos = np.flatnonzero(o_in), np.flatnonzero(d_in)
    block = _shortest(net, o_node[o_pos], d_node[d_pos], cutoff)
    costs[np.ix_(o_pos, d_pos)] = block
    if square:
        np.fill_diagonal(costs, 0.0)
    if cutoff is not None and not _any_off_diagonal(costs, square):
        raise ParameterError(
            f"cutoff={cutoff:g} leaves every pair of different points unreachable by road: "
            "raise --cutoff or drop it", column="cutoff")
    zeros = np.zeros
    return NetworkCosts(costs, o_node, zeros(len(o_node)), d_node, zeros(len(d_node)))


def _shortest(net: RoadNetwork, o_node: np.ndarray, d_node: np.ndarray,
              cutoff: float | None) -> np.ndarray:
    """Dijkstra from whichever side has fewer distinct nodes (centers, usually)."""
    if np.unique(d_node).size < np.unique(o_node).size:
        return _reverse(net).shortest_costs(d_node, o_node, cutoff=cutoff).T
    return net.shortest_costs(o_node, d_node, cutoff=cutoff)


def _snapped_costs(net: RoadNetwork, origins: PointTable, dests: PointTable, square: bool,
                   p: dict[str, Any]) -> NetworkCosts:
    """Costs between points snapped to their nearest road node (snap distance added)."""
    kwargs = dict(cutoff=p["cutoff"], snap_cost_per_unit=p["snap_cost"])
    if square:
        return network_costs(net, origins.coords, None, **kwargs)
    if len(dests.ids) < len(origins.ids):
        back = network_costs(_reverse(net), dests.coords, origins.coords, **kwargs)
        return NetworkCosts(back.costs.T, back.destination_node, back.destination_snap,
                            back.origin_node, back.origin_snap)
    return network_costs(net, origins.coords, dests.coords, **kwargs)


def _any_off_diagonal(costs: np.ndarray, square: bool) -> bool:
    finite = np.isfinite(costs)
    if square:
        np.fill_diagonal(finite, False)
    return bool(finite.any()) or finite.size == 0 or (square and len(costs) == 1)


def _k_cheapest(costs: np.ndarray, k: int) -> sp.csr_matrix:
    """Sparse k cheapest finite entries of each row; ties go to the lower column."""
    n, m = costs.shape
    kk = min(int(k), m)
    if n == 0 or kk == 0:
        return sp.csr_matrix((n, m), dtype=np.float64)
    cols = np.argsort(costs, axis=1, kind="stable")[:, :kk]
    values = np.take_along_axis(costs, cols, axis=1)
    finite = np.isfinite(values)
    rows = np.broadcast_to(np.arange(n)[:, None], cols.shape)
    return csr_with_explicit_zeros(rows[finite], cols[finite], values[finite], (n, m))

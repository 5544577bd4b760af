"""Adjacency from a road network: units whose road catchments are joined by a road."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from components.adjacency.model import Adjacency, build_adjacency
from components.costs._checks import as_ids, as_points, check_length, check_metric, scalar
from components.costs.metrics import pair_distances, search_space
from components.costs.network import RoadNetwork
from components.errors import ParameterError


def from_road_network(ids: Any, coords: Any, network: RoadNetwork,
                      metric: str | None = None, *, road_lengths: bool = False) -> Adjacency:
    """Adjacency of units by road.

    Definition
    ----------
    1. Catchments: every network node that has at least one road edge is assigned to
       its nearest unit (straight line, ``metric``), a Voronoi partition of the road
       nodes among the units.
    2. Units ``a != b`` are adjacent when some road edge (either direction) joins a node
       of ``a``'s catchment to a node of ``b``'s catchment.
    3. A unit whose catchment is empty (another unit is nearer to every node) is made
       adjacent to the unit owning the node it snaps to, i.e. the unit it shares its
       road access with.

    Units separated by a barrier crossed by no road are therefore not adjacent even
    when they are close in a straight line. Edge length is the straight-line distance
    between the units (haversine km for lon/lat), or with ``road_lengths`` the road
    cost between the nodes the two units snap to (the mean of both directions, so
    one-way streets count; a pair joined one way only takes that direction's cost).

    Parameters
    ----------
    coords : array_like (n, 2)
        Unit coordinates in the network's coordinate system.
    network : RoadNetwork
        Built with node coordinates.
    metric : {'euclidean', 'haversine'} or None
        Defaults to the network's; must match it.
    """
    ids = as_ids(ids)
    if not isinstance(network, RoadNetwork):
        raise ParameterError(
            f"network must be a RoadNetwork (see RoadNetwork.from_edges); got "
            f"{type(network).__name__}",
            column="network",
        )
    if network.coords is None:
        raise ParameterError(
            "the road network has no node coordinates, so units cannot be matched to "
            "roads; build it with RoadNetwork.from_edges(..., nodes=<table with x, y or "
            "lon, lat>)",
            column="network",
        )
    metric = check_metric(metric or network.metric)
    if metric != network.metric:
        raise ParameterError(
            f"metric={metric!r} but the network's node coordinates were loaded as "
            f"{network.metric!r}; pass metric={network.metric!r}",
            column="metric",
        )
    points = as_points(coords, "coords", metric)
    check_length(points, len(ids), "coords", "ids")
    n = len(ids)
    if n == 0:
        return build_adjacency(ids, [], [], [], "road")

    owner = np.full(network.n_nodes, -1, dtype=np.int64)
    nodes = network.connected_nodes
    _, nearest = cKDTree(search_space(points, metric)).query(
        search_space(network.coords[nodes], metric), workers=-1)
    owner[nodes] = nearest
    graph = network.graph.tocoo()
    a, b = owner[graph.row], owner[graph.col]
    crossing = a != b
    a, b = a[crossing], b[crossing]

    empty = np.flatnonzero(np.bincount(owner[nodes], minlength=n) == 0)
    if empty.size:
        snapped, _ = network.snap(points[empty])
        a = np.concatenate([a, empty])
        b = np.concatenate([b, owner[snapped]])
    if road_lengths:
        length = _road_lengths(network, network.snap(points)[0], a, b)
    else:
        length = pair_distances(points[a], points[b], metric, unit="km")
    return build_adjacency(ids, a, b, length, "road")


def _road_lengths(network: RoadNetwork, snapped: np.ndarray, a: np.ndarray,
                  b: np.ndarray) -> np.ndarray:
    """Mean road cost ``snapped[a] <-> snapped[b]`` over both directions, per pair."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    pairs, inverse = np.unique(np.column_stack([lo, hi]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    ends = np.unique(pairs)
    where = np.searchsorted(ends, pairs)
    out = np.empty(len(pairs))
    block = max(1, (1 << 22) // max(len(ends), 1))
    for start in range(0, len(ends), block):
        costs = network.shortest_costs(snapped[ends[start:start + block]], snapped[ends])
        for column, row_of in ((0, 1), (1, 0)):  # forward then backward direction
            mine = (where[:, column] >= start) & (where[:, column] < start + block)
            got = costs[where[mine, column] - start, where[mine, row_of]]
            if column == 0:
                out[mine] = got
            else:
                out[mine] = np.where(np.isfinite(out[mine]) & np.isfinite(got),
                                     (out[mine] + got) / 2, np.fmin(out[mine], got))
    if not np.isfinite(out).all():
        finite = out[np.isfinite(out)]
        out[~np.isfinite(out)] = finite.max() if finite.size else 1.0
    return out[inverse]


def snap_report(ids: np.ndarray, points: np.ndarray, network: RoadNetwork,
                metric: str) -> dict[str, Any]:
    """How far units are from the roads; raises when lon/lat look swapped."""
    _, dist = network.snap(points)
    unit = "km" if metric == "haversine" else "coordinate units"
    if metric == "haversine" and len(points):
        _check_swapped(ids, points, dist, network)
    order = np.argsort(-dist, kind="stable")[:5]
    return {"unit": unit, "mean": float(dist.mean()) if dist.size else 0.0,
            "p95": float(np.quantile(dist, 0.95)) if dist.size else 0.0,
            "max": float(dist.max()) if dist.size else 0.0,
            "farthest": [{"id": scalar(ids[i]), "distance": float(dist[i])} for i in order]}


def _check_swapped(ids: np.ndarray, points: np.ndarray, dist: np.ndarray,
                   network: RoadNetwork) -> None:
    swapped = points[:, ::-1]
    if np.abs(swapped[:, 1]).max() > 90:
        return
    _, other = network.snap(swapped)
    typical, if_swapped = float(np.median(dist)), float(np.median(other))
    if typical > 10.0 and if_swapped < typical / 10.0:
        raise ParameterError(
            f"the units are a median {typical:,.0f} km from the nearest road, but only "
            f"{if_swapped:,.2f} km with longitude and latitude exchanged (e.g. unit "
            f"{scalar(ids[0])!r} at lon {points[0, 0]:g}, lat {points[0, 1]:g}): the "
            "--lon and --lat columns look swapped; exchange them",
            column="lon/lat")

"""Adjacency from a road network: units whose road catchments are joined by a road."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from components.adjacency.model import Adjacency, build_adjacency
from components.costs._checks import as_ids, as_points, check_length, check_metric
from components.costs.metrics import pair_distances, search_space
from components.costs.network import RoadNetwork
from components.errors import ParameterError


def from_road_network(ids: Any, coords: Any, network: RoadNetwork,
                      metric: str | None = None) -> Adjacency:
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
    between the units (haversine km for lon/lat).

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
    length = pair_distances(points[a], points[b], metric, unit="km")
    return build_adjacency(ids, a, b, length, "road")

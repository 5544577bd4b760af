"""Adjacency from point locations: pruned Delaunay triangulation."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial import Delaunay, QhullError

from components.adjacency.model import Adjacency, build_adjacency
from components.costs._checks import (
    as_ids,
    as_points,
    check_length,
    check_metric,
    check_positive,
)
from components.costs.metrics import local_plane, pair_distances
from components.errors import ParameterError


def from_points(ids: Any, coords: Any, *, metric: str = "euclidean",
                max_edge_factor: float | None = 3.0) -> Adjacency:
    """Adjacency of points by Delaunay triangulation, with long edges pruned.

    Rule
    ----
    1. Triangulate the distinct locations (for ``metric='haversine'``, in a local
       equirectangular projection ``x = R Δλ cos φ0, y = R φ`` centred on the data).
    2. Each edge ``(a, b)`` has length ``L`` (straight-line; haversine km for lon/lat).
       The local scale ``s(v)`` of location ``v`` is the lower quartile of the lengths
       of its Delaunay edges: the value at rank ``floor((k - 1) / 4)`` of its ``k``
       sorted lengths (the shortest for ``k <= 4``, the second for ``k <= 8``...).
    3. The edge is pruned when ``L > f * s(a)`` **and** ``L > f * s(b)``
       (``f = max_edge_factor``): it is long for both ends, like a hull edge across a
       bay or the edges bridging two separate towns. An edge that is ordinary for one
       of its ends stays, so a location never loses its shortest edge, and uniform
       point sets stay connected.

    Why the lower quartile and not the median: a point facing a gap has more than half
    of its Delaunay edges crossing the gap, so its median is itself a gap-crossing
    length and those edges survive (two 10 x 10 clusters 40 apart stay joined). Its
    lower quartile is still one of its short edges along its own cluster.

    Pruning may split the graph; :func:`link_islands` reconnects it with flagged edges.

    Degenerate input is handled without jitter: units at the same coordinates are
    adjacent to each other (length 0) and each gets every edge of that location;
    collinear points are chained in order along their line; two locations are joined
    by one edge; a single location has no Delaunay edges.

    Parameters
    ----------
    max_edge_factor : float >= 1 or None
        ``None`` keeps every Delaunay edge.
    """
    ids = as_ids(ids)
    check_metric(metric)
    points = as_points(coords, "coords", metric)
    check_length(points, len(ids), "coords", "ids")
    factor = check_positive(max_edge_factor, "max_edge_factor", allow_none=True)
    if factor is not None and factor < 1:
        raise ParameterError(
            f"max_edge_factor must be a number >= 1 (or None to keep every edge); got "
            f"{max_edge_factor!r}",
            column="max_edge_factor",
        )
    if len(ids) == 0:
        return build_adjacency(ids, [], [], [], "delaunay")

    locations, location_of = np.unique(points, axis=0, return_inverse=True)
    location_of = location_of.ravel()
    a, b = _location_edges(_plane(locations, metric))
    length = pair_distances(locations[a], locations[b], metric, unit="km")
    if factor is not None:
        a, b, length = _prune(a, b, length, len(locations), factor)
    i, j, unit_length = _expand_to_units(location_of, a, b, length)
    return build_adjacency(ids, i, j, unit_length, "delaunay")


def _plane(locations: np.ndarray, metric: str) -> np.ndarray:
    """Planar coordinates for triangulation (local equirectangular for lon/lat)."""
    return local_plane(locations) if metric == "haversine" else locations


def _location_edges(plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(plane)
    if n < 2:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    centred = plane - plane.mean(axis=0)
    singular = np.linalg.svd(centred, compute_uv=False)
    if n == 2 or singular[1] <= 1e-12 * singular[0]:
        return _chain(centred)
    try:
        simplices = Delaunay(plane).simplices
    except QhullError:  # nearly collinear: qhull cannot build a 2-D triangulation
        return _chain(centred)
    pairs = np.concatenate([simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [0, 2]]])
    pairs.sort(axis=1)
    pairs = np.unique(pairs, axis=0)
    return pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)


def _chain(centred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Consecutive points along the principal axis of (nearly) collinear points."""
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    order = np.argsort(centred @ vt[0], kind="stable")
    return order[:-1].astype(np.int64), order[1:].astype(np.int64)


def _prune(a: np.ndarray, b: np.ndarray, length: np.ndarray, n: int,
           factor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop edges longer than ``factor`` x the local scale at both ends."""
    if not a.size:
        return a, b, length
    scale = _lower_quartile_by_node(np.concatenate([a, b]), np.concatenate([length, length]),
                                    n)
    keep = ~((length > factor * scale[a]) & (length > factor * scale[b]))
    return a[keep], b[keep], length[keep]


def _lower_quartile_by_node(node: np.ndarray, value: np.ndarray, n: int) -> np.ndarray:
    """Per node, the value at rank ``floor((k - 1) / 4)`` of its ``k`` sorted values."""
    order = np.lexsort((value, node))
    node, value = node[order], value[order]
    counts = np.bincount(node, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    scale = np.full(n, np.inf)
    has = counts > 0
    scale[has] = value[starts[has] + (counts[has] - 1) // 4]
    return scale


def _expand_to_units(location_of: np.ndarray, a: np.ndarray, b: np.ndarray,
                     length: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges between locations -> edges between the units at those locations."""
    n_locations = int(location_of.max()) + 1
    members = np.argsort(location_of, kind="stable")
    counts = np.bincount(location_of, minlength=n_locations)
    if counts.max() == 1:
        unit_at = np.empty(n_locations, dtype=np.int64)
        unit_at[location_of] = np.arange(len(location_of))
        return unit_at[a], unit_at[b], length
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    # every (member of a) x (member of b) for each location edge
    ca, cb = counts[a], counts[b]
    edge = np.repeat(np.arange(a.size), ca * cb)
    offset = np.arange(edge.size) - np.repeat(np.cumsum(ca * cb) - ca * cb, ca * cb)
    i = members[starts[a][edge] + offset // cb[edge]]
    j = members[starts[b][edge] + offset % cb[edge]]
    # every pair of units at the same location, length 0
    shared = np.flatnonzero(counts > 1)
    c = counts[shared]
    loc = np.repeat(np.arange(shared.size), c * c)
    offset = np.arange(loc.size) - np.repeat(np.cumsum(c * c) - c * c, c * c)
    p, q = offset // c[loc], offset % c[loc]
    upper = p < q
    base = starts[shared][loc][upper]
    i_same, j_same = members[base + p[upper]], members[base + q[upper]]
    return (np.concatenate([i, i_same]), np.concatenate([j, j_same]),
            np.concatenate([length[edge], np.zeros(i_same.size)]))

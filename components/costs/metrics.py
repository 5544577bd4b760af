"""Straight-line cost matrices: dense all pairs and sparse k-nearest.

Two metrics:

* ``'euclidean'``: planar coordinates ``(x, y)``, ``d = sqrt((x1-x2)^2 + (y1-y2)^2)``
  in the unit of the coordinates.
* ``'haversine'``: ``(lon, lat)`` in degrees, great-circle distance on a sphere of
  radius ``R = 6371.0088 km`` (the IUGG mean Earth radius), in ``'km'`` or ``'mi'``.

Great-circle distances are computed through 3-D unit vectors ``u``: the chord
``c = |u1 - u2|`` gives the arc exactly, ``d = 2 R arcsin(c / 2)``, which is the
haversine formula written another way. Both the dense and the k-nearest path use it,
so their numbers agree to the last bit, and a KD-tree on unit vectors finds
great-circle neighbours because the chord grows monotonically with the arc.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from components.costs._checks import as_points, check_metric, check_positive, check_unit
from components.errors import ParameterError

EARTH_RADIUS_KM = 6371.0088
KM_PER_MILE = 1.609344
# Elements per chunk of a dense block: 2**20 float64 = 8 MiB, small enough for cache
# friendliness and to keep temporaries bounded whatever n and m are.
_CHUNK_ELEMENTS = 1 << 20
_KNN_CHUNK_ELEMENTS = 1 << 22


def earth_radius(unit: str = "km") -> float:
    """Mean Earth radius in ``unit`` (``'km'`` or ``'mi'``)."""
    check_unit(unit)
    return EARTH_RADIUS_KM if unit == "km" else EARTH_RADIUS_KM / KM_PER_MILE


def lonlat_to_unit_vectors(lonlat: np.ndarray) -> np.ndarray:
    """Map ``(lon, lat)`` degrees to 3-D unit vectors ``(cos φ cos λ, cos φ sin λ, sin φ)``."""
    lon = np.radians(lonlat[:, 0])
    lat = np.radians(lonlat[:, 1])
    cos_lat = np.cos(lat)
    return np.column_stack((cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)))


def chord_to_arc(chord: np.ndarray, radius: float, out: np.ndarray | None = None) -> np.ndarray:
    """Great-circle distance from unit-sphere chord length: ``d = 2 R arcsin(c / 2)``.

    Works in place when ``out is chord``.
    """
    out = np.multiply(chord, 0.5, out=out)
    np.clip(out, 0.0, 1.0, out=out)
    np.arcsin(out, out=out)
    out *= 2.0 * radius
    return out


def arc_to_chord(arc: float, radius: float) -> float:
    """Unit-sphere chord for a great-circle distance: ``c = 2 sin(min(d / R, π) / 2)``."""
    return 2.0 * np.sin(min(arc / radius, np.pi) / 2.0)


def pair_distances(a: np.ndarray, b: np.ndarray, metric: str = "euclidean", *,
                   unit: str = "km") -> np.ndarray:
    """Distances between matching rows ``a[i]`` and ``b[i]`` (already validated points)."""
    if metric == "haversine":
        chord = np.linalg.norm(lonlat_to_unit_vectors(a) - lonlat_to_unit_vectors(b), axis=1)
        return chord_to_arc(chord, earth_radius(unit))
    return np.hypot(a[:, 0] - b[:, 0], a[:, 1] - b[:, 1])


def local_plane(lonlat: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Lon/lat degrees to a local equirectangular plane in km, centred on ``reference``
    (default: the points themselves); safe across the antimeridian. Good for seeding,
    triangulating and centroids within a region, not for distances across continents."""
    ref = np.asarray(lonlat if reference is None else reference, dtype=float)
    pts = np.asarray(lonlat, dtype=float)
    rlon, rlat = np.radians(ref[:, 0]), np.radians(ref[:, 1])
    lon0 = np.arctan2(np.sin(rlon).mean(), np.cos(rlon).mean())
    lon, lat = np.radians(pts[:, 0]), np.radians(pts[:, 1])
    dlon = (lon - lon0 + np.pi) % (2 * np.pi) - np.pi
    return np.column_stack((EARTH_RADIUS_KM * dlon * np.cos(rlat.mean()),
                            EARTH_RADIUS_KM * lat))


def search_space(points: np.ndarray, metric: str) -> np.ndarray:
    """Coordinates in which Euclidean nearest neighbours are nearest for ``metric``."""
    return lonlat_to_unit_vectors(points) if metric == "haversine" else points


def point_costs(origins: Any, destinations: Any, metric: str = "euclidean", *,
                unit: str = "km") -> np.ndarray:
    """Dense matrix of straight-line costs from every origin to every destination.

    Parameters
    ----------
    origins, destinations : array_like, shape (n, 2) and (m, 2)
        Planar ``(x, y)`` for ``metric='euclidean'``; ``(lon, lat)`` degrees for
        ``metric='haversine'``.
    metric : {'euclidean', 'haversine'}
        ``euclidean``: ``d_ij = ||o_i - d_j||_2`` in coordinate units.
        ``haversine``: ``d_ij = 2 R arcsin(sqrt(sin²(Δφ/2) + cos φ_i cos φ_j sin²(Δλ/2)))``
        with ``R = 6371.0088 km``.
    unit : {'km', 'mi'}
        Unit of great-circle distances; ignored for ``euclidean``.

    Returns
    -------
    numpy.ndarray, shape (n, m), float64

    Notes
    -----
    Rows are processed in chunks of about one million pairs, so the only large
    allocation is the result itself.

    Examples
    --------
    >>> point_costs([[0, 0]], [[3, 4], [0, 1]])
    array([[5., 1.]])
    """
    check_metric(metric)
    check_unit(unit)
    o = as_points(origins, "origins", metric)
    d = as_points(destinations, "destinations", metric)
    n, m = len(o), len(d)
    out = np.empty((n, m), dtype=np.float64)
    if n == 0 or m == 0:
        return out
    o_space, d_space = search_space(o, metric), search_space(d, metric)
    step = max(1, _CHUNK_ELEMENTS // m)
    radius = earth_radius(unit)
    for start in range(0, n, step):
        block = out[start:start + step]
        cdist(o_space[start:start + step], d_space, out=block)
        if metric == "haversine":
            chord_to_arc(block, radius, out=block)
    return out


def _cost_converter(metric: str, unit: str) -> tuple[Callable[[np.ndarray], np.ndarray],
                                                     Callable[[float], float]]:
    """(tree distance -> cost, cost -> tree distance) for ``metric``."""
    if metric == "haversine":
        radius = earth_radius(unit)
        return (lambda chord: chord_to_arc(chord, radius, out=chord),
                lambda cost: arc_to_chord(cost, radius))
    return (lambda dist: dist), (lambda cost: cost)


def knn_costs(origins: Any, destinations: Any, k: int | None,
              metric: str = "euclidean", *, unit: str = "km",
              cutoff: float | None = None) -> sp.csr_matrix:
    """Sparse costs to the ``k`` nearest destinations of each origin (and/or within ``cutoff``).

    Parameters
    ----------
    origins, destinations : array_like, shape (n, 2) and (m, 2)
        Coordinates as in :func:`point_costs`.
    k : int or None
        Number of nearest destinations kept per origin (capped at ``m``). ``None``
        keeps every destination within ``cutoff``.
    metric, unit
        As in :func:`point_costs`.
    cutoff : float or None
        Keep only pairs with ``d_ij <= cutoff`` (in ``unit`` for haversine).

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n, m), float64
        Row ``i`` stores ``d_ij`` for the selected destinations ``j``, column indices
        sorted. **A stored entry means "candidate pair"; a stored ``0.0`` is a real
        zero cost (coincident points) and is kept as an explicit zero.** An absent
        entry means "not among the nearest", never "cost 0". Code reading the result
        must iterate over the stored structure (``indptr``/``indices``/``data`` or
        ``tocoo()``), not ``nonzero()``, and must not call ``eliminate_zeros()``.

    Notes
    -----
    A ``cKDTree`` is built on the destinations (on 3-D unit vectors for haversine,
    where the chord ``c`` converts exactly to the arc ``2 R arcsin(c/2)``) and queried
    in row chunks, so memory is ``O((n + m) + n k)``: no dense ``n x m`` block exists.
    Ties at equal distance are broken by the KD-tree, deterministically for a given
    input.

    Examples
    --------
    >>> nearest = knn_costs([[0, 0]], [[3, 4], [0, 1], [0, 0]], k=2)
    >>> nearest.indices, nearest.data
    (array([1, 2], dtype=int32), array([1., 0.]))
    """
    check_metric(metric)
    check_unit(unit)
    if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer))
                          or k < 1):
        raise ParameterError(f"k must be an integer >= 1 or None; got {k!r}", column="k")
    cutoff = check_positive(cutoff, "cutoff", allow_zero=True, allow_none=True)
    if k is None and cutoff is None:
        raise ParameterError(
            "knn_costs needs k, cutoff or both: give k (nearest destinations per origin) "
            "and/or cutoff (maximum cost); got k=None and cutoff=None",
            column="k",
        )
    o = as_points(origins, "origins", metric)
    d = as_points(destinations, "destinations", metric)
    n, m = len(o), len(d)
    if n == 0 or m == 0:
        return sp.csr_matrix((n, m), dtype=np.float64)
    to_cost, to_tree = _cost_converter(metric, unit)
    tree = cKDTree(search_space(d, metric))
    o_space = search_space(o, metric)
    # Tree bounds are strict (<), and the chord <-> arc round trip may lose an ulp, so
    # search slightly wider and apply the exact `cost <= cutoff` test afterwards.
    bound = np.inf if cutoff is None else to_tree(cutoff) * (1 + 1e-9) + 1e-12

    if k is None:
        pairs = cKDTree(o_space).sparse_distance_matrix(tree, bound, output_type="ndarray")
        costs = to_cost(pairs["v"].astype(np.float64))
        keep = costs <= cutoff
        return csr_with_explicit_zeros(pairs["i"][keep], pairs["j"][keep], costs[keep],
                                       (n, m))

    # k nearest: query in row chunks and write CSR arrays directly (rows come in order),
    # so peak memory is the result plus one chunk.
    kk = min(int(k), m)
    step = max(1, _KNN_CHUNK_ELEMENTS // kk)
    index_dtype = _index_dtype((n, m))
    counts = np.empty(n, dtype=np.int64)
    col_parts, cost_parts = [], []
    for start in range(0, n, step):
        dist_c, idx_c = tree.query(o_space[start:start + step], k=kk,
                                   distance_upper_bound=bound, workers=-1)
        dist_c = dist_c.reshape(-1, kk)
        idx_c = idx_c.reshape(-1, kk)
        found = idx_c < m
        cost_c = to_cost(dist_c[found])
        if cutoff is not None:
            within = cost_c <= cutoff
            found[found] = within
            cost_c = cost_c[within]
        counts[start:start + len(idx_c)] = found.sum(axis=1)
        col_parts.append(idx_c[found].astype(index_dtype))
        cost_parts.append(cost_c)
        del dist_c, idx_c, found
    indptr: np.ndarray = np.zeros(n + 1, dtype=index_dtype)
    np.cumsum(counts, out=indptr[1:])
    matrix = sp.csr_matrix((np.concatenate(cost_parts), np.concatenate(col_parts), indptr),
                           shape=(n, m))
    matrix.sort_indices()  # in place; keeps explicit zeros
    return matrix


def _index_dtype(shape: tuple[int, int]) -> type:
    return np.int32 if max(shape) < np.iinfo(np.int32).max else np.int64


def csr_with_explicit_zeros(rows: np.ndarray, cols: np.ndarray, data: np.ndarray,
                            shape: tuple[int, int]) -> sp.csr_matrix:
    """Build a canonical CSR (sorted, no duplicates assumed) that keeps explicit zeros."""
    order = np.lexsort((cols, rows))
    rows, cols, data = rows[order], cols[order], data[order]
    index_dtype = _index_dtype(shape)
    indptr: np.ndarray = np.zeros(shape[0] + 1, dtype=index_dtype)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    matrix = sp.csr_matrix(
        (data.astype(np.float64, copy=False), cols.astype(index_dtype, copy=False), indptr),
        shape=shape,
    )
    matrix.has_sorted_indices = True
    return matrix

"""Connected components of an adjacency, and linking islands to the rest."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from components.adjacency.model import Adjacency, build_adjacency, ordered_labels
from components.costs._checks import as_points, check_length, check_metric, scalar
from components.costs.metrics import pair_distances, search_space


def components_report(adj: Adjacency, *, max_ids: int = 20,
                      max_components: int = 50) -> dict[str, Any]:
    """Connected components, largest first, ready for a JSON report.

    Returns
    -------
    dict
        ``count``; ``connected``; ``sizes`` (all sizes, largest first, up to
        ``max_components``); ``components``: for each of the first ``max_components``
        components ``{"size", "ids", "ids_truncated"}`` with the first ``max_ids`` ids in
        id order (equal sizes: by first id); ``components_not_listed``: how many were left out.
    """
    labels = adj.component_labels()
    count = adj.n_components()
    sizes = np.bincount(labels, minlength=count)
    listed = min(count, max_components)
    order = np.argsort(labels, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    parts: list[dict[str, Any]] = []
    for c in range(listed):
        # ids in id order (a table's row order is not the user's to rely on)
        ids = _in_id_order([scalar(v) for v in adj.ids[order[starts[c]:starts[c + 1]]]])
        parts.append({
            "size": int(sizes[c]),
            "ids": ids[:max_ids],
            "ids_truncated": bool(sizes[c] > max_ids),
        })
    parts.sort(key=lambda part: (-part["size"], _in_id_order(part["ids"])[:1]))
    return {
        "count": int(count),
        "connected": bool(count <= 1),
        "sizes": [int(s) for s in sizes[:listed]],
        "components": parts,
        "components_not_listed": int(count - listed),
    }


def _in_id_order(ids: list[Any]) -> list[Any]:
    """Numbers in numeric order, anything else by its text."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in ids):
        return sorted(ids)
    return sorted(ids, key=str)


def link_islands(adj: Adjacency, coords: Any, metric: str = "euclidean") -> Adjacency:
    """Connect every component by adding artificial edges between nearest units.

    Rounds, until one component is left: every component except the largest is
    linked by one edge from its unit nearest to any unit outside it, to that unit
    (ties to the lowest positions). Each round at least halves the number of
    non-largest components. New edges carry ``artificial=True`` and
    ``source='link_islands'``; their length is the straight-line distance (haversine
    km for lon/lat).

    Nearest foreign units are found with KD-trees, vectorised over units: one query
    against the largest component, then k-nearest queries among the other units with
    k doubling only for units whose k nearest are all in their own component and
    could still beat their component's best link.
    """
    check_metric(metric)
    points = as_points(coords, "coords", metric)
    check_length(points, adj.n_units, "coords", "adjacency ids")
    if adj.n_components() <= 1:
        return adj
    space = _unit_box(search_space(points, metric))
    labels = adj.component_labels()
    new_a, new_b = [], []
    while labels.max() > 0:
        a, b = _nearest_links(space, labels)
        new_a.append(a)
        new_b.append(b)
        n_labels = int(labels.max()) + 1
        links = sp.coo_matrix((np.ones(a.size), (labels[a], labels[b])),
                              shape=(n_labels, n_labels))
        _, merged = connected_components(links, directed=False)
        labels = ordered_labels(merged[labels])
    a, b = np.concatenate(new_a), np.concatenate(new_b)
    i, j = adj.edge_positions()
    length = pair_distances(points[a], points[b], metric, unit="km")
    return build_adjacency(
        adj.ids,
        np.concatenate([i, a]), np.concatenate([j, b]),
        np.concatenate([adj.edges["length"].to_numpy(dtype=np.float64), length]),
        np.concatenate([adj.edges["source"].to_numpy(dtype=object),
                        np.full(a.size, "link_islands", dtype=object)]),
        np.concatenate([adj.edges["artificial"].to_numpy(dtype=bool),
                        np.ones(a.size, dtype=bool)]),
    )


def _unit_box(space: np.ndarray) -> np.ndarray:
    """Translate and scale into [-1, 1]: nearest neighbours do not change, and KD-tree
    distances of coordinates near 1e300 no longer overflow to inf (which made the
    query answer "no neighbour" and the link an out-of-range index)."""
    lo, hi = space.min(axis=0), space.max(axis=0)
    mid = lo / 2 + hi / 2
    span = float(np.max(hi / 2 - lo / 2))
    return (space - mid) / span if span > 0 and np.isfinite(span) else space - mid


def _nearest_links(space: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each component but the largest (label 0): (its unit, nearest unit outside it)."""
    main = np.flatnonzero(labels == 0)
    others = np.flatnonzero(labels != 0)
    own = labels[others]
    best_d, nearest = cKDTree(space[main]).query(space[others], workers=-1)
    best_j = main[nearest]
    comp_best = np.full(int(labels.max()) + 1, np.inf)
    np.minimum.at(comp_best, own, best_d)

    if np.unique(own).size > 1:
        tree = cKDTree(space[others])
        active = np.arange(others.size)
        k = 8
        while active.size:
            kk = min(k, others.size)
            dist, idx = tree.query(space[others[active]], k=kk, workers=-1)
            dist, idx = dist.reshape(active.size, kk), idx.reshape(active.size, kk)
            foreign = own[idx] != own[active][:, None]
            hit = foreign.any(axis=1)
            col = foreign.argmax(axis=1)
            rows = active[hit]
            d_hit = dist[hit, col[hit]]
            j_hit = others[idx[hit, col[hit]]]
            better = d_hit < best_d[rows]
            best_d[rows[better]] = d_hit[better]
            best_j[rows[better]] = j_hit[better]
            np.minimum.at(comp_best, own[rows], d_hit)
            go_on = ~hit & (kk < others.size) & (dist[:, -1] < comp_best[own[active]])
            active = active[go_on]
            k *= 2

    order = np.lexsort((others, best_d, own))
    first = np.r_[True, own[order][1:] != own[order][:-1]]
    chosen = order[first]
    return others[chosen], best_j[chosen]

"""Independent oracles for the tests: contiguity by a plain breadth-first search.

Nothing here imports the product: a territory is contiguous when a BFS from one of its
units, walking only edges whose two ends are in the same territory, reaches all of its
units. Edges count in both directions whatever the input's orientation; self-loops and
repeated edges change nothing. tests/unit/test_oracles.py checks this module against
hand-made cases and networkx.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp


def pieces(edges: Iterable[tuple[Hashable, Hashable]],
           labels: Mapping[Hashable, Hashable]) -> dict[Hashable, int]:
    """Number of connected pieces of every territory named in ``labels`` (unit -> territory).

    Edges to units that are not in ``labels`` are ignored.
    """
    adj: dict[Hashable, set[Hashable]] = {u: set() for u in labels}
    for a, b in edges:
        if a in adj and b in adj and a != b and labels[a] == labels[b]:
            adj[a].add(b)
            adj[b].add(a)
    count: dict[Hashable, int] = {}
    seen: set[Hashable] = set()
    for start in labels:
        if start in seen:
            continue
        territory = labels[start]
        count[territory] = count.get(territory, 0) + 1
        seen.add(start)
        todo = deque([start])
        while todo:
            for w in adj[todo.popleft()]:
                if w not in seen:
                    seen.add(w)
                    todo.append(w)
    return count


def split_territories(edges: Iterable[tuple[Hashable, Hashable]],
                      labels: Mapping[Hashable, Hashable]) -> list[Hashable]:
    """Territories in more than one piece (sorted by their text)."""
    return sorted((t for t, k in pieces(edges, labels).items() if k > 1), key=str)


def graph_pairs(graph: sp.spmatrix) -> list[tuple[int, int]]:
    """The (row, col) pairs of a sparse adjacency's stored nonzero entries."""
    coo = sp.coo_matrix(graph)
    keep = coo.data != 0
    return list(zip(coo.row[keep].tolist(), coo.col[keep].tolist(), strict=True))


def array_split(graph: sp.spmatrix, labels: Any) -> list[int]:
    """Split territories of a label array (unit ``j`` in territory ``labels[j]``) on a
    sparse adjacency; ``[]`` when every territory is one piece."""
    lab = np.asarray(labels).tolist()
    return [int(t) for t in split_territories(graph_pairs(graph), dict(enumerate(lab)))]


def array_flags(graph: sp.spmatrix, labels: Any, m: int) -> np.ndarray:
    """``flags[t]`` True when territory ``t`` is one piece or empty (for comparing with a
    solver's own per-territory report)."""
    split = set(array_split(graph, labels))
    return np.array([t not in split for t in range(m)])


def frame_split(assignments: pd.DataFrame, edges: pd.DataFrame, *, id: str = "id",
                territory: str = "territory", source: str = "from_id",
                target: str = "to_id") -> list[Hashable]:
    """Split territories of an ``assignments`` table (unit id -> territory) on an edge table."""
    labels = dict(zip(assignments[id].tolist(), assignments[territory].tolist(), strict=True))
    pairs = zip(edges[source].tolist(), edges[target].tolist(), strict=True)
    return split_territories(pairs, labels)

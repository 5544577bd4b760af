"""The adjacency graph between units, and the one way every constructor builds it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike
from scipy.sparse.csgraph import connected_components

from components.errors import ParameterError

# A zero-length edge (units at the same place, a zero cost) is stored in the matrix as
# the smallest normal float64 so the edge is not mistaken for "no edge" by sparse code.
MIN_LENGTH = float(np.finfo(np.float64).tiny)
EDGE_COLUMNS = ("from_id", "to_id", "length", "artificial", "source")


@dataclass(frozen=True, eq=False)
class Adjacency:
    """Undirected adjacency between units.

    Attributes
    ----------
    ids : numpy.ndarray (n,)
        Unit ids; position ``i`` is row/column ``i`` of ``matrix``.
    matrix : scipy.sparse.csr_matrix (n, n)
        Symmetric; ``matrix[i, j] > 0`` is the length of edge ``i - j``
        (``MIN_LENGTH`` stands in for a true length of 0; ``edges`` keeps the 0).
    edges : pandas.DataFrame
        ``from_id, to_id, length, artificial, source``: each undirected edge once,
        ``from_id`` at the lower position, sorted by (from, to) position.
        ``artificial`` marks links added by :func:`link_islands`; ``source`` names
        the constructor (``edges``, ``delaunay``, ``rook``, ``queen``, ``h3``,
        ``road``, ``link_islands``).
    """

    ids: np.ndarray
    matrix: sp.csr_matrix
    edges: pd.DataFrame

    @property
    def n_units(self) -> int:
        """Number of units."""
        return len(self.ids)

    @cached_property
    def _labels(self) -> np.ndarray:
        if self.n_units == 0:
            return np.empty(0, dtype=np.int64)
        _, raw = connected_components(self.matrix, directed=False)
        return ordered_labels(raw)

    def n_components(self) -> int:
        """Number of connected components."""
        return int(self._labels.max()) + 1 if self.n_units else 0

    def component_labels(self) -> np.ndarray:
        """Component of each unit: 0 is the largest, ties go to the lowest first position."""
        return self._labels.copy()

    def neighbors(self, i: int) -> np.ndarray:
        """Positions of the neighbours of unit position ``i`` (``ids[...]`` gives ids)."""
        if not 0 <= int(i) < self.n_units:
            raise ParameterError(f"i must be a unit position in 0..{self.n_units - 1}; got {i}",
                                 column="i")
        start, end = self.matrix.indptr[i], self.matrix.indptr[i + 1]
        return self.matrix.indices[start:end].astype(np.int64)

    def edge_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions ``(i, j)``, ``i < j``, of the rows of ``edges``."""
        index = pd.Index(self.ids)
        return (index.get_indexer(self.edges["from_id"]),
                index.get_indexer(self.edges["to_id"]))


def ordered_labels(raw: np.ndarray) -> np.ndarray:
    """Relabel components so 0 is the largest; ties by lowest first member position."""
    sizes = np.bincount(raw)
    first = np.full(sizes.size, raw.size)
    np.minimum.at(first, raw, np.arange(raw.size))
    order = np.lexsort((first, -sizes))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[raw]


def build_adjacency(ids: np.ndarray, i: ArrayLike, j: ArrayLike, length: ArrayLike,
                    source: str | ArrayLike, artificial: ArrayLike | None = None
                    ) -> Adjacency:
    """Assemble an :class:`Adjacency` from position pairs.

    Pairs are made undirected (``i < j``) and self-pairs dropped. A pair given more
    than once keeps one row: a real edge before an artificial one, then the shorter.
    """
    n = len(ids)
    pi = np.asarray(i, dtype=np.int64)
    pj = np.asarray(j, dtype=np.int64)
    lengths = np.asarray(length, dtype=np.float64)
    sources = np.broadcast_to(np.asarray(source, dtype=object), pi.shape)
    is_artificial = (np.zeros(pi.shape, dtype=bool) if artificial is None
                     else np.asarray(artificial, dtype=bool))
    low, high = np.minimum(pi, pj), np.maximum(pi, pj)
    keep = low != high
    low, high, lengths = low[keep], high[keep], lengths[keep]
    sources, is_artificial = sources[keep], is_artificial[keep]
    order = np.lexsort((lengths, is_artificial, high, low))
    low, high, lengths = low[order], high[order], lengths[order]
    sources, is_artificial = sources[order], is_artificial[order]
    first = np.r_[True, (low[1:] != low[:-1]) | (high[1:] != high[:-1])] if low.size else \
        np.zeros(0, dtype=bool)
    low, high, lengths = low[first], high[first], lengths[first]
    sources, is_artificial = sources[first], is_artificial[first]

    stored = np.maximum(lengths, MIN_LENGTH)
    matrix = sp.csr_matrix(
        (np.concatenate([stored, stored]),
         (np.concatenate([low, high]), np.concatenate([high, low]))),
        shape=(n, n),
    )
    matrix.sort_indices()
    edges = pd.DataFrame({
        "from_id": ids[low],
        "to_id": ids[high],
        "length": lengths,
        "artificial": is_artificial,
        "source": sources.astype(str).astype(object),
    })
    return Adjacency(np.asarray(ids), matrix, edges)

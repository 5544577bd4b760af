"""Territory-unit pairs stored per unit: the sparse stand-in for (m, n) arrays.

After the search limit a unit reaches a dozen or two territories, not all ``m``, so
the solver keeps only those pairs, sorted by unit then territory (a CSR matrix by
unit). Memory is O(pairs), not O(m n): 1,000,000 units x 1,000 territories with ~15
pairs per unit is 15 M entries instead of 1 G.

:class:`PairArray` answers ``a[t, u]`` for arrays (or scalars) of territories and
units like a dense ``(m, n)`` array would, with a ``default`` for pairs not stored,
so the local search and the repair index it exactly as they index a dense array.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Pairs:
    """The stored (territory, unit) pairs; every unit has at least one."""

    def __init__(self, terr: np.ndarray, unit: np.ndarray, m: int, n: int) -> None:
        order = np.lexsort((terr, unit))
        self.t = np.asarray(terr, dtype=np.int64)[order]
        self.u = np.asarray(unit, dtype=np.int64)[order]
        self.m, self.n = int(m), int(n)
        self.key = self.u * self.m + self.t
        counts = np.bincount(self.u, minlength=n)
        if (counts == 0).any():
            raise ValueError("every unit needs at least one stored pair")
        self.indptr = np.r_[0, np.cumsum(counts)]
        self.order = order  # how the caller's arrays map onto the stored order
        self.full = len(self.t) == self.m * self.n

    def __len__(self) -> int:
        return len(self.t)

    def find(self, t: Any, u: Any) -> tuple[np.ndarray, np.ndarray]:
        """Positions of pairs ``(t, u)`` and whether each is stored."""
        key = np.asarray(u, dtype=np.int64) * self.m + np.asarray(t, dtype=np.int64)
        pos = np.searchsorted(self.key, key)
        pos = np.minimum(pos, len(self.key) - 1)
        return pos, self.key[pos] == key

    def row_min(self, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per unit, the smallest value and its territory (the lowest one on ties, as
        ``np.argmin`` over a dense column)."""
        low = np.minimum.reduceat(vals, self.indptr[:-1])
        hit = np.flatnonzero(vals == low[self.u])
        first = hit[np.r_[True, self.u[hit][1:] != self.u[hit][:-1]]]
        return low, self.t[first]

    def row_max(self, vals: np.ndarray) -> np.ndarray:
        return np.maximum.reduceat(vals, self.indptr[:-1])

    def dense(self, vals: np.ndarray, default: Any) -> np.ndarray:
        out = np.full((self.m, self.n), default, dtype=np.asarray(vals).dtype)
        out[self.t, self.u] = vals
        return out


class PairArray:
    """Values on :class:`Pairs`, indexed ``a[t, u]`` like a dense (m, n) array."""

    def __init__(self, pairs: Pairs, vals: np.ndarray, default: Any) -> None:
        self.pairs, self.vals, self.default = pairs, vals, default
        self.shape = (pairs.m, pairs.n)

    def __getitem__(self, key: tuple[Any, Any]) -> Any:
        t, u = key
        pos, found = self.pairs.find(t, u)
        out = np.where(found, self.vals[pos], self.default)
        return out if np.ndim(out) else out[()]

    def with_values(self, vals: np.ndarray, default: Any = None) -> PairArray:
        return PairArray(self.pairs, vals, self.default if default is None else default)

    def absmax(self) -> float:
        """``np.abs(a).max()`` of the dense array this stands for."""
        top = float(np.abs(self.vals).max()) if len(self.vals) else 0.0
        return top if self.pairs.full else max(top, abs(float(self.default)))

    def dense(self) -> np.ndarray:
        return self.pairs.dense(self.vals, self.default)


def absmax(a: np.ndarray | PairArray) -> float:
    return a.absmax() if isinstance(a, PairArray) else float(np.abs(a).max())

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


def piece_ids(edges: Iterable[tuple[Hashable, Hashable]],
              labels: Mapping[Hashable, Hashable]) -> dict[Hashable, int]:
    """Unit -> the index of its connected piece (pieces of all territories numbered 0, 1, ...
    in the order their first unit appears in ``labels``). Edges to units that are not in
    ``labels`` are ignored."""
    adj: dict[Hashable, set[Hashable]] = {u: set() for u in labels}
    for a, b in edges:
        if a in adj and b in adj and a != b and labels[a] == labels[b]:
            adj[a].add(b)
            adj[b].add(a)
    piece: dict[Hashable, int] = {}
    for start in labels:
        if start in piece:
            continue
        k = len(set(piece.values()))
        piece[start] = k
        todo = deque([start])
        while todo:
            for w in adj[todo.popleft()]:
                if w not in piece:
                    piece[w] = k
                    todo.append(w)
    return piece


def pieces(edges: Iterable[tuple[Hashable, Hashable]],
           labels: Mapping[Hashable, Hashable]) -> dict[Hashable, int]:
    """Number of connected pieces of every territory named in ``labels`` (unit -> territory)."""
    first: dict[int, Hashable] = {}
    for unit, k in piece_ids(edges, labels).items():
        first.setdefault(k, labels[unit])
    count: dict[Hashable, int] = {}
    for territory in first.values():
        count[territory] = count.get(territory, 0) + 1
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


# -- p-median by enumeration ------------------------------------------------------------------

def pmedian_brute(costs: np.ndarray, p: int, *, fixed: np.ndarray | None = None,
                  eligible: np.ndarray | None = None, opening: np.ndarray | None = None,
                  budget: float | None = None, budget_cost: np.ndarray | None = None,
                  group: np.ndarray | None = None, group_max: np.ndarray | None = None
                  ) -> tuple[float, list[tuple[int, ...]]]:
    """Optimum of ``sum_i min_{j open} C_ij + sum_{j open} f_j`` over every feasible set of
    exactly ``p`` sites, and every set reaching it; ``(inf, [])`` when none is feasible."""
    import itertools

    m = costs.shape[1]
    fixed = np.zeros(m, bool) if fixed is None else np.asarray(fixed, bool)
    eligible = np.ones(m, bool) if eligible is None else np.asarray(eligible, bool)
    allowed = eligible | fixed
    values: dict[tuple[int, ...], float] = {}
    for s in itertools.combinations(range(m), p):
        idx = list(s)
        if not fixed[np.setdiff1d(np.arange(m), idx)].any() and allowed[idx].all():
            if budget is not None and budget_cost is not None \
                    and budget_cost[idx].sum() > budget * (1 + 1e-12):
                continue
            if group is not None and group_max is not None:
                g = group[idx]
                if (np.bincount(g[g >= 0], minlength=len(group_max)) > group_max).any():
                    continue
            extra = 0.0 if opening is None else float(opening[idx].sum())
            values[s] = float(costs[:, idx].min(axis=1).sum()) + extra
    if not values:
        return np.inf, []
    best = min(values.values())
    return best, [s for s, v in values.items() if v <= best + 1e-9 * max(1.0, abs(best))]


def lagrangian_value(costs: np.ndarray, u: np.ndarray, p: int, *, fixed: np.ndarray,
                     eligible: np.ndarray, opening: np.ndarray | None = None) -> float:
    """Beasley's ``L(u)`` for the p-median, by enumerating the site choices (budget and
    group limits relaxed): ``sum u + min_y sum_j y_j (f_j + sum_i min(0, C_ij - u_i))``."""
    import itertools

    m = costs.shape[1]
    rho = np.minimum(costs - u[:, None], 0.0).sum(axis=0)
    if opening is not None:
        rho = rho + opening
    allowed = eligible | fixed
    best = min(rho[list(s)].sum() for s in itertools.combinations(range(m), p)
               if allowed[list(s)].all() and fixed[list(s)].sum() == fixed.sum())
    return float(u.sum() + best)


def pmedian_lp(costs: np.ndarray, p: int, opening: np.ndarray | None = None) -> float:
    """The LP relaxation of the p-median (x_ij <= y_j, sum_j x_ij = 1, sum y = p), by HiGHS
    through scipy: the value the Lagrangian dual of the assignment rows converges to."""
    from scipy.optimize import linprog

    n, m = costs.shape
    c = np.r_[costs.ravel(), np.zeros(m) if opening is None else opening]
    rows, cols, vals = [], [], []
    for i in range(n):
        for j in range(m):  # x_ij - y_j <= 0
            r = i * m + j
            rows += [r, r]
            cols += [i * m + j, n * m + j]
            vals += [1.0, -1.0]
    a_ub = sp.csr_matrix((vals, (rows, cols)), shape=(n * m, n * m + m))
    eq_rows = [i for i in range(n) for _ in range(m)] + [n] * m
    eq_cols = list(range(n * m)) + list(range(n * m, n * m + m))
    a_eq = sp.csr_matrix((np.ones(len(eq_cols)), (eq_rows, eq_cols)), shape=(n + 1, n * m + m))
    res = linprog(c, A_ub=a_ub, b_ub=np.zeros(n * m), A_eq=a_eq, b_eq=np.r_[np.ones(n), p],
                  bounds=(0, 1), method="highs")
    assert res.status == 0, res.message
    return float(res.fun)

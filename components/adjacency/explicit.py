"""Adjacency from an explicit edge table between unit ids."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from components.adjacency.model import Adjacency, build_adjacency
from components.costs._checks import (
    as_ids,
    as_points,
    check_length,
    check_metric,
    numeric_column,
    require_columns,
)
from components.costs.metrics import pair_distances
from components.errors import InputError, MissingValueError, UnknownIdError, preview


def from_edges(ids: Any, edges_df: pd.DataFrame, *, from_col: str = "from_id",
               to_col: str = "to_id", cost_col: str | None = None, coords: Any = None,
               metric: str = "euclidean") -> Adjacency:
    """Adjacency from a table of neighbouring unit pairs.

    Parameters
    ----------
    ids : array_like (n,)
        Unit ids, unique; their order is the row order of the result.
    edges_df : pandas.DataFrame
        One row per neighbouring pair (either direction; ``a-b`` and ``b-a`` are the
        same edge).
    cost_col : str or None
        Edge length column (>= 0). Without it the length is the straight-line
        distance between the units' ``coords`` (haversine in km for
        ``metric='haversine'``), and without coords every edge has length 1 (hops).
    coords : array_like (n, 2) or None
        Unit coordinates in ``ids`` order.

    Raises
    ------
    MissingColumnError, MissingValueError, UnknownIdError, NegativeValueError, InputError
        Missing columns or ids; ids not in ``ids`` (named, with their rows);
        self-loops; NaN or negative costs; the same pair given with different costs
        (exact repeats are merged).
    """
    ids = as_ids(ids)
    check_metric(metric)
    required = [from_col, to_col] + ([cost_col] if cost_col is not None else [])
    require_columns(edges_df, required, "edges")
    for col in (from_col, to_col):
        missing = edges_df[col].isna().to_numpy()
        if missing.any():
            rows = edges_df.index[missing]
            raise MissingValueError(
                f"column {col!r} has missing unit ids in rows {preview(rows)}; drop these "
                "edges or fill in their ids",
                column=col, rows=rows.tolist(),
            )
    index = pd.Index(ids)
    i = index.get_indexer(edges_df[from_col])
    j = index.get_indexer(edges_df[to_col])
    for col, pos in ((from_col, i), (to_col, j)):
        unknown = pos < 0
        if unknown.any():
            rows = edges_df.index[unknown]
            values = pd.unique(edges_df[col].to_numpy()[unknown])
            raise UnknownIdError(
                f"column {col!r} refers to {len(values)} unit id(s) that are not in ids: "
                f"{preview(values)} (rows {preview(rows)}); add these units or drop the edges",
                column=col, rows=rows.tolist(),
            )
    loops = i == j
    if loops.any():
        rows = edges_df.index[loops]
        raise InputError(
            f"edges has self-loops (a unit adjacent to itself) in rows {preview(rows)} for "
            f"ids {preview(pd.unique(ids[i[loops]]))}; drop these rows",
            column=from_col, rows=rows.tolist(),
        )

    if cost_col is not None:
        length = numeric_column(edges_df, cost_col)
    elif coords is not None:
        points = as_points(coords, "coords", metric)
        check_length(points, len(ids), "coords", "ids")
        length = pair_distances(points[i], points[j], metric, unit="km")
    else:
        length = np.ones(len(edges_df))
    if cost_col is not None:
        _check_conflicts(ids, edges_df, i, j, length, cost_col)
    return build_adjacency(ids, i, j, length, "edges")


def _check_conflicts(ids: np.ndarray, edges_df: pd.DataFrame, i: np.ndarray, j: np.ndarray,
                     length: np.ndarray, cost_col: str) -> None:
    low, high = np.minimum(i, j), np.maximum(i, j)
    pairs = pd.DataFrame({"low": low, "high": high, "length": length,
                          "row": np.arange(len(low))})
    grouped = pairs.groupby(["low", "high"])["length"]
    spread = grouped.transform("max") - grouped.transform("min")
    bad = spread.to_numpy() > 0
    if bad.any():
        clash = pairs[bad].drop_duplicates(["low", "high"])
        named = list(zip(ids[clash["low"]].tolist(), ids[clash["high"]].tolist(), strict=True))
        rows = edges_df.index[pairs["row"][bad]]
        raise InputError(
            f"{len(clash)} unit pair(s) appear more than once with different {cost_col!r}: "
            f"{preview(named)} in rows {preview(rows)}; keep one row per pair (a-b and b-a "
            "are the same edge)",
            column=cost_col, rows=rows.tolist(),
        )

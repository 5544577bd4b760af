"""Adjacency of H3 cells (hexagons sharing an edge); needs h3."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from components.adjacency._optional import require
from components.adjacency.model import Adjacency, build_adjacency
from components.costs._checks import as_ids, check_length
from components.costs.metrics import pair_distances
from components.errors import DuplicateIdError, InputError, preview


def from_h3(ids: Any, cells: Any) -> Adjacency:
    """Adjacency of H3 cells: two given cells are adjacent when they are grid neighbours.

    Neighbours come from ``h3.grid_disk(cell, 1)`` (pentagons included); only cells in
    ``cells`` count. Edge length is the great-circle distance between cell centres, km.

    Parameters
    ----------
    ids : array_like (n,)
        Unit ids.
    cells : array_like (n,)
        H3 cell index of each unit, as hex strings or 64-bit integers, all of one
        resolution.

    Raises
    ------
    InputError
        h3 missing (``pip install 'terraplan[geo]'``); invalid cells; mixed
        resolutions; the same cell for two units (DuplicateIdError).
    """
    h3 = require("h3", "from_h3")
    ids = as_ids(ids)
    raw = np.asarray(cells)
    check_length(raw, len(ids), "cells", "ids")
    if np.issubdtype(raw.dtype, np.integer):
        text = [h3.int_to_str(int(c)) for c in raw]
    else:
        text = [c.strip().lower() if isinstance(c, str) else "" for c in raw]
    invalid = np.flatnonzero([not (c and h3.is_valid_cell(c)) for c in text])
    if invalid.size:
        raise InputError(
            f"cells rows {preview(invalid)} (ids {preview(ids[invalid])}) hold values that are "
            f"not valid H3 cells: {preview(raw[invalid])}; fix or drop these units",
            column="cells", rows=invalid.tolist(),
        )
    series = pd.Series(text)
    repeated = series[series.duplicated(keep=False)]
    if len(repeated):
        raise DuplicateIdError(
            f"cells {preview(pd.unique(repeated.to_numpy()))} belong to more than one unit "
            f"(ids {preview(ids[repeated.index])}); aggregate units to one row per cell",
            column="cells", rows=repeated.index.tolist(),
        )
    resolution = np.array([h3.get_resolution(c) for c in text])
    if resolution.size and (resolution != resolution[0]).any():
        values, counts = np.unique(resolution, return_counts=True)
        common = values[np.argmax(counts)]
        odd = np.flatnonzero(resolution != common)
        raise InputError(
            f"cells mix H3 resolutions {preview(values)}; rows {preview(odd)} (ids "
            f"{preview(ids[odd])}) are not at resolution {common}: convert all cells to one "
            "resolution (h3 cell_to_parent / cell_to_children)",
            column="cells", rows=odd.tolist(),
        )

    rings = [[n for n in h3.grid_disk(c, 1) if n != c] for c in text]
    origin = np.repeat(np.arange(len(text)), [len(r) for r in rings])
    target = pd.Index(text).get_indexer([n for r in rings for n in r])
    present = target >= 0
    i, j = origin[present], target[present]
    centres = np.array([h3.cell_to_latlng(c)[::-1] for c in text], dtype=np.float64)
    centres = centres.reshape(-1, 2)
    length = pair_distances(centres[i], centres[j], "haversine", unit="km")
    return build_adjacency(ids, i, j, length, "h3")

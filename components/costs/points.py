"""Point tables of the cost-matrix component and the checks the road and straight-line
paths share (a module below both, so neither imports the other)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from components.errors import ParameterError
from components.scu import SCUColumns

_MAX_EXAMPLES = 20
_MAX_LISTED = 100


@dataclass(frozen=True)
class PointTable:
    """A validated points table: ids, and coordinates when it has (or needs) them."""

    ids: np.ndarray
    coords: np.ndarray | None
    kind: str | None  # 'planar' | 'lonlat' | None (ids only)
    columns: SCUColumns | None


def _check_size(n: int, m: int, max_pairs: int) -> None:
    if n * m > max_pairs:
        raise ParameterError(
            f"{n:,} x {m:,} = {n * m:,} pairs exceed max_pairs={max_pairs:,}: pass --k N "
            "(nearest destinations only) or --cutoff C for a sparse table, or raise "
            "--max-pairs", column="max_pairs")


def as_text_ids(values: Any) -> pd.Series:
    """Ids as text the way the CLI reads them (``3.0`` -> ``'3'``); missing stay missing."""
    series = pd.Series(values)
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu":  # one conversion
        return pd.Series(series.to_numpy().astype(str).astype(object), index=series.index)
    # a road network repeats each node id in several edges: convert each distinct id once
    raw = series.astype(object).to_numpy()
    codes, uniques = pd.factorize(raw)
    text = np.array([str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
                     for v in uniques] + [None], dtype=object)
    out = text[codes]
    out[codes < 0] = raw[codes < 0]
    return pd.Series(out, index=series.index)

"""Cost matrices as long tables (origin_id, destination_id, cost) for the warehouse."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from components.costs._checks import check_length
from components.errors import MissingValueError, NegativeValueError, ParameterError, preview


class LongTable(NamedTuple):
    """Result of :func:`to_long_table`; unpacks as ``table, n_unreachable = ...``.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns ``origin_id``, ``destination_id``, ``cost`` (float64), one row per
        reachable pair, row-major (by origin position, then destination position).
    n_unreachable : int
        Number of pairs dropped because their cost was ``inf`` (unreachable).
    """

    table: pd.DataFrame
    n_unreachable: int


def to_long_table(costs: Any, origin_ids: Any, destination_ids: Any) -> LongTable:
    """Flatten a cost matrix into a long table, dropping unreachable (``inf``) pairs.

    Parameters
    ----------
    costs : numpy.ndarray (n, m) or scipy.sparse matrix (n, m)
        Dense: every pair is a row. Sparse: every *stored* entry is a row, explicit
        zeros included (a stored 0 is a real zero cost); absent entries are not pairs.
    origin_ids, destination_ids : array_like, length n and m
        Ids in matrix row / column order; their dtypes are kept in the output.

    Returns
    -------
    LongTable
        ``(table, n_unreachable)``; see :class:`LongTable`.

    Examples
    --------
    >>> table, dropped = to_long_table(np.array([[1.0, np.inf]]), ["a"], ["x", "y"])
    >>> table.to_dict("records"), dropped
    ([{'origin_id': 'a', 'destination_id': 'x', 'cost': 1.0}], 1)
    """
    origin_ids = np.asarray(origin_ids)
    destination_ids = np.asarray(destination_ids)
    if sp.issparse(costs):
        csr = costs.tocsr()
        if not csr.has_sorted_indices:
            csr = csr.copy()  # sort a copy: never reorder the caller's matrix
            csr.sort_indices()
        n, m = csr.shape
        rows = np.repeat(np.arange(n), np.diff(csr.indptr))
        cols = csr.indices.astype(np.int64)
        values = np.asarray(csr.data, dtype=np.float64)
    else:
        dense = np.asarray(costs, dtype=np.float64)
        if dense.ndim != 2:
            raise ParameterError(f"costs must be a 2-D matrix; got shape {dense.shape}",
                                 column="costs")
        n, m = dense.shape
        rows = np.repeat(np.arange(n), m)
        cols = np.tile(np.arange(m), n)
        values = dense.ravel()
    check_length(origin_ids, n, "origin_ids", "the cost matrix's rows")
    check_length(destination_ids, m, "destination_ids", "the cost matrix's columns")

    bad = np.isnan(values) | (values == -np.inf)
    if bad.any():
        cells = list(zip(origin_ids[rows[bad]][:5].tolist(), destination_ids[cols[bad]][:5]
                         .tolist(), strict=True))
        raise MissingValueError(
            f"costs contain {int(bad.sum())} NaN or -inf values, e.g. for (origin, destination) "
            f"{preview(cells)}; use +inf for unreachable pairs",
            column="cost", rows=cells,
        )
    negative = values < 0
    if negative.any():
        cells = list(zip(origin_ids[rows[negative]][:5].tolist(),
                         destination_ids[cols[negative]][:5].tolist(), strict=True))
        raise NegativeValueError(
            f"costs contain {int(negative.sum())} negative values, e.g. for (origin, "
            f"destination) {preview(cells)}; costs must be >= 0",
            column="cost", rows=cells,
        )
    reachable = np.isfinite(values)
    n_unreachable = int(values.size - reachable.sum())
    if n_unreachable:
        rows, cols, values = rows[reachable], cols[reachable], values[reachable]
    table = pd.DataFrame({
        "origin_id": origin_ids[rows],
        "destination_id": destination_ids[cols],
        "cost": values,
    })
    return LongTable(table, n_unreachable)

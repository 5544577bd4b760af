"""Validation helpers shared by the cost and adjacency modules.

Every check raises an :class:`~components.errors.InputError` subclass whose message
names the argument, the offending rows and what to do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from components.errors import (
    CoordinateRangeError,
    DuplicateIdError,
    InputError,
    MissingColumnError,
    MissingValueError,
    NegativeValueError,
    ParameterError,
    preview,
)

METRICS = ("euclidean", "haversine")
UNITS = ("km", "mi")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0", ""}


def scalar(value: Any) -> Any:
    """A numpy scalar as the plain Python value (for messages and JSON)."""
    return value.item() if isinstance(value, np.generic) else value


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise :class:`ParameterError`."""
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ParameterError(
            f"{name} must be one of {allowed}; got {value!r}", column=name
        )
    return value


def check_metric(metric: Any) -> str:
    """Validate a metric name: ``'euclidean'`` (planar x, y) or ``'haversine'`` (lon, lat)."""
    return check_choice(metric, "metric", METRICS)


def check_unit(unit: Any) -> str:
    """Validate a distance unit for great-circle distances: ``'km'`` or ``'mi'``."""
    return check_choice(unit, "unit", UNITS)


def check_positive(value: Any, name: str, *, allow_zero: bool = False,
                   allow_none: bool = False) -> float | None:
    """Return ``value`` as a finite float > 0 (or >= 0), else raise :class:`ParameterError`."""
    if value is None and allow_none:
        return None
    bound = ">= 0" if allow_zero else "> 0"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name} must be a finite number {bound}; got {value!r}",
                             column=name)
    number = float(value)
    if not np.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise ParameterError(f"{name} must be a finite number {bound}; got {value!r}",
                             column=name)
    return number


def as_points(values: Any, name: str, metric: str = "euclidean") -> np.ndarray:
    """Return ``values`` as a float64 ``(n, 2)`` array of finite coordinates.

    For ``metric='haversine'`` the columns are longitude and latitude in degrees and
    must lie in [-180, 180] and [-90, 90].
    """
    try:
        points = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{name} must hold numeric coordinates; converting it failed: {exc}",
            column=name,
        ) from None
    if points.ndim == 1 and points.size == 0:
        points = points.reshape(0, 2)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ParameterError(
            f"{name} must be an (n, 2) array of x, y (or lon, lat) coordinates; "
            f"got shape {points.shape}",
            column=name,
        )
    bad = np.flatnonzero(~np.isfinite(points).all(axis=1))
    if bad.size:
        raise MissingValueError(
            f"{name} has missing or infinite coordinates in rows {preview(bad)}; "
            "drop these rows or fill in their coordinates",
            column=name, rows=bad.tolist(),
        )
    if metric == "haversine":
        lon, lat = points[:, 0], points[:, 1]
        bad = np.flatnonzero((np.abs(lon) > 180.0) | (np.abs(lat) > 90.0))
        if bad.size:
            sample = preview([tuple(p) for p in points[bad].tolist()])
            raise CoordinateRangeError(
                f"{name} rows {preview(bad)} are outside lon [-180, 180] / lat [-90, 90] "
                f"(values {sample}); columns must be (lon, lat) in degrees: check for "
                "swapped columns, or use metric='euclidean' for projected coordinates",
                column=name, rows=bad.tolist(),
            )
    return points


def as_ids(values: Any, name: str = "ids") -> np.ndarray:
    """Return ``values`` as a 1-D array of unique, non-null ids."""
    ids = np.asarray(values)
    if ids.ndim != 1:
        raise ParameterError(f"{name} must be one-dimensional; got shape {ids.shape}",
                             column=name)
    missing = np.flatnonzero(pd.isna(ids))
    if missing.size:
        raise MissingValueError(
            f"{name} has missing values in rows {preview(missing)}; every unit needs an id",
            column=name, rows=missing.tolist(),
        )
    series = pd.Series(ids)
    dup = series[series.duplicated(keep=False)]
    if len(dup):
        raise DuplicateIdError(
            f"{name} has repeated values {preview(pd.unique(dup.to_numpy()))} "
            f"(rows {preview(dup.index)}); ids must be unique: aggregate or rename these units",
            column=name, rows=dup.index.tolist(),
        )
    return ids


def check_length(array: np.ndarray, n: int, name: str, other: str) -> None:
    """Raise :class:`ParameterError` unless ``len(array) == n``."""
    if len(array) != n:
        raise ParameterError(
            f"{name} has {len(array)} rows but {other} has {n}; they must describe the "
            "same units in the same order",
            column=name,
        )


def require_columns(table: pd.DataFrame, columns: list[str], name: str) -> None:
    """Raise :class:`MissingColumnError` naming the absent columns and those present."""
    if not isinstance(table, pd.DataFrame):
        raise ParameterError(f"{name} must be a pandas DataFrame; got {type(table).__name__}",
                             column=name)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise MissingColumnError(
            f"{name} has no column {preview(missing)}; its columns are "
            f"{preview(list(table.columns), limit=20)}: rename the column or pass the "
            "matching *_col argument",
            column=missing[0],
        )


def parse_flags(values: pd.Series, column: str) -> np.ndarray:
    """Read a boolean column: bools, 0/1, or strings true/false/yes/no (any case)."""
    if values.dtype == bool:
        return values.to_numpy()
    text = values.astype("string").str.strip().str.lower()
    truthy = text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)
    falsy = text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)
    bad = ~(truthy | falsy) | values.isna().to_numpy()
    if bad.any():
        rows = values.index[bad]
        raise InputError(
            f"column {column!r} must be true/false (or 1/0, yes/no); rows {preview(rows)} "
            f"hold {preview(values[bad].tolist())}",
            column=column, rows=rows.tolist(),
        )
    return truthy


def numeric_column(table: pd.DataFrame, column: str, *, what: str = "costs") -> np.ndarray:
    """Column as float64, rejecting missing/non-numeric/infinite and negative values."""
    raw = table[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        rows = table.index[bad]
        raise MissingValueError(
            f"column {column!r} has missing, non-numeric or infinite {what} in rows "
            f"{preview(rows)} (values {preview(raw[bad].tolist())}); fill them in or drop "
            "these rows",
            column=column, rows=rows.tolist(),
        )
    negative = values < 0
    if negative.any():
        rows = table.index[negative]
        raise NegativeValueError(
            f"column {column!r} has negative {what} in rows {preview(rows)} "
            f"(values {preview(values[negative])}); {what} must be >= 0",
            column=column, rows=rows.tolist(),
        )
    return values

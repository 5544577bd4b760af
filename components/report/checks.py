"""Checks on what render_map is given: one-line errors naming the column and the fix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from components.errors import (
    CoordinateRangeError,
    DuplicateIdError,
    InputError,
    MissingColumnError,
    MissingValueError,
    ParameterError,
    preview,
)

COORD_COLUMNS: Mapping[str, tuple[str, str]] = {"lonlat": ("lon", "lat"), "planar": ("x", "y")}
MIN_WIDTH, MAX_WIDTH = 200, 10_000



def _check_parameters(
    units: object, coords: object, width: object, title: object, summary: object
) -> None:
    if not isinstance(units, pd.DataFrame):
        raise ParameterError(
            f"units must be a pandas DataFrame; got {type(units).__name__}", column="units"
        )
    if coords not in COORD_COLUMNS:
        raise ParameterError(
            f"coords must be one of {preview(COORD_COLUMNS)}; got {coords!r}", column="coords"
        )
    if (
        isinstance(width, bool)
        or not isinstance(width, (int, np.integer))
        or not (MIN_WIDTH <= width <= MAX_WIDTH)
    ):
        raise ParameterError(
            f"width must be an integer from {MIN_WIDTH} to {MAX_WIDTH} pixels; got {width!r}",
            column="width",
        )
    if not isinstance(title, str):
        raise ParameterError(f"title must be a string; got {type(title).__name__}", column="title")
    if summary is not None and not isinstance(summary, Mapping):
        raise ParameterError(
            f"summary must be a mapping of label to value; got {type(summary).__name__}",
            column="summary",
        )


def _require_columns(table: pd.DataFrame, name: str, required: Sequence[str], coords: str) -> None:
    missing = [c for c in required if c not in table.columns]
    if not missing:
        return
    message = (
        f"{name} is missing column(s) {preview(missing)}; "
        f"columns present: {preview(map(str, table.columns), limit=20) or 'none'}"
    )
    other = next(
        (k for k, cols in COORD_COLUMNS.items() if k != coords and set(cols) <= set(table.columns)),
        None,
    )
    if other and any(c in COORD_COLUMNS[coords] for c in missing):
        message += f". It has {'/'.join(COORD_COLUMNS[other])}: pass coords={other!r}"
    raise MissingColumnError(message, column=missing[0])


def _check_unique(ids: pd.Series, name: str, column: str) -> None:
    repeated = ids[ids.duplicated()].unique()
    if len(repeated):
        raise DuplicateIdError(
            f"{name}.{column} has repeated values: {preview(repeated)}",
            column=column,
            rows=list(repeated),
        )


def _coordinates(table: pd.DataFrame, name: str, columns: Sequence[str]) -> np.ndarray:
    for column in columns:
        try:
            table[column].to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise InputError(
                f"{name}.{column} must be numeric; got dtype {table[column].dtype}, "
                f"e.g. {preview(table[column].head(3))}",
                column=column,
            ) from None
    return table[list(columns)].to_numpy(dtype=float)


def _check_finite(xy: np.ndarray, ids: np.ndarray, columns: Sequence[str], name: str) -> None:
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        raise MissingValueError(
            f"{name} has missing or infinite {'/'.join(columns)} for id(s) {preview(ids[bad])}"
            f"{'' if name != 'units' else ' (and no wkt polygon to draw instead)'}",
            column=columns[0],
            rows=list(ids[bad]),
        )


def _check_lonlat(xy: np.ndarray) -> None:
    # Planar metres passed as lon/lat would otherwise draw as a meaningless smear.
    lon_bad = np.abs(xy[:, 0]) > 180
    lat_bad = np.abs(xy[:, 1]) > 90
    if lon_bad.any() or lat_bad.any():
        column, values = ("lon", xy[lon_bad, 0]) if lon_bad.any() else ("lat", xy[lat_bad, 1])
        raise CoordinateRangeError(
            f"{column} values outside the valid range, e.g. {preview(values)}; "
            "if these are projected x/y, pass coords='planar'",
            column=column,
        )

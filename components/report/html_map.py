"""A self-contained HTML map of territories: one file, inline SVG, nothing fetched.

The page must open on an offline laptop or in a locked-down browser, so there are
no tiles, CDNs, web fonts or external scripts: units are SVG paths (from WKT) or
circles (from points), coloured per territory, with a legend table and a summary.

Projection: lon/lat is drawn equirectangular with x scaled by cos(latitude at the
middle of the extent), which is good enough for a region; planar x/y is scaled
as is. Both have y pointing up (north) and are fitted to ``width`` with a margin.

Example::

    >>> import pandas as pd
    >>> units = pd.DataFrame({"id": [1, 2], "territory": ["A", "B"],
    ...                       "lon": [2.35, 2.40], "lat": [48.85, 48.86]})
    >>> page = render_map(units, title="Paris")
    >>> page.startswith("<!DOCTYPE html>") and "Paris" in page
    True
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components.errors import (
    EmptyTableError,
    MissingColumnError,
    MissingValueError,
    preview,
)
from components.report.checks import (
    COORD_COLUMNS,
    _check_finite,
    _check_lonlat,
    _check_parameters,
    _check_unique,
    _coordinates,
    _require_columns,
)
from components.report.colours import PALETTE as PALETTE  # public, re-exported
from components.report.colours import _assign_colours, _territory_adjacency
from components.report.details import _moved, _unit_titles
from components.report.page import UNASSIGNED_COLOUR as UNASSIGNED_COLOUR  # re-exported
from components.report.page import (
    _is_null,
    _legend,
    _page,
    balance_chart,
)
from components.report.svg import _fit_frame, _svg, _unit_shapes
from components.report.wkt import _unit_rings
from components.report.wkt import parse_wkt_rings as parse_wkt_rings  # public, re-exported

# ---------------------------------------------------------------------------- entry points


def render_map(
    units: pd.DataFrame,
    *,
    centers: pd.DataFrame | None = None,
    territories: pd.DataFrame | None = None,
    edges: pd.DataFrame | None = None,
    title: str = "terraplan territories",
    summary: Mapping[str, object] | None = None,
    coords: str = "lonlat",
    width: int = 960,
    balance: Mapping[str, float] | None = None,
) -> str:
    """Return a complete, self-contained HTML document showing the territories.

    ``units`` has one row per unit: ``id``, ``territory`` (NULL = unassigned) and
    ``lon``/``lat`` (``coords="lonlat"``) or ``x``/``y`` (``coords="planar"``); an
    optional ``wkt`` column holds POLYGON/MULTIPOLYGON text in the same coordinates,
    and a unit with NULL/empty wkt is drawn as a circle at its point. ``centers``
    (``id`` = territory id, plus coordinates) are drawn as labelled markers.
    ``territories`` (``territory`` + metric columns) fills the legend table.
    ``edges`` (``from_id``, ``to_id`` unit adjacency) makes neighbouring territories
    get different colours (greedy graph colouring). Same input, same bytes.

    Any other ``units`` columns (a ``name``, metrics, ``distance`` to the center,
    ``previous_territory``) are the unit's hover details; a boolean ``moved`` column
    outlines the units that changed territory. ``balance`` (metric -> tolerance, with
    ``<metric>_ratio`` columns in ``territories``) adds the balance chart: one bar per
    territory and metric against its tolerance band.
    """
    _check_parameters(units, coords, width, title, summary)
    xcol, ycol = COORD_COLUMNS[coords]
    _require_columns(units, "units", ("id", "territory", xcol, ycol), coords)
    if units.empty:
        raise EmptyTableError("units has no rows: there is nothing to draw", column="id")
    unit_ids = [_label(v) for v in units["id"]]
    if None in unit_ids:
        raise MissingValueError("units.id has NULL values; every unit needs an id", column="id")
    _check_unique(units["id"], "units", "id")
    unit_keys = [_label(v) for v in units["territory"]]

    rings = _unit_rings(units, unit_ids)
    points = _coordinates(units, "units", (xcol, ycol))
    needs_point = np.ones(len(units), dtype=bool)
    needs_point[rings.unit] = False
    _check_finite(points[needs_point], units["id"].to_numpy()[needs_point], (xcol, ycol), "units")

    center_xy, center_keys = _centers(centers, xcol, ycol, coords)
    legend_rows = _legend_rows(territories)
    keys = _ordered_keys([*unit_keys, *center_keys, *legend_rows])
    adjacency = _territory_adjacency(edges, units["id"], unit_keys) if edges is not None else None
    colours = _assign_colours(keys, adjacency)

    drawn = np.vstack([points[needs_point], rings.xy, center_xy])
    if coords == "lonlat":
        _check_lonlat(drawn)
    frame = _fit_frame(drawn, coords, width)
    shapes = _unit_shapes(rings, points, needs_point, frame)

    moved = _moved(units)
    svg = _svg(
        frame,
        shapes,
        _unit_titles(units, unit_ids, unit_keys, (xcol, ycol), territories, balance),
        unit_keys,
        keys,
        colours,
        frame.to_pixels(center_xy),
        center_keys,
        title,
        moved,
    )
    shown_columns = territories
    if balance and territories is not None:  # the chart shows the ratios
        shown_columns = territories.drop(columns=[f"{m}_ratio" for m in balance],
                                         errors="ignore")
    legend = _legend(keys, colours, unit_keys, legend_rows, shown_columns)
    chart = balance_chart(keys, colours, territories, balance) if balance else ""
    shown = dict(summary or {})
    if moved is not None:
        shown.setdefault("moved units", int(moved.sum()))
    return _page(title, shown, svg, legend + chart)


def write_map(path: str | os.PathLike[str], units: pd.DataFrame, **kwargs: Any) -> Path:
    """Render the map and write it to ``path`` atomically; return the path.

    The page is rendered before anything touches the disk, then written to a temp
    file in the same directory and swapped in with ``os.replace``, so a failed
    render or write leaves any previous map untouched and never a partial file.
    """
    return write_html(path, render_map(units, **kwargs))


def write_html(path: str | os.PathLike[str], page: str) -> Path:
    """Write a rendered page atomically (temp file in the same folder, then swap)."""
    page_bytes = page.encode("utf-8")
    target = Path(path)
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        # os.open with 0o666 lets the umask decide the mode, like a plain open() would.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            handle.write(page_bytes)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return target


# ---------------------------------------------------------------------------- territory keys


def _label(value: object) -> str | None:
    """Display text and join key for an id; None for NULL (an unassigned unit).

    Integral floats print as integers, so a territory column that became float
    (because of a NULL) still matches integer ids in the other tables.
    """
    if _is_null(value):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, np.generic):
        value = value.item()
    return str(value)


def _sort_key(key: str) -> tuple[int, float, str]:
    # Numeric ids in numeric order (2 before 10), everything else by text.
    try:
        number = float(key)
    except ValueError:
        return (1, 0.0, key)
    return (0, number, key) if math.isfinite(number) else (1, 0.0, key)


def _ordered_keys(labels: Sequence[str | None]) -> list[str]:
    return sorted({k for k in labels if k is not None}, key=_sort_key)


def _centers(
    centers: pd.DataFrame | None, xcol: str, ycol: str, coords: str
) -> tuple[np.ndarray, list[str]]:
    if centers is None:
        return np.empty((0, 2)), []
    _require_columns(centers, "centers", ("id", xcol, ycol), coords)
    xy = _coordinates(centers, "centers", (xcol, ycol))
    _check_finite(xy, centers["id"].to_numpy(), (xcol, ycol), "centers")
    labels = [_label(v) for v in centers["id"]]
    keys = [k for k in labels if k is not None]
    if len(keys) != len(labels):
        raise MissingValueError(
            "centers.id has NULL values; each center names its territory", column="id"
        )
    return xy, keys


def _legend_rows(territories: pd.DataFrame | None) -> dict[str, int]:
    """Row position of each territory in the ``territories`` table."""
    if territories is None:
        return {}
    if "territory" not in territories.columns:
        raise MissingColumnError(
            "territories is missing column 'territory'; columns present: "
            f"{preview(map(str, territories.columns), limit=20) or 'none'}",
            column="territory",
        )
    _check_unique(territories["territory"], "territories", "territory")
    labels = (_label(v) for v in territories["territory"])
    return {key: i for i, key in enumerate(labels) if key is not None}

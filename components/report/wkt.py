"""WKT polygons for the map: POLYGON and MULTIPOLYGON text to rings of coordinates.

A small reader (no shapely needed): rings are kept as given and drawn even-odd, so
holes stay holes whichever way they wind.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from components.errors import InputError
from components.report.page import _is_null


class _WktError(ValueError):
    """Why a WKT text could not be read; turned into an InputError with the unit id."""


_WKT_HEAD = re.compile(
    r"\s*(?:SRID=\d+;)?\s*(MULTIPOLYGON|POLYGON)\s*(?:ZM|Z|M)?\s*", re.IGNORECASE
)
_WKT_TOKEN = re.compile(r"\(|\)|[^()]+")


def parse_wkt_rings(text: str) -> list[np.ndarray]:
    """Every ring (outer and holes) of a POLYGON or MULTIPOLYGON as an (n, 2) array.

    Rings are returned flat: drawn with fill-rule evenodd, holes come out as holes
    and separate parts as separate parts, so the nesting is not needed. Z/M
    values are dropped. ``POLYGON EMPTY`` gives ``[]``.
    """
    head = _WKT_HEAD.match(text)
    if head is None:
        raise _WktError("expected POLYGON or MULTIPOLYGON")
    body = text[head.end() :].strip()
    if body.upper() == "EMPTY":
        return []
    tree = _nest(body)
    polygons = [tree] if head.group(1).upper() == "POLYGON" else tree
    rings = []
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise _WktError("wrong parenthesis nesting")
        for ring in polygon:
            if not (isinstance(ring, list) and len(ring) == 1 and isinstance(ring[0], str)):
                raise _WktError("wrong parenthesis nesting")
            rings.append(_parse_ring(ring[0]))
    return rings


def _nest(body: str) -> list[Any]:
    """Parenthesised text as nested lists whose leaves are coordinate strings."""
    stack: list[list[Any]] = [[]]
    for token in _WKT_TOKEN.findall(body):
        if token == "(":
            stack[-1].append([])
            stack.append(stack[-1][-1])
        elif token == ")":
            if len(stack) == 1:
                raise _WktError("unbalanced parentheses")
            stack.pop()
        elif token.strip() not in ("", ","):
            stack[-1].append(token.strip())
    if len(stack) != 1 or len(stack[0]) != 1 or not isinstance(stack[0][0], list):
        raise _WktError("unbalanced parentheses or text after the geometry")
    return stack[0][0]


def _parse_ring(text: str) -> np.ndarray:
    points = text.split(",")
    dims = {len(p.split()) for p in points}
    if len(dims) != 1 or not dims <= {2, 3, 4}:
        raise _WktError("each point needs 2 to 4 numbers, the same count for every point")
    try:
        values = np.array(text.replace(",", " ").split(), dtype=float)
    except ValueError:
        raise _WktError("a coordinate is not a number") from None
    xy = values.reshape(len(points), -1)[:, :2]
    if len(xy) < 3:
        raise _WktError("a ring needs at least 3 points")
    if not np.isfinite(xy).all():
        raise _WktError("a coordinate is NaN or infinite")
    return xy


@dataclass(frozen=True)
class _Rings:
    """All polygon rings of all units, concatenated so transforms are one numpy call."""

    xy: np.ndarray  # (n_vertices, 2)
    starts: np.ndarray  # (n_rings + 1,) offsets of each ring in xy
    unit: np.ndarray  # (n_rings,) row position of the unit a ring belongs to


def _unit_rings(units: pd.DataFrame, unit_ids: Sequence[str | None]) -> _Rings:
    arrays: list[np.ndarray] = []
    owners: list[int] = []
    if "wkt" in units.columns:
        for row, (uid, value) in enumerate(zip(unit_ids, units["wkt"], strict=True)):
            for ring in _read_wkt(value, uid):
                arrays.append(ring)
                owners.append(row)
    lengths = [len(a) for a in arrays]
    return _Rings(
        xy=np.vstack(arrays) if arrays else np.empty((0, 2)),
        starts=np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int64),
        unit=np.array(owners, dtype=np.int64),
    )


def _read_wkt(value: object, uid: str | None) -> list[np.ndarray]:
    """Rings of one unit's wkt cell; [] for NULL/blank/EMPTY (drawn as a point instead)."""
    value = getattr(value, "wkt", value)  # a shapely geometry, if someone passes one
    if _is_null(value):
        return []
    if not isinstance(value, str):
        raise InputError(
            f"column 'wkt' must hold WKT text; unit {uid!r} has a {type(value).__name__}",
            column="wkt",
            rows=[uid],
        )
    if not value.strip():
        return []
    try:
        return parse_wkt_rings(value)
    except _WktError as error:
        shown = value.strip()[:60] + ("..." if len(value.strip()) > 60 else "")
        raise InputError(
            f"column 'wkt': unit {uid!r} has WKT that cannot be read ({error}): {shown!r}",
            column="wkt",
            rows=[uid],
        ) from None



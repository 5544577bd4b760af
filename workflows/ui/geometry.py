"""Unit shapes for the browser: WKT polygons, H3 cells or points, packed flat.

The page draws every unit on one canvas, so shapes travel as three flat arrays
(``coords`` = x0, y0, x1, y1, ...; ``ring_start`` = first vertex of each ring;
``unit_ring`` = first ring of each unit) instead of one GeoJSON object per unit:
100,000 H3 cells are a few MB of numbers and one JSON parse.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from components.errors import InputError
from components.report.html_map import parse_wkt_rings

_H3_PATTERN = re.compile(r"^[0-9a-f]{15}$")
DIGITS = 6  # ~0.1 m in lon/lat: below anything a planner sees


@dataclass
class Shapes:
    kind: str  # "polygon", "h3" or "point"
    column: str | None  # where the shapes came from
    rings: list[list[np.ndarray]]  # per unit, its rings (empty for points)

    def packed(self, xy: np.ndarray) -> dict[str, Any]:
        """The flat arrays the page draws from (points: only ``x``/``y``)."""
        out: dict[str, Any] = {"kind": self.kind, "x": _round(xy[:, 0]), "y": _round(xy[:, 1])}
        if self.kind == "point":
            return out
        flat = [r for unit in self.rings for r in unit]
        per_unit = np.array([len(u) for u in self.rings], dtype=np.int64)
        lengths = np.array([len(r) for r in flat], dtype=np.int64)
        out["unit_ring"] = np.concatenate([[0], np.cumsum(per_unit)]).tolist()
        out["ring_start"] = np.concatenate([[0], np.cumsum(lengths)]).tolist()
        coords = np.vstack(flat) if flat else np.empty((0, 2))
        out["coords"] = _round(coords.ravel())
        return out


def _round(values: np.ndarray) -> list[float]:
    return np.round(values.astype(float), DIGITS).tolist()


def detect(units: pd.DataFrame, id_column: str, wkt: str | None = None,
           h3_column: str | None = None) -> Shapes:
    """Polygons from a WKT column, else H3 cells (a column of cell ids, or the ids
    themselves), else points."""
    if wkt is None and h3_column is None:
        wkt = next((c for c in units.columns if c.lower() in ("wkt", "geometry", "geom")
                    and _looks_like_wkt(units[c])), None)
        if wkt is None:
            h3_column = next((c for c in [id_column, *units.columns]
                              if c in units.columns and _looks_like_h3(units[c])), None)
    if wkt is not None:
        if wkt not in units.columns:
            raise InputError(f"no column '{wkt}' for shapes; columns: "
                             f"{', '.join(map(str, units.columns))}", column=wkt)
        return Shapes("polygon", wkt, [_wkt_rings(v, uid, wkt) for uid, v in
                                       zip(units[id_column], units[wkt], strict=True)])
    if h3_column is not None:
        return Shapes("h3", h3_column, _h3_rings(units[h3_column].astype(str).tolist()))
    return Shapes("point", None, [[] for _ in range(len(units))])


def _looks_like_wkt(values: pd.Series) -> bool:
    sample = values.dropna().astype(str).head(20)
    return len(sample) > 0 and all(s.lstrip().upper().startswith(("POLYGON", "MULTIPOLYGON"))
                                   for s in sample)


def _looks_like_h3(values: pd.Series) -> bool:
    sample = values.dropna().astype(str).head(20)
    return len(sample) > 0 and all(_H3_PATTERN.match(s) for s in sample)


def _wkt_rings(value: object, uid: object, column: str) -> list[np.ndarray]:
    if value is None or (isinstance(value, float) and np.isnan(value)) or not str(value).strip():
        return []
    try:
        return parse_wkt_rings(str(value))
    except ValueError as err:
        raise InputError(f"column '{column}': unit {uid!r} has WKT that cannot be read "
                         f"({err}); fix or blank that cell (blank draws a point)",
                         column=column, rows=[uid]) from None


def _h3_rings(cells: list[str]) -> list[list[np.ndarray]]:
    try:
        import h3
    except ImportError:
        raise InputError("H3 cells need the h3 package: pip install 'terraplan[geo]'",
                         column="h3") from None
    rings = []
    for cell in cells:
        if not h3.is_valid_cell(cell):
            raise InputError(f"'{cell}' is not a valid H3 cell id", column="h3", rows=[cell])
        rings.append([np.array(h3.cell_to_boundary(cell))[:, ::-1]])
    return rings


def geojson(shapes: Shapes, xy: np.ndarray, properties: list[dict[str, Any]]) -> str:
    """A FeatureCollection with one feature per unit (polygons keep their holes when
    shapely is installed; without it each ring is its own polygon)."""
    features = []
    source = shapes.column
    for i, props in enumerate(properties):
        if shapes.kind == "point" or not shapes.rings[i]:
            geometry: dict[str, Any] = {"type": "Point",
                                        "coordinates": [float(xy[i, 0]), float(xy[i, 1])]}
        else:
            geometry = {"type": "MultiPolygon", "coordinates": [
                [np.vstack([r, r[:1]]).round(DIGITS).tolist()] for r in shapes.rings[i]]}
        features.append({"type": "Feature", "id": props.get("id"), "properties": props,
                         "geometry": geometry})
    if shapes.kind == "polygon" and source is not None:
        _nest_holes(features)
    return json.dumps({"type": "FeatureCollection", "features": features})


def _nest_holes(features: list[dict[str, Any]]) -> None:
    try:
        import shapely
        from shapely.geometry import MultiPolygon, Polygon, mapping
    except ImportError:
        return
    for f in features:
        g = f["geometry"]
        if g["type"] != "MultiPolygon" or len(g["coordinates"]) < 2:
            continue
        polys = [Polygon(p[0]) for p in g["coordinates"]]
        merged = shapely.symmetric_difference_all(polys)  # evenodd: holes stay holes
        if isinstance(merged, Polygon):
            merged = MultiPolygon([merged])
        f["geometry"] = mapping(merged)

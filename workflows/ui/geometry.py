"""Unit shapes for the browser: WKT polygons, H3 cells or points, packed flat.

The page draws every unit on one canvas, so shapes travel as flat arrays
(``coords`` = x0, y0, x1, y1, ...; ``ring_start`` = first vertex of each ring;
``unit_ring`` = first ring of each unit) in one binary buffer (:func:`encode`) instead
of one GeoJSON object per unit: 100,000 H3 cells were 24 MB of JSON (about 1 CPU s to
encode and as much to parse and project in the page); as float32 they are 6.6 MB that
the page maps onto typed arrays without parsing.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from components.errors import InputError
from components.report.wkt import parse_wkt_rings

_H3_PATTERN = re.compile(r"^[0-9a-f]{15}$")
DIGITS = 6  # ~0.1 m in lon/lat: below anything a planner sees


@dataclass
class Shapes:
    kind: str  # "polygon", "h3" or "point"
    column: str | None  # where the shapes came from
    rings: list[list[np.ndarray]]  # per unit, its rings (empty for points)

    def binary(self, xy: np.ndarray, lonlat: bool, edges: np.ndarray) -> bytes:
        """Every unit's shape, pre-projected, as one little-endian buffer the page maps
        straight onto typed arrays (see :func:`encode`)."""
        per_unit = np.array([len(u) for u in self.rings], dtype=np.int64)
        flat = [r for unit in self.rings for r in unit]
        lengths = np.array([len(r) for r in flat], dtype=np.int64)
        coords = np.vstack(flat) if flat else np.empty((0, 2))
        return encode(self.kind, xy, coords, per_unit, lengths, lonlat, edges)


WORLD = 256.0  # Leaflet's zoom-0 world size in pixels
MAX_LAT = 85.0511287798
MAGIC = b"TPG1"


def project(xy: np.ndarray, lonlat: bool) -> np.ndarray:
    """To the page's zoom-0 world pixels: Web Mercator for lon/lat (Leaflet's EPSG:3857),
    (x, -y) for planar coordinates (Leaflet's CRS.Simple)."""
    if not lonlat:
        return np.column_stack([xy[:, 0], -xy[:, 1]])
    lat = np.radians(np.clip(xy[:, 1], -MAX_LAT, MAX_LAT))
    x = (xy[:, 0] + 180.0) / 360.0 * WORLD
    y = (1.0 - np.log(np.tan(lat) + 1.0 / np.cos(lat)) / np.pi) / 2.0 * WORLD
    return np.column_stack([x, y])


def encode(kind: str, xy: np.ndarray, coords: np.ndarray, rings_per_unit: np.ndarray,
           ring_lengths: np.ndarray, lonlat: bool, edges: np.ndarray) -> bytes:
    """The geometry wire format, ``TPG1``: magic, uint32 header length, a JSON header
    naming each array's dtype, offset and length, then the arrays (8-byte aligned).

    Positions are projected here once (numpy) instead of per vertex in the page, and
    sent as float32 offsets from the extent's corner: 4 bytes a number instead of ~11
    characters of JSON, exact to ~1e-6 of the map's extent, which is below a pixel up
    to street zoom for a country-wide map. ``lon``/``lat`` stay float64 for distances.
    """
    centers = project(xy, lonlat)
    world = project(coords, lonlat) if len(coords) else np.empty((0, 2))
    both = np.vstack([centers, world]) if len(world) else centers
    origin = both.min(0) if len(both) else np.zeros(2)
    arrays = {
        "lon": xy[:, 0].astype("<f8"), "lat": xy[:, 1].astype("<f8"),
        "cx": (centers[:, 0] - origin[0]).astype("<f4"),
        "cy": (centers[:, 1] - origin[1]).astype("<f4"),
        "unit_ring": np.concatenate([[0], np.cumsum(rings_per_unit)]).astype("<i4"),
        "ring_start": np.concatenate([[0], np.cumsum(ring_lengths)]).astype("<i4"),
        "coords": (world - origin).astype("<f4").ravel(),
        "edge_a": edges[:, 0].astype("<i4") if len(edges) else np.empty(0, "<i4"),
        "edge_b": edges[:, 1].astype("<i4") if len(edges) else np.empty(0, "<i4"),
    }
    layout, offset = [], 0
    for name, a in arrays.items():
        offset = -(-offset // 8) * 8
        layout.append({"name": name, "dtype": a.dtype.str[1:], "offset": offset,
                       "length": int(a.size)})
        offset += a.nbytes
    header = json.dumps({"kind": kind, "n": len(xy), "origin": [float(v) for v in origin],
                         "lonlat": lonlat, "arrays": layout}).encode()
    header += b" " * (-(len(header) + 8) % 8)  # arrays start 8-byte aligned
    out = bytearray(MAGIC + len(header).to_bytes(4, "little") + header)
    base = len(out)
    body = bytearray(offset)
    for spec, a in zip(layout, arrays.values(), strict=True):
        body[spec["offset"]:spec["offset"] + a.nbytes] = a.tobytes()
    return bytes(out[:base] + body)


def decode(buffer: bytes) -> dict[str, Any]:
    """The arrays of :func:`encode` (for tests and tools; the page has its own reader)."""
    if buffer[:4] != MAGIC:
        raise ValueError("not a TPG1 geometry buffer")
    size = int.from_bytes(buffer[4:8], "little")
    header = json.loads(buffer[8:8 + size])
    base = 8 + size
    arrays = {a["name"]: np.frombuffer(buffer, dtype="<" + a["dtype"], count=a["length"],
                                       offset=base + a["offset"]) for a in header["arrays"]}
    return {**header, "arrays": arrays}


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
        merged = functools.reduce(shapely.symmetric_difference, polys)  # even-odd: holes
        if isinstance(merged, Polygon):
            merged = MultiPolygon([merged])
        f["geometry"] = mapping(merged)

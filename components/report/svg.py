"""The map's drawing: data coordinates fitted to the page, and the SVG of units,
territory outlines and center markers (escaped text only; nothing is fetched)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from components.report.page import UNASSIGNED_COLOUR, _e
from components.report.wkt import _Rings

MARGIN = 16  # px around the drawing, so edge strokes and markers are not clipped

POINT_CLASS = ' class="pt"'  # units drawn as circles: a dark rim instead of the outline layer


# ---------------------------------------------------------------------------- projection


@dataclass(frozen=True)
class _Frame:
    """Data coordinates -> SVG pixels (y down), rounded to 0.1 px to keep files small."""

    kx: float  # x stretch: cos(latitude) for lon/lat, 1 for planar
    min_x: float  # after the stretch
    max_y: float
    scale: float  # pixels per (stretched) data unit
    left: float
    top: float
    width: int
    height: int

    def to_pixels(self, xy: np.ndarray) -> np.ndarray:
        px = np.empty((len(xy), 2))
        px[:, 0] = self.left + (xy[:, 0] * self.kx - self.min_x) * self.scale
        px[:, 1] = self.top + (self.max_y - xy[:, 1]) * self.scale
        return np.round(px, 1) + 0.0  # + 0.0 turns -0.0 into 0.0


def _fit_frame(xy: np.ndarray, coords: str, width: int) -> _Frame:
    """Fit the drawing into ``width`` (and at most as tall as wide), centred."""
    kx = 1.0
    if coords == "lonlat":
        kx = math.cos(math.radians((xy[:, 1].min() + xy[:, 1].max()) / 2))
    x = xy[:, 0] * kx
    min_x, max_x, min_y, max_y = x.min(), x.max(), xy[:, 1].min(), xy[:, 1].max()
    span_x, span_y = max_x - min_x, max_y - min_y
    if span_x <= 0 and span_y <= 0:  # one point: any scale will do, centre it
        span_x = span_y = 1.0
        min_x, max_y = min_x - 0.5, max_y + 0.5
    inner = width - 2 * MARGIN
    scale = min(
        inner / span_x if span_x > 0 else math.inf, inner / span_y if span_y > 0 else math.inf
    )
    height = math.ceil(span_y * scale) + 2 * MARGIN
    left = MARGIN + (inner - span_x * scale) / 2
    return _Frame(kx, float(min_x), float(max_y), float(scale), left, MARGIN, width, height)


# ---------------------------------------------------------------------------- SVG


def _number(v: float) -> str:
    # "12.0" -> "12": a quarter of a large map's bytes are trailing ".0".
    text = f"{v:.1f}"
    return text.removesuffix(".0")


def _unit_shapes(
    rings: _Rings, points: np.ndarray, needs_point: np.ndarray, frame: _Frame
) -> list[str]:
    """One SVG element per unit (ids u0, u1, ... by row) for <defs>."""
    paths = _ring_paths(rings, frame)
    radius = _point_radius(frame, int(needs_point.sum()))
    shapes = [""] * len(points)
    for row, d in paths.items():
        shapes[row] = f'<path id="u{row}" d="{d}"/>'
    rows = np.flatnonzero(needs_point)
    for row, (cx, cy) in zip(rows.tolist(), frame.to_pixels(points[rows]).tolist(), strict=True):
        shapes[row] = f'<circle id="u{row}" cx="{_number(cx)}" cy="{_number(cy)}" r="{radius}"/>'
    return shapes


def _ring_paths(rings: _Rings, frame: _Frame) -> dict[int, str]:
    """SVG path data per unit row: one "M x y x y ... Z" subpath per ring."""
    if len(rings.unit) == 0:
        return {}
    px = frame.to_pixels(rings.xy)
    starts, ends = rings.starts[:-1], rings.starts[1:]
    # After rounding, neighbouring vertices often coincide: drop repeats, and the
    # closing vertex (Z closes the ring), but never a ring's first vertex.
    keep = np.ones(len(px), dtype=bool)
    keep[1:] = (px[1:] != px[:-1]).any(axis=1)
    keep[starts] = True
    closing = (px[ends - 1] == px[starts]).all(axis=1) & (ends - 1 > starts)
    keep[ends[closing] - 1] = False
    counts = np.add.reduceat(keep.astype(np.int64), starts)
    coordinates = [f"{_number(x)} {_number(y)}" for x, y in px[keep].tolist()]
    paths: dict[int, list[str]] = {}
    offset = 0
    for row, count in zip(rings.unit.tolist(), counts.tolist(), strict=True):
        paths.setdefault(row, []).append("M" + " ".join(coordinates[offset : offset + count]) + "Z")
        offset += count
    return {row: "".join(parts) for row, parts in paths.items()}


def _point_radius(frame: _Frame, n_points: int) -> str:
    # About a third of the typical spacing, so dense point clouds do not merge.
    if n_points == 0:
        return "0"
    spacing = math.sqrt(frame.width * frame.height / n_points)
    return _number(min(8.0, max(1.5, 0.35 * spacing)))


def _svg(
    frame: _Frame,
    shapes: Sequence[str],
    titles: Sequence[str],
    unit_keys: Sequence[str | None],
    keys: Sequence[str],
    colours: Mapping[str, str],
    center_px: np.ndarray,
    center_keys: Sequence[str],
    title: str,
    moved: np.ndarray | None = None,
) -> str:
    """Units are defined once in <defs> and drawn twice per territory via <use>.

    First a thick dark stroke of every unit of the territory, then the fills on
    top: the fills hide the strokes inside the territory, so only its outline
    stays visible, a dissolve without computing polygon unions.
    """
    members: dict[str | None, list[int]] = {}
    for row, key in enumerate(unit_keys):
        members.setdefault(key, []).append(row)
    groups = []
    ordered: list[str | None] = [*keys, None]
    for t, key in enumerate(ordered):
        rows = members.get(key)
        if not rows:
            continue
        colour = colours.get(key, UNASSIGNED_COLOUR) if key is not None else UNASSIGNED_COLOUR
        is_polygon = [shapes[r].startswith("<path") for r in rows]
        edge = "".join(
            f'<use href="#u{r}"/>' for r, poly in zip(rows, is_polygon, strict=True) if poly
        )
        fill = "".join(
            f'<use href="#u{r}"{"" if poly else POINT_CLASS}>'
            f"<title>{_e(titles[r])}</title></use>"
            for r, poly in zip(rows, is_polygon, strict=True)
        )
        groups.append(
            f'<g class="territory" data-t="{t}"><g class="edge">{edge}</g>'
            f'<g class="fill" fill="{colour}">{fill}</g></g>'
        )
    if moved is not None and moved.any():  # dashed outlines over the fills
        groups.append('<g class="moved">' + "".join(
            f'<use href="#u{r}"/>' for r in np.flatnonzero(moved)) + "</g>")
    markers = "".join(
        _center_marker(x, y, key, colours)
        for (x, y), key in zip(center_px.tolist(), center_keys, strict=True)
    )
    return (
        f'<svg class="map" xmlns="http://www.w3.org/2000/svg" width="{frame.width}" '
        f'height="{frame.height}" viewBox="0 0 {frame.width} {frame.height}" role="img" '
        f'aria-label="{_e(title)}">\n<defs>\n'
        + "\n".join(shapes)
        + "\n</defs>\n"
        + "\n".join(groups)
        + f'\n<g class="centers">{markers}</g>\n</svg>'
    )


def _center_marker(x: float, y: float, key: str, colours: Mapping[str, str]) -> str:
    # A white diamond with a dark rim and a haloed label stands out on any fill colour;
    # the small inner square carries the territory colour for a center off its territory.
    return (
        f'<g class="center"><title>center of territory {_e(key)}</title>'
        f'<path d="M{_number(x)} {_number(y - 8)}l8 8-8 8-8-8z" fill="#fff"/>'
        f'<path d="M{_number(x)} {_number(y - 3.5)}l3.5 3.5-3.5 3.5-3.5-3.5z" '
        f'fill="{colours[key]}"/>'
        f'<text x="{_number(x + 10)}" y="{_number(y + 4)}">{_e(key)}</text></g>'
    )

"""The planner's binary geometry buffer: what the page maps onto typed arrays."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from workflows.ui.geometry import decode, detect


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    """Leaflet's EPSG:3857 at zoom 0, written out from the textbook formula."""
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    return (lon + 180) / 360 * 256, (1 - y / math.pi) / 2 * 256


def test_polygons_round_trip_projected_with_origin():
    units = pd.DataFrame({
        "id": ["a", "b", "c"], "lon": [-84.4, -83.5, -82.0], "lat": [33.7, 34.1, 32.0],
        "wkt": ["POLYGON ((-85 33, -84 33, -84 34, -85 34, -85 33))",
                "MULTIPOLYGON (((-84 33, -83 33, -83 35, -84 35, -84 33)), "
                "((-83.5 35.5, -83 35.5, -83 36, -83.5 35.5)))",
                None]})
    shapes = detect(units, "id")
    assert shapes.kind == "polygon"
    edges = np.array([[0, 1], [1, 2]])
    g = decode(shapes.binary(units[["lon", "lat"]].to_numpy(), True, edges))
    a, (ox, oy) = g["arrays"], g["origin"]
    assert g["n"] == 3 and g["kind"] == "polygon" and g["lonlat"] is True
    # unit 0: one ring, unit 1: two rings, unit 2 (no WKT): none, drawn as a point
    assert a["unit_ring"].tolist() == [0, 1, 3, 3]
    starts = a["ring_start"].tolist()
    assert starts[0] == 0 and len(starts) == 4
    xy = a["coords"].reshape(-1, 2).astype(float) + np.array([ox, oy])
    first = xy[starts[0]:starts[1]]
    corners = {(round(x, 4), round(y, 4)) for x, y in first}
    assert (round(_mercator(-85, 33)[0], 4), round(_mercator(-85, 33)[1], 4)) in corners
    for i, (lon, lat) in enumerate(zip(units["lon"], units["lat"], strict=True)):
        ex, ey = _mercator(lon, lat)
        assert a["cx"][i] + ox == pytest.approx(ex, abs=1e-5)
        assert a["cy"][i] + oy == pytest.approx(ey, abs=1e-5)
    assert a["lon"].tolist() == units["lon"].tolist()  # float64, untouched
    assert a["edge_a"].tolist() == [0, 1] and a["edge_b"].tolist() == [1, 2]
    # offsets from the corner of the extent: nothing negative, so float32 keeps precision
    assert a["coords"].min() >= 0 and a["cx"].min() >= 0


def test_planar_points_flip_y_and_have_no_rings():
    units = pd.DataFrame({"id": ["p", "q"], "x": [10.0, 20.0], "y": [5.0, 7.5]})
    shapes = detect(units, "id")
    g = decode(shapes.binary(units[["x", "y"]].to_numpy(), False, np.empty((0, 2))))
    a, (ox, oy) = g["arrays"], g["origin"]
    assert g["kind"] == "point"
    assert (a["cx"] + ox).tolist() == [10.0, 20.0]
    assert (a["cy"] + oy).tolist() == [-5.0, -7.5]  # Leaflet's CRS.Simple: y grows down
    assert len(a["coords"]) == 0 and len(a["edge_a"]) == 0


def test_h3_cells_are_hexagons_at_scale():
    h3 = pytest.importorskip("h3")
    cells = sorted(h3.grid_disk(h3.latlng_to_cell(39.0, -98.0, 7), 20))
    latlng = np.array([h3.cell_to_latlng(c) for c in cells])
    units = pd.DataFrame({"h3": cells, "lon": latlng[:, 1], "lat": latlng[:, 0]})
    shapes = detect(units, "h3")
    assert shapes.kind == "h3"
    buf = shapes.binary(units[["lon", "lat"]].to_numpy(), True, np.empty((0, 2)))
    g = decode(buf)
    a = g["arrays"]
    per_ring = np.diff(a["ring_start"])
    assert len(per_ring) == len(cells) and set(per_ring.tolist()) <= {5, 6}
    # 4 bytes a number: well under the ~24 bytes per vertex the JSON encoding took
    assert len(buf) < 8 * len(a["coords"]) + 40 * len(cells)

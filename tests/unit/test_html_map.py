"""The self-contained HTML territory map: geometry, colours, escaping, atomic writes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components.errors import (
    CoordinateRangeError,
    InputError,
    MissingColumnError,
    ParameterError,
    UnknownIdError,
)
from components.report import html_map, render_map, write_map
from components.report.html_map import PALETTE, parse_wkt_rings

REPO = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"


# ---------------------------------------------------------------------------- helpers


def square(x: float, y: float, size: float = 1.0) -> str:
    return f"(({x} {y}, {x + size} {y}, {x + size} {y + size}, {x} {y + size}, {x} {y}))"


def grid_units(
    nx: int = 4, ny: int = 3, *, coords: str = "planar", polygons: bool = True, territory=None
) -> pd.DataFrame:
    """nx * ny unit squares; territory = column index unless a function (i, j) -> id is given."""
    xcol, ycol = html_map.COORD_COLUMNS[coords]
    x0, y0, size = (10.0, 45.0, 0.1) if coords == "lonlat" else (0.0, 0.0, 1.0)
    rows = []
    for i in range(nx):
        for j in range(ny):
            x, y = x0 + i * size, y0 + j * size
            row = {
                "id": f"u{i}_{j}",
                "territory": territory(i, j) if territory else f"T{i}",
                xcol: x + size / 2,
                ycol: y + size / 2,
            }
            if polygons:
                row["wkt"] = "POLYGON " + square(x, y, size)
            rows.append(row)
    return pd.DataFrame(rows)


def rook_edges(nx: int, ny: int) -> pd.DataFrame:
    pairs = [(f"u{i}_{j}", f"u{i + 1}_{j}") for i in range(nx - 1) for j in range(ny)]
    pairs += [(f"u{i}_{j}", f"u{i}_{j + 1}") for i in range(nx) for j in range(ny - 1)]
    return pd.DataFrame(pairs, columns=["from_id", "to_id"])


def svg_of(page: str) -> ET.Element:
    """The <svg> element, parsed as XML: this also proves the SVG is well formed."""
    return ET.fromstring(page[page.index("<svg") : page.index("</svg>") + len("</svg>")])


def unit_shapes(page: str) -> dict[str, ET.Element]:
    """Unit id -> its <path>/<circle> in <defs>, joined through the tooltip titles."""
    svg = svg_of(page)
    defs = {el.get("id"): el for el in svg.find(f"{SVG}defs")}
    shapes = {}
    for use in svg.iter(f"{SVG}use"):
        title = use.find(f"{SVG}title")
        if title is not None:
            unit = title.text.split("\n")[0].removeprefix("unit ")
            shapes[unit] = defs[use.get("href")[1:]]
    return shapes


def fills_by_territory(page: str) -> dict[str, str]:
    fills = {}
    for group in svg_of(page).iter(f"{SVG}g"):
        if group.get("class") == "fill":
            names = {t.text.split("\nterritory ")[1] for t in group.iter(f"{SVG}title")}
            assert len(names) == 1, names
            fills[names.pop()] = group.get("fill")
    return fills


def path_points(d: str) -> np.ndarray:
    return np.array(re.findall(r"-?\d+(?:\.\d+)?", d), dtype=float).reshape(-1, 2)


# ---------------------------------------------------------------------------- geometry


def test_polygons_become_one_path_per_unit_with_tooltips() -> None:
    units = grid_units(4, 3)
    page = render_map(units, coords="planar")
    shapes = unit_shapes(page)
    assert sorted(shapes) == sorted(units["id"])
    assert all(el.tag == f"{SVG}path" for el in shapes.values())
    titles = [t.text for t in svg_of(page).iter(f"{SVG}title")]
    assert "unit u2_1\nterritory T2" in titles
    # Every coordinate is inside the canvas and has at most one decimal.
    svg = svg_of(page)
    w, h = float(svg.get("width")), float(svg.get("height"))
    for el in shapes.values():
        assert not re.search(r"\.\d\d", el.get("d"))
        pts = path_points(el.get("d"))
        assert (pts >= 0).all() and (pts[:, 0] <= w).all() and (pts[:, 1] <= h).all()


def test_planar_keeps_aspect_and_puts_north_up() -> None:
    units = pd.DataFrame(
        {
            "id": ["low", "high"],
            "territory": ["A", "A"],
            "x": [0.0, 0.0],
            "y": [0.0, 0.0],
            "wkt": ["POLYGON " + square(0, 0, 2), "POLYGON " + square(0, 10, 2)],
        }
    )
    shapes = unit_shapes(render_map(units, coords="planar", width=400))
    low, high = path_points(shapes["low"].get("d")), path_points(shapes["high"].get("d"))
    assert high[:, 1].max() < low[:, 1].min()  # larger y is drawn higher up
    size = low.max(axis=0) - low.min(axis=0)
    assert size[0] == pytest.approx(size[1], abs=0.2)


def test_lonlat_shrinks_longitude_by_cos_latitude() -> None:
    # 1 degree of longitude at 60N is half as long as 1 degree of latitude.
    units = pd.DataFrame(
        {
            "id": [1],
            "territory": ["A"],
            "lon": [10.5],
            "lat": [60.25],
            "wkt": ["POLYGON ((10 60, 11 60, 11 60.5, 10 60.5, 10 60))"],
        }
    )
    pts = path_points(unit_shapes(render_map(units))["1"].get("d"))
    width, height = pts.max(axis=0) - pts.min(axis=0)
    assert width / height == pytest.approx(np.cos(np.radians(60.25)) * 2, rel=0.01)


def test_points_only_draws_circles() -> None:
    units = grid_units(3, 3, coords="lonlat", polygons=False)
    page = render_map(units)
    shapes = unit_shapes(page)
    assert len(shapes) == 9
    assert all(el.tag == f"{SVG}circle" for el in shapes.values())
    # Distinct points stay distinct after projection.
    centres = {(el.get("cx"), el.get("cy")) for el in shapes.values()}
    assert len(centres) == 9


def test_missing_wkt_falls_back_to_a_circle_at_the_point() -> None:
    units = grid_units(3, 1)
    units.loc[0, "wkt"] = None
    units.loc[1, "wkt"] = "  "
    shapes = unit_shapes(render_map(units, coords="planar"))
    assert shapes["u0_0"].tag == f"{SVG}circle"
    assert shapes["u1_0"].tag == f"{SVG}circle"
    assert shapes["u2_0"].tag == f"{SVG}path"


def test_polygon_with_hole_is_two_subpaths_drawn_evenodd() -> None:
    donut = "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (4 4, 6 4, 6 6, 4 6, 4 4))"
    units = pd.DataFrame(
        {"id": ["donut"], "territory": ["A"], "x": [5.0], "y": [5.0], "wkt": [donut]}
    )
    page = render_map(units, coords="planar")
    d = unit_shapes(page)["donut"].get("d")
    subpaths = re.findall(r"M[^MZ]*Z", d)
    assert len(subpaths) == 2
    outer, hole = (path_points(s) for s in subpaths)
    assert (hole.min(axis=0) > outer.min(axis=0)).all()
    assert (hole.max(axis=0) < outer.max(axis=0)).all()
    assert "fill-rule:evenodd" in page


def test_multipolygon_parts_and_holes_all_drawn() -> None:
    wkt = (
        "MULTIPOLYGON (((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 4 2, 4 4, 2 4, 2 2)), "
        "((20 0, 25 0, 25 5, 20 0)))"
    )
    units = pd.DataFrame({"id": ["m"], "territory": ["A"], "x": [0.0], "y": [0.0], "wkt": [wkt]})
    d = unit_shapes(render_map(units, coords="planar"))["m"].get("d")
    assert d.count("M") == 3 and d.count("Z") == 3


def test_parse_wkt_rings_handles_dimensions_srid_and_empty() -> None:
    rings = parse_wkt_rings("SRID=4326;polygon z ((0 0 7, 1 0 7, 1 1 7, 0 0 7))")
    assert len(rings) == 1
    np.testing.assert_array_equal(rings[0], [[0, 0], [1, 0], [1, 1], [0, 0]])
    assert parse_wkt_rings("POLYGON EMPTY") == []
    assert (
        len(
            parse_wkt_rings(
                "MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5),"
                "(5.2 5.1,5.8 5.1,5.8 5.7,5.2 5.1)))"
            )
        )
        == 3
    )


@pytest.mark.parametrize(
    "text, reason",
    [
        ("POLYGON ((0 0, 1 0, 1 1", "unbalanced"),
        ("POINT (1 2)", "POLYGON or MULTIPOLYGON"),
        ("POLYGON ((0 0, 1 x, 1 1, 0 0))", "not a number"),
        ("POLYGON ((0 0, 1 0 5, 1 1, 0 0))", "same count"),
        ("MULTIPOLYGON ((0 0, 1 0, 1 1, 0 0))", "nesting"),
        ("POLYGON ((0 0, 1 0, 1 1, 0 0)) trailing", "after the geometry"),
        ("POLYGON ((0 0, 1 1))", "at least 3 points"),
    ],
)
def test_bad_wkt_names_column_unit_and_text(text: str, reason: str) -> None:
    units = grid_units(2, 1)
    units.loc[1, "wkt"] = text
    with pytest.raises(InputError) as caught:
        render_map(units, coords="planar")
    message = str(caught.value)
    assert "'wkt'" in message and "'u1_0'" in message and reason in message
    assert text[:12] in message
    assert caught.value.column == "wkt" and caught.value.rows == ["u1_0"]


def test_long_bad_wkt_is_shortened_in_the_message() -> None:
    units = grid_units(1, 1)
    units.loc[0, "wkt"] = "POLYGON ((" + ", ".join(f"{i} {i}" for i in range(500))
    with pytest.raises(InputError) as caught:
        render_map(units, coords="planar")
    message = str(caught.value)
    assert "POLYGON ((0 0, 1 1" in message and len(message) < 300


# ---------------------------------------------------------------------------- colours


def test_adjacent_territories_get_different_fills() -> None:
    units = grid_units(2, 2, territory=lambda i, j: "west" if i == 0 else "east")
    fills = fills_by_territory(render_map(units, coords="planar", edges=rook_edges(2, 2)))
    assert fills["west"] != fills["east"]


def test_ring_of_many_territories_reuses_colours_but_never_between_neighbours() -> None:
    # 2 * palette + 1 in a ring: cycling through the palette would give the last
    # territory the first one's colour, and they are neighbours.
    n = 2 * len(PALETTE) + 1
    units = grid_units(n, 1, territory=lambda i, j: f"T{i}")
    edges = pd.concat(
        [rook_edges(n, 1), pd.DataFrame({"from_id": [f"u{n - 1}_0"], "to_id": ["u0_0"]})]
    )
    fills = fills_by_territory(render_map(units, coords="planar", edges=edges))
    for i in range(n):
        assert fills[f"T{i}"] != fills[f"T{(i + 1) % n}"], i
    assert len(set(fills.values())) <= len(PALETTE)  # the graph was used, not n colours


def test_star_hub_differs_from_every_spoke_beyond_palette_size() -> None:
    n = len(PALETTE) + 3  # the hub touches more territories than there are palette colours
    units = grid_units(n + 1, 1, territory=lambda i, j: "hub" if i == 0 else f"S{i}")
    edges = pd.DataFrame({"from_id": ["u0_0"] * n, "to_id": [f"u{i}_0" for i in range(1, n + 1)]})
    fills = fills_by_territory(render_map(units, coords="planar", edges=edges))
    assert all(fills["hub"] != fills[f"S{i}"] for i in range(1, n + 1))


def test_edges_with_unknown_ids_are_reported() -> None:
    units = grid_units(2, 1)
    edges = pd.DataFrame({"from_id": ["u0_0"], "to_id": ["nope"]})
    with pytest.raises(UnknownIdError, match=r"edges\.to_id.*'nope'"):
        render_map(units, coords="planar", edges=edges)


def test_unassigned_units_are_grey_and_listed() -> None:
    units = grid_units(3, 1)
    units["territory"] = ["A", None, "A"]
    page = render_map(units, coords="planar")
    assert fills_by_territory(page)["unassigned"] == html_map.UNASSIGNED_COLOUR
    assert "<i>unassigned</i>" in page


# ---------------------------------------------------------------------------- content


def test_centers_legend_and_summary_are_shown() -> None:
    units = grid_units(3, 2)
    centers = pd.DataFrame({"id": ["T0", "T1", "T2"], "x": [0.5, 1.5, 2.5], "y": [1.0] * 3})
    territories = pd.DataFrame(
        {"territory": ["T2", "T0", "T1"], "workload": [1234.5678, 10.0, 0.25]}
    )
    page = render_map(
        units,
        coords="planar",
        centers=centers,
        territories=territories,
        summary={"status": "optimal", "seconds": 1.23456},
    )
    markers = [g for g in svg_of(page).iter(f"{SVG}g") if g.get("class") == "center"]
    assert [m.find(f"{SVG}text").text for m in markers] == ["T0", "T1", "T2"]
    legend = page[page.index('<table class="legend">') :]
    assert legend.index(">T0<") < legend.index(">T1<") < legend.index(">T2<")
    assert "<th>workload</th>" in legend and "<td>1,235</td>" in legend
    assert "<td>0.25</td>" in legend and "<td>2</td>" in legend  # 2 units per territory
    assert "<dt>status</dt><dd>optimal</dd>" in page and "<dd>1.23</dd>" in page


def test_numeric_territories_sort_numerically_and_match_float_ids() -> None:
    units = grid_units(3, 1, territory=lambda i, j: [10, 2, None][i])  # float column: 10.0, 2.0
    centers = pd.DataFrame({"id": [2, 10], "x": [0.0, 1.0], "y": [0.0, 0.0]})
    page = render_map(units, coords="planar", centers=centers)
    legend = page[page.index('<table class="legend">') :]
    assert legend.index(">2<") < legend.index(">10<")
    assert "territory 10</title>" in page and "territory 10.0" not in page
    assert set(fills_by_territory(page)) == {"2", "10", "unassigned"}


def test_user_text_is_escaped() -> None:
    evil = "<script>alert(1)</script>"
    units = pd.DataFrame({"id": [evil], "territory": ['"a" & <b>'], "x": [0.0], "y": [0.0]})
    centers = pd.DataFrame({"id": ['"a" & <b>'], "x": [0.0], "y": [0.0]})
    territories = pd.DataFrame({"territory": ['"a" & <b>'], evil: [evil]})
    page = render_map(
        units,
        coords="planar",
        centers=centers,
        territories=territories,
        title=evil,
        summary={evil: evil},
    )
    assert evil not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;a&quot; &amp; &lt;b&gt;" in page
    assert page.count("<script>") == 1  # only the page's own hover script
    assert unit_shapes(page)[evil] is not None  # and it round-trips through the XML parser


def test_page_is_self_contained() -> None:
    page = render_map(grid_units(3, 3, coords="lonlat"))
    without_namespace = page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for marker in ("http:", "https:", "//cdn", "src=", "@import", "url(", "<link"):
        assert marker not in without_namespace, marker


# ---------------------------------------------------------------------------- determinism


def test_same_input_gives_identical_bytes() -> None:
    units = grid_units(5, 4, territory=lambda i, j: f"T{(i + j) % 3}")
    kwargs = {"coords": "planar", "edges": rook_edges(5, 4), "summary": {"a": 1}}
    assert render_map(units, **kwargs) == render_map(units.copy(), **kwargs)


def test_identical_bytes_across_hash_seeds() -> None:
    # Set iteration order depends on PYTHONHASHSEED; the page must not.
    script = textwrap.dedent("""
        import hashlib, sys
        import pandas as pd
        sys.path.insert(0, sys.argv[1])
        from components.report import render_map
        cells = [(i, j) for i in range(6) for j in range(5)]
        units = pd.DataFrame({"id": [f"u{i}_{j}" for i, j in cells],
                              "territory": [f"T{(i * 7 + j * 3) % 5}" for i, j in cells],
                              "x": [i for i, _ in cells], "y": [j for _, j in cells]})
        edges = pd.DataFrame({"from_id": [f"u{i}_{j}" for i, j in cells if i < 5],
                              "to_id": [f"u{i + 1}_{j}" for i, j in cells if i < 5]})
        page = render_map(units, coords="planar", edges=edges,
                          territories=pd.DataFrame({"territory": ["T3", "T1"], "m": [1, 2]}))
        print(hashlib.sha256(page.encode()).hexdigest())
    """)
    digests = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script, str(REPO)],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(done.stdout.strip())
    assert len(digests) == 1


# ---------------------------------------------------------------------------- bad input


def test_missing_columns_lists_what_is_present() -> None:
    units = pd.DataFrame({"id": [1], "zone": ["A"], "lon": [0.0], "lat": [0.0]})
    with pytest.raises(MissingColumnError) as caught:
        render_map(units)
    message = str(caught.value)
    assert "'territory'" in message and "columns present: 'id', 'zone', 'lon', 'lat'" in message
    assert caught.value.column == "territory"


def test_missing_lonlat_suggests_planar() -> None:
    units = grid_units(2, 1)  # x/y columns
    with pytest.raises(MissingColumnError, match="coords='planar'"):
        render_map(units)


@pytest.mark.parametrize(
    "table, frame",
    [
        ("centers", pd.DataFrame({"id": ["T0"], "lon": [0.0]})),
        ("territories", pd.DataFrame({"name": ["T0"]})),
        ("edges", pd.DataFrame({"a": ["u0_0"], "b": ["u1_0"]})),
    ],
)
def test_missing_columns_in_optional_tables(table: str, frame: pd.DataFrame) -> None:
    with pytest.raises(MissingColumnError, match=f"{table} is missing.*columns present"):
        render_map(grid_units(2, 1), coords="planar", **{table: frame})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"coords": "xy"}, "coords must be one of 'lonlat', 'planar'; got 'xy'"),
        ({"width": 50}, "width must be an integer from 200 to 10000 pixels; got 50"),
        ({"width": 960.0}, "width must be an integer"),
        ({"summary": ["a"]}, "summary must be a mapping"),
    ],
)
def test_bad_parameters_are_named(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=re.escape(match)):
        render_map(grid_units(2, 1), **{"coords": "planar", **kwargs})


def test_projected_coordinates_passed_as_lonlat_are_caught() -> None:
    units = pd.DataFrame({"id": [1], "territory": ["A"], "lon": [500000.0], "lat": [4.6e6]})
    with pytest.raises(CoordinateRangeError, match="coords='planar'"):
        render_map(units)


def test_non_numeric_coordinates_are_reported() -> None:
    units = grid_units(2, 1, polygons=False)
    units["x"] = ["0", "east"]
    with pytest.raises(InputError, match=r"units\.x must be numeric"):
        render_map(units, coords="planar")


def test_missing_point_without_polygon_is_reported() -> None:
    units = grid_units(2, 1, polygons=False)
    units.loc[1, "x"] = np.nan
    with pytest.raises(InputError, match="'u1_0'"):
        render_map(units, coords="planar")


# ---------------------------------------------------------------------------- write_map


def test_write_map_writes_the_complete_page(tmp_path: Path) -> None:
    units = grid_units(3, 2)
    target = write_map(tmp_path / "map.html", units, coords="planar", title="t")
    assert target == tmp_path / "map.html"
    assert target.read_text(encoding="utf-8") == render_map(units, coords="planar", title="t")
    assert target.read_text(encoding="utf-8").endswith("</html>\n")
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]


def test_render_error_leaves_previous_map_untouched(tmp_path: Path) -> None:
    target = tmp_path / "map.html"
    target.write_text("previous map", encoding="utf-8")
    units = grid_units(2, 1)
    units.loc[0, "wkt"] = "POLYGON ((broken"
    with pytest.raises(InputError):
        write_map(target, units, coords="planar")
    assert target.read_text(encoding="utf-8") == "previous map"
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]


def test_failed_swap_leaves_previous_map_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "map.html"
    target.write_text("previous map", encoding="utf-8")

    def refuse(src: object, dst: object) -> None:
        assert Path(src).read_bytes().endswith(b"</html>\n")  # fully written before the swap
        raise OSError("disk full")

    monkeypatch.setattr(html_map.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_map(target, grid_units(2, 1), coords="planar")
    assert target.read_text(encoding="utf-8") == "previous map"
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]


# ---------------------------------------------------------------------------- scale


def test_five_thousand_polygons_render_compactly() -> None:
    n = 5000
    side = int(np.ceil(np.sqrt(n)))
    units = grid_units(
        side, side, coords="lonlat", territory=lambda i, j: f"T{(i // 10) * 10 + j // 10}"
    ).head(n)
    page = render_map(units)
    assert page.count('<path id="u') == n
    assert len(page) < 2_500_000  # ~0.5 kB per unit with tooltips and the outline layer

"""`terraplan balance|locate ... --map FILE`: the static report with hover details, the
balance chart and the moved units, checked against the bundled CSVs and the run's own
output files (never against the page's code)."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import DATA

SVG = "{http://www.w3.org/2000/svg}"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workflows.cli", *args], capture_output=True,
                          text=True, timeout=300)


def _svg(page: str) -> ET.Element:
    return ET.fromstring(page[page.index("<svg"):page.index("</svg>") + len("</svg>")])


def _titles(page: str) -> dict[str, list[str]]:
    """Unit id -> the lines of its hover text."""
    out = {}
    for use in _svg(page).iter(f"{SVG}use"):
        title = use.find(f"{SVG}title")
        if title is not None:
            lines = title.text.split("\n")
            out[lines[0].removeprefix("unit ")] = lines
    return out


def _moved_outlines(page: str) -> set[str]:
    """Units drawn in the dashed 'moved' layer (their <use> hrefs mapped to unit ids)."""
    svg = _svg(page)
    href_to_unit = {}
    for use in svg.iter(f"{SVG}use"):
        title = use.find(f"{SVG}title")
        if title is not None:
            href_to_unit[use.get("href")] = title.text.split("\n")[0].removeprefix("unit ")
    moved = next((g for g in svg.iter(f"{SVG}g") if g.get("class") == "moved"), None)
    return set() if moved is None else {href_to_unit[u.get("href")] for u in moved}


@pytest.fixture(scope="module")
def balanced(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("balanced")
    done = _cli("balance", str(DATA / "scus.csv"), "--territories", "10", "--metric",
                "population", "--metric", "accounts", "--id", "scu_id", "--lon", "lon",
                "--lat", "lat", "--current", "current_territory", "--edges",
                str(DATA / "edges.csv"), "--time-limit", "20", "--quiet", "--out", str(out),
                "--map", str(out / "map.html"))
    assert done.returncode == 0, done.stderr
    assert f"wrote map {out / 'map.html'}" in done.stdout
    return out, (out / "map.html").read_text(encoding="utf-8")


def test_balance_map_hover_details(balanced, georgia):
    out, page = balanced
    titles = _titles(page)
    assert set(titles) == set(georgia["scu_id"])
    assign = pd.read_csv(out / "assignments.csv", dtype={"id": str}).set_index("id")
    for row in georgia.itertuples():
        lines = titles[row.scu_id]
        assert lines[1] == row.name
        assert f"population {row.population:,}" in lines
        territory = assign.at[row.scu_id, "territory"]
        where = next(ln for ln in lines if ln.startswith(f"territory {territory}"))
        if territory != row.current_territory:  # moved: says where from
            assert where == f"territory {territory} (was {row.current_territory})"
        else:
            assert where == f"territory {territory}"
        assert any(ln.startswith("to center ") for ln in lines)
    assert "Hover a unit" in page and 'id="details"' in page


def test_balance_map_moved_units_and_chart(balanced, georgia):
    out, page = balanced
    assign = pd.read_csv(out / "assignments.csv", dtype={"id": str}).set_index("id")
    current = georgia.set_index("scu_id")["current_territory"]
    moved = {u for u in assign.index if assign.at[u, "territory"] != current[u]}
    assert moved and _moved_outlines(page) == moved
    assert re.search(rf"<dt>moved units</dt><dd>{len(moved)}</dd>", page)
    # the chart: one row per territory, ratios recomputed here from the CSV
    pop = georgia.set_index("scu_id")["population"]
    totals = pop.groupby(assign.loc[pop.index, "territory"]).sum()
    target = pop.sum() / len(totals)
    bars = re.findall(r'data-metric="population" data-ratio="([\d.]+)"', page)
    assert sorted(float(b) for b in bars) == pytest.approx(sorted(totals / target), abs=1e-4)
    flagged = int((abs(totals / target - 1) > 0.05 + 1e-9).sum())
    assert ("every territory within its band" in page) == (flagged == 0)
    assert "Balance: total / target" in page and "population (±5 %)" in page


def test_locate_map_shows_facilities_and_unserved_points(tmp_path, georgia):
    done = _cli("locate", str(DATA / "scus.csv"), "--facilities", "6", "--strategy",
                "max_coverage", "--radius", "60", "--id", "scu_id", "--lon", "lon", "--lat",
                "lat", "--weight", "population", "--time-limit", "20", "--out",
                str(tmp_path), "--map", str(tmp_path / "map.html"))
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "map.html").read_text(encoding="utf-8")
    assign = pd.read_csv(tmp_path / "assignments.csv", dtype={"id": str, "facility": str})
    sites = pd.read_csv(tmp_path / "facilities.csv", dtype={"id": str})
    open_sites = set(sites.loc[sites["open"], "id"])
    titles = _titles(page)
    for row in assign.itertuples():
        where = next(ln for ln in titles[row.id] if ln.startswith("territory "))
        assert where == ("territory unassigned" if pd.isna(row.facility)
                         else f"territory {row.facility}")
    markers = {t.text.removeprefix("center of territory ")
               for t in _svg(page).iter(f"{SVG}title") if t.text.startswith("center of")}
    assert markers == open_sites and len(open_sites) == 6
    assert "demand covered" in page and "unserved points" in page


def test_map_of_planar_coordinates(tmp_path):
    table = pd.read_csv(DATA / "scus.csv").rename(columns={"lat": "latitude"})
    table.to_csv(tmp_path / "in.csv", index=False)
    done = _cli("locate", str(tmp_path / "in.csv"), "--facilities", "3", "--id", "scu_id",
                "--x", "lon", "--y", "latitude", "--out", str(tmp_path / "o"),
                "--map", str(tmp_path / "o" / "map.html"))
    # planar x/y work for the map as well: the page is drawn, nothing refused
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "o" / "map.html").is_file()

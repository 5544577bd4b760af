"""The first-paint measurement of `make bench` (bench_ui), at a small size: the page
reports first paint only once every unit in view is on the canvas, and its marks come
in order. No time is asserted; the bench judges times."""

from __future__ import annotations

import pytest

from tests.benchmarks import bench_ui, ui_data

pytestmark = pytest.mark.slow


def test_first_paint_is_measured_after_every_unit_is_drawn(browser, tmp_path):
    pytest.importorskip("h3")
    units, edges = ui_data.h3_cells(k=12, territories=6)  # 469 cells, no name column
    folder, ufile, efile = bench_ui._folder(tmp_path, "h3", units, edges, "h3")
    r = bench_ui._measure(browser, folder, ufile, efile)
    assert r["n"] == len(units) == 469
    for paint in r["all"]:
        assert paint > 0
    mid = r["mid"]
    assert mid["drawn"] == len(units)  # the whole disk is in the first view
    assert 0 < mid["fetched"] < mid["layer"] < mid["planned"] < mid["paint"]
    assert mid["cpu"] > 0 and mid["task"] > 0
    row = bench_ui._row("469 H3 cells", 5.0, r)
    assert row["target"] == "< 5 s" and row["value"] == round(mid["paint"], 3)

"""What the balance report says beyond the alignment: artificial island links, and the
best effort when the tolerance is missed (checked against totals recomputed here)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from components.balance import territory_balancing
from workflows.cli import summary_text


def _island_map() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A 5 x 10 grid plus a detached row of 10 units (ids 50-59) to its right."""
    rng = np.random.default_rng(0)
    ids = np.arange(60)
    scus = pd.DataFrame({"id": ids, "x": ids % 10 + (ids >= 50) * 5.0, "y": ids // 10,
                         "n": rng.lognormal(0, 1, 60), "k": rng.uniform(1, 2, 60)})
    pairs = [(i, i + 1) for i in range(59) if (i + 1) % 10] + [(i, i + 10) for i in range(40)]
    return scus, pd.DataFrame(pairs, columns=["from_id", "to_id"])


def test_island_links_are_reported_and_printed():
    scus, edges = _island_map()
    r = territory_balancing(scus, edges=edges, territories=3, metrics=["n"], tolerance=0.1,
                            time_limit=20, certify=False).report
    links = r["artificial_links"]
    assert links["count"] == 1
    (e,) = links["joins"]
    assert {int(e["from_id"]) // 10, int(e["to_id"]) // 10} == {4, 5}  # the row to the grid
    assert "1 artificial link(s) join islands" in summary_text(r)


def test_connected_map_reports_no_links():
    scus, edges = _island_map()
    edges = pd.concat([edges, pd.DataFrame({"from_id": [49], "to_id": [50]})])
    r = territory_balancing(scus, edges=edges, territories=3, metrics=["n"], tolerance=0.1,
                            time_limit=20, certify=False).report
    assert r["artificial_links"] == {"count": 0, "joins": []}
    assert "artificial" not in summary_text(r)


def test_best_effort_names_every_binding_territory_and_the_achieved_range():
    scus, edges = _island_map()
    res = territory_balancing(scus, edges=edges, territories=4, metrics=["n", "k"],
                              tolerance=0.002, time_limit=20, certify=False)
    r = res.report
    assert r["status"] == "tolerance_not_met"
    a = res.tables["assignments"].merge(scus, on="id")
    totals = a.groupby("territory")[["n", "k"]].sum()
    target = scus[["n", "k"]].sum() / 4
    ratio = totals / target
    outside = {(t, c) for t in ratio.index for c in ("n", "k")
               if abs(ratio.loc[t, c] - 1) > 0.002 * (1 + 1e-9)}
    be = r["best_effort"]
    assert {(b["territory"], b["metric"]) for b in be["binding"]} == outside
    for b in be["binding"]:
        assert (b["side"] == "above") == (ratio.loc[b["territory"], b["metric"]] > 1)
        members = set(a.loc[a["territory"] == b["territory"], "id"].astype(str))
        assert set(b["heaviest_units"]) <= members
    for c in ("n", "k"):
        assert be["achieved_tolerance"][c] == __import__("pytest").approx(
            float((ratio[c] - 1).abs().max()), rel=1e-9)
    need = be["tolerance_needed_at_least"]
    assert need is None or need <= max(be["achieved_tolerance"].values()) + 1e-9
    assert "tolerance not met: best alignment found is within" in summary_text(r)

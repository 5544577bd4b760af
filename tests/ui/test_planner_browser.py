"""The planner as an analyst meets it, in headless Chromium over the demo database.

Every expected figure comes from the bundled CSV or from the database read here with
duckdb, never from the page's own numbers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from tests.ui.conftest import Page
from workflows.ui.load import from_database
from workflows.ui.server import PlannerServer

pytestmark = pytest.mark.slow


@pytest.fixture()
def served(demo_db):
    server = PlannerServer(from_database(demo_db), "127.0.0.1", 0)
    server.start()
    yield server
    server.shutdown()
    server.server_close()


def _published(db) -> pd.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT id, territory FROM territory_assignments").df()
    finally:
        con.close()


def _pieces(plan: dict[str, str], edges: pd.DataFrame, territory: str) -> int:
    members = [u for u, t in plan.items() if t == territory]
    pos = {u: i for i, u in enumerate(members)}
    e = edges[edges["from_id"].isin(pos) & edges["to_id"].isin(pos)]
    g = coo_matrix((np.ones(len(e)), (e["from_id"].map(pos), e["to_id"].map(pos))),
                   shape=(len(members), len(members)))
    return connected_components(g, directed=False)[0]


def _history(db) -> str:
    done = subprocess.run([sys.executable, "-m", "workflows.cli", "history", "--database",
                           str(db)], capture_output=True, text=True, check=True)
    return done.stdout


def test_open_the_demo_and_hover_a_county(served, browser, georgia):
    page = Page(browser, served.url)
    p = page.page
    assert p.inner_text("#source").endswith("159 units")
    row = georgia.set_index("scu_id").loc["13121"]
    x, y = p.evaluate("planner.unitPoint('13121')")
    p.mouse.move(x, y)
    p.wait_for_selector("#hover-details")
    assert p.inner_text("#hover-details .d-name") == row["name"] == "Fulton County"
    shown = p.inner_text("#hover-details .d-metric[data-metric=population]")
    assert int(shown.replace(",", "")) == row["population"]
    assert p.inner_text("#hover-details .d-id") == "13121"
    # one balance row per published territory, every bar with its tolerance band
    published = _published(served.workspace.store.database)
    assert p.locator("#balance tbody tr").count() == published["territory"].nunique()
    assert p.locator("#balance .meter .band").count() == 2 * published["territory"].nunique()
    page.shot("01-open-hover")
    assert page.errors == []


def test_edit_lock_optimise_compare_promote_rollback(served, browser, georgia, georgia_edges):
    db = served.workspace.store.database
    page = Page(browser, served.url)
    p = page.page
    p.on("dialog", lambda d: d.accept())
    plan = dict(_published(db).itertuples(index=False, name=None))
    first_run = served.workspace.base.run_id

    # -- move three southern counties into a small northern territory -----------------
    target = plan["13121"]  # Fulton's territory
    near = set(georgia_edges.loc[georgia_edges["from_id"].map(plan).eq(target), "to_id"]) | \
        set(georgia_edges.loc[georgia_edges["to_id"].map(plan).eq(target), "from_id"])
    south = georgia.sort_values("lat")
    movers = [u for u in south["scu_id"] if plan[u] != target and u not in near][:3]
    assert _pieces(plan, georgia_edges, target) == 1
    ratio_before = float(p.get_attribute(
        f'#balance tr[data-t="{target}"] .meter[data-metric=population]', "data-ratio"))
    assert p.locator("#contiguity-ok").count() == 1
    for k, unit in enumerate(movers):
        x, y = p.evaluate(f"planner.unitPoint('{unit}')")
        if k:
            p.keyboard.down("Shift")
        p.mouse.click(x, y)
        if k:
            p.keyboard.up("Shift")
    assert p.inner_text("#selcount") == "3"
    p.select_option("#moveto", target)
    p.click("#move")
    pop = georgia.set_index("scu_id")["population"]
    m = len(set(plan.values()))
    plan_after = {**plan, **{u: target for u in movers}}
    expected = sum(pop[u] for u, t in plan_after.items() if t == target) / (pop.sum() / m)
    ratio_after = float(p.get_attribute(
        f'#balance tr[data-t="{target}"] .meter[data-metric=population]', "data-ratio"))
    assert ratio_after == pytest.approx(expected, abs=1e-4)
    assert ratio_after > ratio_before
    pieces = _pieces(plan_after, georgia_edges, target)
    assert pieces >= 2
    warning = p.inner_text("#contiguity-warning")
    assert f"{target} ({pieces} pieces)" in warning
    page.shot("02-moved-three")

    # -- undo and redo the move ------------------------------------------------------
    p.click("#undo")
    assert p.locator("#contiguity-ok").count() == 1
    p.click("#redo")
    assert p.locator("#contiguity-warning").count() == 1

    # -- lock one moved unit, re-optimise: the lock holds, a new scenario appears ---------
    locked = movers[0]
    x, y = p.evaluate(f"planner.unitPoint('{locked}')")
    p.mouse.click(x, y)
    p.click("#lock")
    p.fill("#opt-tl", "10")
    p.click("#opt-run")
    p.wait_for_selector("#opt-msg .ok, #opt-msg .error", timeout=90_000)
    assert "New scenario" in p.inner_text("#opt-msg"), p.inner_text("#opt-msg")
    scenarios = json.load(urllib.request.urlopen(served.url + "api/scenarios"))
    assert len(scenarios) == 2
    new = scenarios[-1]
    full = json.load(urllib.request.urlopen(served.url + f"api/scenarios/{new['id']}"))
    ids = served.workspace.ids.tolist()
    assert full["assignment"][ids.index(locked)] == target  # the lock held
    page.shot("03-optimised")

    # -- compare the published plan with the new scenario ---------------------------------
    p.click(".tabs [data-tab=scenarios]")
    p.check('input[name=cmpA][value="current"]')
    p.check(f'input[name=cmpB][value="{new["id"]}"]')
    p.click("#compare")
    p.wait_for_selector("#compare-table tbody tr")
    differing = sum(plan[u] != t for u, t in zip(ids, full["assignment"], strict=True))
    text = p.inner_text("#compare-table")
    assert f"units in a different territory (A vs B)\t{differing}" in text
    assert "population range" in text and "compactness" in text
    page.shot("04-compare")
    p.click("#compare-close")

    # -- promote: a run with trigger manual, visible to `terraplan history` ---------------
    p.click(f'#scenario-list tr[data-s="{new["id"]}"] button[data-act=promote]')
    p.wait_for_selector("#scenario-msg .ok, #scenario-msg .error")
    msg = p.inner_text("#scenario-msg")
    assert "published as run" in msg, msg
    run_id = msg.split("published as run ")[1].split(" ")[0]
    listing = _history(db)
    line = next(ln for ln in listing.splitlines() if run_id in ln)
    assert "manual" in line
    now = dict(_published(db).itertuples(index=False, name=None))
    assert [now[u] for u in ids] == full["assignment"]

    # -- diff the first run with the promoted one on the map -------------------------------
    p.click(".tabs [data-tab=history]")
    p.wait_for_selector(f'#history-list tr[data-run="{run_id}"]')
    p.check(f'input[name=runA][value="{first_run}"]')
    p.check(f'input[name=runB][value="{run_id}"]')
    p.click("#diff")
    p.wait_for_selector("#diffbar:not(.hidden)")
    assert f"{differing} moved" in p.inner_text("#diffbar"), p.inner_text("#diffbar")
    page.shot("05a-diff")
    p.click("#diff-close")

    # -- rollback from the page to the first run ------------------------------------------
    p.wait_for_selector(f'#history-list tr[data-run="{first_run}"]')
    p.click(f'#history-list tr[data-run="{first_run}"] button[data-act=rollback]')
    p.wait_for_selector("#history-msg .ok, #history-msg .error")
    assert "rolled back" in p.inner_text("#history-msg"), p.inner_text("#history-msg")
    assert dict(_published(db).itertuples(index=False, name=None)) == plan
    assert "rollback" in _history(db)
    page.shot("05-rollback")
    assert page.errors == []


def _optimise(p, served, territories: int, mode: str, tolerance: int = 5) -> dict:
    """Set the number of territories, check the mode the page names, run, and return
    the new scenario as the API serves it."""
    p.fill("#opt-tol", str(tolerance))
    p.fill("#opt-m", str(territories))
    assert p.inner_text("#opt-mode") == mode
    p.fill("#opt-tl", "8")
    before = len(json.load(urllib.request.urlopen(served.url + "api/scenarios")))
    p.click("#opt-run")
    p.wait_for_selector("#opt-msg .ok, #opt-msg .error", timeout=120_000)
    assert "New scenario" in p.inner_text("#opt-msg"), p.inner_text("#opt-msg")
    listing = json.load(urllib.request.urlopen(served.url + "api/scenarios"))
    assert len(listing) == before + 1
    return json.load(urllib.request.urlopen(served.url + f"api/scenarios/{listing[-1]['id']}"))


def _check_plan(full: dict, ids: list[str], edges: pd.DataFrame, territories: int) -> None:
    plan = dict(zip(ids, full["assignment"], strict=True))
    names = sorted(set(plan.values()))
    assert len(names) == territories
    for t in names:  # contiguity by our own oracle, not the solver's flag
        assert _pieces(plan, edges, t) == 1, t
    for t, c in full["centers"].items():  # every center lies in its own territory
        assert plan[c] == t


def test_espatial_optimiser_exercise(served, browser, georgia_edges):
    """eSpatial's optimiser exercise, step by step: optimise existing, consolidate,
    expand, territory centers, compare."""
    page = Page(browser, served.url)
    p = page.page
    ids = served.workspace.ids.tolist()
    published = dict(_published(served.workspace.store.database).itertuples(index=False,
                                                                            name=None))
    m = len(set(published.values()))
    assert p.input_value("#opt-m") == str(m)
    # the published plan: one center marker per territory, each on a unit of it
    markers = p.eval_on_selector_all(".center-icon", "els => els.map(e => [e.dataset.t, "
                                     "e.dataset.unit])")
    assert len(markers) == m and all(published[u] == t for t, u in markers)

    existing = _optimise(p, served, m, "optimise existing")
    _check_plan(existing, ids, georgia_edges, m)
    page.shot("10-optimise-existing")

    fewer = _optimise(p, served, m - 2, f"consolidate {m} → {m - 2}")
    _check_plan(fewer, ids, georgia_edges, m - 2)
    assert fewer["name"].startswith(f"consolidate {m - 2}")
    assert p.locator("#balance tbody tr").count() == m - 2
    assert p.locator(".center-icon").count() == m - 2
    page.shot("11-consolidate")

    # Fulton alone is over a twelfth of Georgia's population +5 %: the page says so
    p.fill("#opt-tol", "5")
    p.fill("#opt-m", str(m + 2))
    p.click("#opt-run")
    p.wait_for_selector("#opt-msg .ok, #opt-msg .error", timeout=120_000)
    assert "unit '13121' alone has 648,951" in p.inner_text("#opt-msg .error")
    more = _optimise(p, served, m + 2, f"expand {m - 2} → {m + 2}", tolerance=25)
    _check_plan(more, ids, georgia_edges, m + 2)
    assert p.locator("#balance tbody tr").count() == m + 2
    page.shot("12-expand")

    # territory centers: pin Fulton and Chatham as fixed centers, re-optimise around them
    p.click(".tabs [data-tab=scenarios]")
    p.click('#scenario-list tr[data-s="current"] button[data-act=open]')
    pins = {}
    for unit in ("13121", "13051"):
        x, y = p.evaluate(f"planner.unitPoint('{unit}')")
        p.mouse.click(x, y)
        p.click("#pin")
        pins[unit] = published[unit]
        marker = p.locator(f'.center-icon.pinned[data-unit="{unit}"]')
        assert marker.count() == 1 and marker.get_attribute("data-t") == published[unit]
    assert p.inner_text("#pin-count") == "2"
    around = _optimise(p, served, m, "optimise existing")
    _check_plan(around, ids, georgia_edges, m)
    assert "2 centers pinned" in around["name"]
    plan = dict(zip(ids, around["assignment"], strict=True))
    for unit, territory in pins.items():
        assert around["centers"][territory] == unit and plan[unit] == territory
    page.shot("13-centers-pinned")

    # compare consolidate with expand
    p.click(".tabs [data-tab=scenarios]")
    p.check(f'input[name=cmpA][value="{fewer["id"]}"]')
    p.check(f'input[name=cmpB][value="{more["id"]}"]')
    p.click("#compare")
    p.wait_for_selector("#compare-table tbody tr")
    assert f"territories\t{m - 2}\t{m + 2}" in p.inner_text("#compare-table")
    differ = sum(a != b for a, b in zip(fewer["assignment"], more["assignment"], strict=True))
    assert f"units in a different territory (A vs B)\t{differ}" in p.inner_text(
        "#compare-table")
    page.shot("14-compare-consolidate-expand")
    assert page.errors == []


def test_locations_view_shows_facilities_catchments_and_radius(hub_db, browser, georgia):
    server = PlannerServer(from_database(hub_db), "127.0.0.1", 0)
    server.start()
    try:
        page = Page(browser, server.url)
        p = page.page
        con = duckdb.connect(str(hub_db), read_only=True)
        try:
            sites = con.execute("SELECT id FROM coverage_sites WHERE open").df()["id"]
            assign = con.execute("SELECT id, facility FROM coverage_assignments").df()
        finally:
            con.close()
        p.click(".tabs [data-tab=locations]")
        p.wait_for_selector("#loc-summary")
        assert p.inner_text("#loc-open") == str(len(sites)) == "6"
        assert p.inner_text("#loc-radius") == "60 km"
        assert p.locator("#loc-facilities tbody tr").count() == 6
        p.check("#loc-show")
        shapes = p.evaluate("planner.locationShapes()")
        county = georgia.set_index("scu_id")
        circles = [s for s in shapes if s["type"] == "circle"]
        assert len(circles) == 6 and all(c["radius"] == 60_000 for c in circles)
        want = sorted((round(county.at[f, "lat"], 6), round(county.at[f, "lon"], 6))
                      for f in sites)
        got = sorted((round(c["lat"], 6), round(c["lng"], 6)) for c in circles)
        assert got == want
        assert p.locator(".fac-icon").count() == 6
        # catchments: a served county takes its facility's colour, an unserved one grey
        served_row = assign[assign["facility"].notna()].iloc[0]
        unserved = assign[assign["facility"].isna()].iloc[0]
        same = assign[assign["facility"] == served_row["facility"]]["id"].tolist()
        colours = {p.evaluate(f"planner.colourOfUnit('{u}')") for u in same}
        assert len(colours) == 1 and colours != {"#ddd"}
        assert p.evaluate(f"planner.colourOfUnit('{unserved['id']}')") == "#ddd"
        page.shot("20-locations-coverage")
        # the p-median study: every county served, no radius
        p.select_option("#loc-step", "hubs")
        p.wait_for_function("planner.locationShapes().filter(s => s.type === 'facility')"
                            ".length === 6 && !document.querySelector('#loc-radius')")
        assert not [s for s in p.evaluate("planner.locationShapes()") if s["type"] == "circle"]
        assert p.evaluate(f"planner.colourOfUnit('{unserved['id']}')") != "#ddd"
        page.shot("21-locations-pmedian")
        assert page.errors == []
    finally:
        server.shutdown()
        server.server_close()

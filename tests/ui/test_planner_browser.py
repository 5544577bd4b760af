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

    # -- rollback from the page to the first run ------------------------------------------
    p.click(".tabs [data-tab=history]")
    p.wait_for_selector(f'#history-list tr[data-run="{first_run}"]')
    p.click(f'#history-list tr[data-run="{first_run}"] button[data-act=rollback]')
    p.wait_for_selector("#history-msg .ok, #history-msg .error")
    assert "rolled back" in p.inner_text("#history-msg"), p.inner_text("#history-msg")
    assert dict(_published(db).itertuples(index=False, name=None)) == plan
    assert "rollback" in _history(db)
    page.shot("05-rollback")
    assert page.errors == []

"""The planner's JSON API as a script (or the page) meets it over HTTP on 127.0.0.1.

Expected figures come from the bundled CSVs or from the database read here with duckdb;
GeoJSON is checked with shapely against the input WKT, not against our own encoder.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.conftest import DATA
from workflows.ui.load import from_database
from workflows.ui.server import PlannerServer

pytestmark = pytest.mark.slow


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _post(url: str, body: dict, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture()
def served(demo_db):
    server = PlannerServer(from_database(demo_db), "127.0.0.1", 0)
    server.start()
    yield server
    server.shutdown()
    server.server_close()


def _edited_plan(server: PlannerServer) -> list[str]:
    """The published plan with three units moved to another territory."""
    status, body = _get(server.url + "api/scenarios/current")
    assert status == 200
    plan = json.loads(body)["assignment"]
    names = sorted(set(plan))
    for i in (0, 1, 2):
        plan[i] = next(t for t in names if t != plan[i])
    return plan


def test_export_csv_is_the_edited_plan(served, georgia):
    plan = _edited_plan(served)
    status, body = _post(served.url + "api/export", {"format": "csv", "assignment": plan})
    assert status == 200
    got = pd.read_csv(io.BytesIO(body), dtype={"id": str})
    ids = served.workspace.ids.tolist()
    assert sorted(got["id"]) == sorted(ids) and got["id"].is_unique
    assert dict(zip(got["id"], got["territory"], strict=True)) == dict(zip(ids, plan,
                                                                           strict=True))
    truth = georgia.set_index("scu_id")
    assert (got.set_index("id")["population"] == truth.loc[got["id"], "population"]).all()
    assert (got.set_index("id")["name"] == truth.loc[got["id"], "name"]).all()


def test_export_geojson_parses_and_matches_the_input_polygons(served, georgia):
    shapely = pytest.importorskip("shapely")
    from shapely import wkt as shapely_wkt
    from shapely.geometry import shape

    plan = _edited_plan(served)
    status, body = _post(served.url + "api/export", {"format": "geojson", "assignment": plan})
    assert status == 200
    doc = json.loads(body)
    assert doc["type"] == "FeatureCollection"
    features = doc["features"]
    ids = [str(f["properties"]["id"]) for f in features]
    expected = dict(zip(served.workspace.ids.tolist(), plan, strict=True))
    assert sorted(ids) == sorted(expected) and len(set(ids)) == len(ids)  # each unit once
    truth = georgia.set_index("scu_id")
    for f in features:
        uid = str(f["properties"]["id"])
        assert f["type"] == "Feature"
        assert f["properties"]["territory"] == expected[uid]
        geom = shape(f["geometry"])
        assert geom.is_valid, uid
        given = shapely_wkt.loads(truth.at[uid, "wkt"])
        # the same county, vertex rounding (1e-6 degrees) aside
        assert shapely.symmetric_difference(geom, given).area < 1e-6 * given.area + 1e-9, uid
    # a GET of a saved scenario exports the same way
    status, body = _get(served.url + "api/export?format=geojson&scenario=current")
    assert status == 200 and len(json.loads(body)["features"]) == len(expected)


def test_export_refuses_a_wrong_plan_and_format(served):
    n = len(served.workspace.ids)
    status, body = _post(served.url + "api/export", {"format": "csv", "assignment": ["A"]})
    assert status == 400 and f"one territory per unit ({n} values); got 1" in \
        json.loads(body)["error"]
    status, body = _post(served.url + "api/export",
                         {"format": "xlsx", "assignment": ["A"] * n})
    assert status == 400 and "csv or geojson" in json.loads(body)["error"]


def test_geometry_buffer_and_unit_table(served, georgia):
    from workflows.ui.geometry import decode

    status, body = _get(served.url + "api/units")
    units = json.loads(body)
    assert status == 200 and len(units["ids"]) == 159
    truth = georgia.set_index("scu_id").loc[units["ids"]]
    assert units["names"] == truth["name"].tolist()
    assert units["metrics"]["population"] == truth["population"].astype(float).tolist()
    status, body = _get(served.url + "api/geometry")
    g = decode(body)
    assert status == 200 and g["n"] == 159 and g["kind"] == "polygon"
    assert g["arrays"]["lon"].tolist() == truth["lon"].tolist()
    assert len(g["arrays"]["edge_a"]) > 159  # the county adjacency came along


def test_token_is_required_off_loopback_and_checked_on_every_api_call(demo_db):
    from components.errors import InputError

    ws = from_database(demo_db)
    with pytest.raises(InputError, match="pass --token SECRET"):
        PlannerServer(ws, "0.0.0.0", 0)
    cli = subprocess.run([sys.executable, "-m", "workflows.cli", "ui", "--database",
                          str(demo_db), "--host", "0.0.0.0", "--port", "0"],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode != 0 and "Traceback" not in cli.stderr
    assert "--token" in cli.stderr and len(cli.stderr.strip().splitlines()) == 1
    # a token set on loopback is enforced just the same (no test binds a public address)
    server = PlannerServer(ws, "127.0.0.1", 0, token="s3cret-token")
    server.start()
    try:
        base = server.url.split("?")[0]
        assert server.url.endswith("?token=s3cret-token")
        assert _get(base + "api/meta")[0] == 401
        assert _get(base + "api/meta", {"X-Terraplan-Token": "wrong"})[0] == 401
        assert _get(base + "api/meta", {"X-Terraplan-Token": "s3cret-token"})[0] == 200
        assert _get(base + "api/meta?token=s3cret-token")[0] == 200
        assert _post(base + "api/evaluate", {"assignment": []})[0] == 401
        assert _get(base + "api/geometry")[0] == 401
        assert _get(base)[0] == 200  # the page itself holds no data
    finally:
        server.shutdown()
        server.server_close()


def test_the_server_takes_no_sql(served):
    """Requests name units and territories; anything that looks like SQL is a plan value
    like any other, or refused, and never reaches DuckDB as SQL."""
    n = len(served.workspace.ids)
    plan = ["x'); DROP TABLE territory_assignments; --"] * n
    status, body = _post(served.url + "api/evaluate", {"assignment": plan})
    assert status == 200 and json.loads(body)["territories"] == 1
    status, _ = _get(served.url + "api/runs/x%27%3B%20DROP%20TABLE%20terraplan_runs")
    assert status == 400
    con = duckdb.connect(str(served.workspace.store.database), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    finally:
        con.close()
    assert {"territory_assignments", "terraplan_runs"} <= tables


def test_locations_of_every_study_in_the_database(hub_db):
    server = PlannerServer(from_database(hub_db), "127.0.0.1", 0)
    server.start()
    try:
        meta = json.loads(_get(server.url + "api/meta")[1])
        assert meta["has_locations"] is True
        latest = json.loads(_get(server.url + "api/locations")[1])
        hubs = json.loads(_get(server.url + "api/locations?step=hubs")[1])
        status, body = _get(server.url + "api/locations?step=nope")
        assert status == 400 and "hubs, coverage" in json.loads(body)["error"]
    finally:
        server.shutdown()
        server.server_close()
    assert [s["step"] for s in latest["steps"]] == ["hubs", "coverage"]
    con = duckdb.connect(str(hub_db), read_only=True)
    try:
        for doc, prefix in ((latest, "coverage"), (hubs, "hub")):
            sites = con.execute(f"SELECT id FROM {prefix}_sites WHERE open ORDER BY id").df()
            assign = con.execute(f"SELECT id, facility FROM {prefix}_assignments").df()
            assert sorted(f["id"] for f in doc["facilities"]) == sites["id"].tolist()
            want = dict(zip(assign["id"], assign["facility"], strict=True))
            ids = pd.read_csv(DATA / "scus.csv", dtype={"scu_id": str})
            got = dict(zip(server.workspace.ids.tolist(), doc["assignment"], strict=True))
            for uid in ids["scu_id"]:
                w = want[uid]
                assert got[uid] == (None if w is None or w != w else str(w)), uid
    finally:
        con.close()
    assert latest["step"] == "coverage" and latest["radius"] == 60
    assert latest["strategy"] == "max_coverage" and hubs["radius"] is None
    assert any(a is None for a in latest["assignment"])  # counties beyond 60 km
    assert all(a is not None for a in hubs["assignment"])  # p-median serves everyone
    facility = latest["facilities"][0]
    county = pd.read_csv(DATA / "scus.csv", dtype={"scu_id": str}).set_index("scu_id")
    assert (facility["x"], facility["y"]) == (county.at[facility["id"], "lon"],
                                              county.at[facility["id"], "lat"])


def _cli_balance(tmp_path: Path) -> Path:
    out = tmp_path / "balanced"
    done = subprocess.run([sys.executable, "-m", "workflows.cli", "balance",
                           str(DATA / "scus.csv"), "--territories", "8", "--metric",
                           "population", "--id", "scu_id", "--lon", "lon", "--lat", "lat",
                           "--edges", str(DATA / "edges.csv"), "--time-limit", "20",
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return out


def test_results_mode_serves_a_cli_output_folder(tmp_path):
    out = _cli_balance(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "workflows.cli", "ui", "--results",
                             str(out), "--units", str(DATA / "scus.csv"), "--edges",
                             str(DATA / "edges.csv"), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        url = None
        for _ in range(5):
            line = proc.stdout.readline()
            match = re.search(r"open (http://127\.0\.0\.1:\d+/)", line)
            if match:
                url = match.group(1)
                break
        assert url, proc.stderr.read() if proc.poll() is not None else "no URL printed"
        meta = json.loads(_get(url + "api/meta")[1])
        current = json.loads(_get(url + "api/scenarios/current")[1])
        units = json.loads(_get(url + "api/units")[1])
        history = json.loads(_get(url + "api/history")[1])
        status, body = _post(url + "api/scenarios/current/promote", {})
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert meta["metrics"] == ["population"] and meta["can_publish"] is False
    assignments = pd.read_csv(out / "assignments.csv", dtype={"id": str})
    want = dict(zip(assignments["id"], assignments["territory"].astype(str), strict=True))
    assert dict(zip(units["ids"], current["assignment"], strict=True)) == want
    assert current["stats"]["territories"] == 8
    report = json.loads((out / "report.json").read_text())
    ours = current["stats"]["balance"]["population"]
    assert ours["min_ratio"] == pytest.approx(report["balance"]["population"]["min_ratio"],
                                              abs=1e-6)
    assert history["runs"] == [] and "--database" in history["note"]
    assert status == 400 and "--database" in json.loads(body)["error"]


def test_readme_documents_every_route():
    from tests.conftest import ROOT
    from workflows.ui.server import ROUTES

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    api = readme[readme.index("### JSON API"):readme.index("### First paint")]
    rows = [line for line in api.splitlines() if line.startswith("| `/api/")]
    for method, name in ROUTES:
        assert any(f"`/api/{name}" in row and method in row for row in rows), (method, name)

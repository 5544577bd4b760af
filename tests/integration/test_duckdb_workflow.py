"""The demo workflow end to end on DuckDB, the run log, atomic outputs, SQL functions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from components.errors import InputError, NegativeValueError
from tests.conftest import ROOT
from tests.oracles import frame_split
from udfs.duckdb import DuckDBWarehouse, register_functions
from workflows.runner import run_workflow

DEMO = ROOT / "workflows" / "examples" / "demo.yaml"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    lines: list[str] = []
    summary = run_workflow(DEMO, database=str(tmp / "t.duckdb"), out=str(tmp / "out"),
                           echo=lines.append)
    return tmp, summary, lines


def test_demo_writes_tables_csv_report_and_map(demo_run):
    tmp, _, lines = demo_run
    out = tmp / "out"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "map.html", "report.json", "territory_assignments.csv", "territory_summary.csv"]
    report = json.loads((out / "report.json").read_text())
    step = report["steps"]["balance"]
    assert step["status"] in ("feasible", "optimal")
    assert step["contiguous"] is True
    assign = pd.read_csv(out / "territory_assignments.csv", dtype=str)
    edges = pd.read_csv(ROOT / "workflows" / "examples" / "data" / "edges.csv", dtype=str)
    assert frame_split(assign, edges) == []
    for metric in ("population", "accounts"):
        assert 0.95 - 1e-9 <= step["balance"][metric]["min_ratio"]
        assert step["balance"][metric]["max_ratio"] <= 1.05 + 1e-9
    assert step["input_profile"]["n_rows"] == 159
    assert step["input_profile"]["duplicate_ids"] == 0
    html = (out / "map.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "Georgia" in html and "http" not in \
        html.replace("http://www.w3.org/2000/svg", "")
    # the report: hover details, balance chart, units moved from current_territory
    assert "unit 13121\nFulton County\npopulation 648,951" in html
    assert "Balance: total / target" in html and '<g class="moved">' in html
    assert any("[1/1] balance" in line for line in lines)
    assert any("contiguous: yes" in line for line in lines)


def test_demo_tables_in_duckdb_carry_run_id(demo_run):
    tmp, summary, _ = demo_run
    con = duckdb.connect(str(tmp / "t.duckdb"), read_only=True)
    assign = con.execute("SELECT * FROM territory_assignments").df()
    assert len(assign) == 159 and (assign["run_id"] == summary.run_id).all()
    assert con.execute("SELECT COUNT(*) FROM territory_summary").fetchone() == (10,)
    runs = con.execute("SELECT * FROM terraplan_runs ORDER BY step").df()
    assert runs[["run_id", "step", "status"]].values.tolist() == [
        [summary.run_id, "(run)", "succeeded"], [summary.run_id, "balance", "succeeded"]]
    assert json.loads(runs["params"][1])["territories"] == 10
    # no staging tables are left behind
    names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
             .fetchall()}
    assert not [n for n in names if n.startswith("__terraplan")]
    con.close()


def _copy_demo(tmp: Path) -> Path:
    work = tmp / "wf"
    shutil.copytree(DEMO.parent, work)
    return work / "demo.yaml"


def test_failed_step_keeps_previous_outputs_and_is_logged(tmp_path):
    wf = _copy_demo(tmp_path)
    db = str(tmp_path / "t.duckdb")
    first = run_workflow(wf, database=db)
    data = wf.parent / "data" / "scus.csv"
    df = pd.read_csv(data, dtype={"scu_id": str})
    df.loc[5, "population"] = -10  # a refresh brings bad data
    df.to_csv(data, index=False)
    with pytest.raises(NegativeValueError, match="step 'balance': metric column 'population' "
                                                 "has 1 negative value"):
        run_workflow(wf, database=db)
    con = duckdb.connect(db, read_only=True)
    ids = con.execute("SELECT DISTINCT run_id FROM territory_assignments").fetchall()
    assert ids == [(first.run_id,)]  # the alignment in use is untouched
    runs = con.execute("SELECT status, error FROM terraplan_runs WHERE step = '(run)' "
                       "ORDER BY started_at").fetchall()
    assert [r[0] for r in runs] == ["succeeded", "failed"]
    assert "negative" in runs[1][1]
    # the bad file was staged and rejected: the loaded source still holds the good rows
    loaded = con.execute("SELECT MIN(population) FROM ga_counties").fetchone()[0]
    con.close()
    assert loaded >= 0


def test_failure_during_write_rolls_back(tmp_path, monkeypatch):
    wh = DuckDBWarehouse(tmp_path / "w.duckdb")
    good = pd.DataFrame({"a": [1, 2]})
    wh.write_tables({"t1": good, "t2": good}, run_id="r1")
    real = wh.con.execute

    def flaky(sql, *args):
        if sql.startswith("ALTER TABLE") and "t2" in sql:
            raise duckdb.IOException("disk full (injected)")
        return real(sql, *args)

    wh.con = type("Proxy", (), {"execute": staticmethod(flaky),
                                "register": wh.con.register, "unregister": wh.con.unregister,
                                "close": wh.con.close})()
    with pytest.raises(duckdb.IOException):
        wh.write_tables({"t1": pd.DataFrame({"a": [9]}), "t2": pd.DataFrame({"a": [9]})}, "r2")
    assert real("SELECT run_id, a FROM t1 ORDER BY a").fetchall() == [("r1", 1), ("r1", 2)]
    assert real("SELECT COUNT(*) FROM t2").fetchone() == (2,)


def test_workflow_errors_point_at_the_line(tmp_path):
    wf = _copy_demo(tmp_path)
    text = wf.read_text()
    bad = wf.with_name("bad.yaml")
    bad.write_text(text.replace("tolerance: 0.05", "tolerance: high"))
    with pytest.raises(InputError) as err:
        run_workflow(bad, database=str(tmp_path / "x.duckdb"))
    line = next(i for i, s in enumerate(bad.read_text().splitlines(), 1) if "tolerance:" in s)
    assert f"bad.yaml:{line}:" in str(err.value) and \
        "parameter 'tolerance' must be a float in [0, 1]; got 'high'" in str(err.value)
    bad.write_text(text.replace("uses: territory_balancing", "uses: territory_balancer"))
    with pytest.raises(InputError, match=r"bad.yaml:\d+: unknown component 'territory_balancer'"
                                         r"; did you mean 'territory_balancing'"):
        run_workflow(bad)
    bad.write_text(text.replace("edges: ga_adjacency\n    with", "edges: roads\n    with"))
    with pytest.raises(InputError, match="input table 'roads' is neither a source nor an output"):
        run_workflow(bad)


def test_sql_function_matches_python(georgia, georgia_edges):
    con = duckdb.connect()
    register_functions(con)
    con.register("g", georgia.drop(columns=["wkt"]))
    con.register("e", georgia_edges)
    params = json.dumps({"territories": 6, "metrics": ["population"], "id": "scu_id",
                         "lon": "lon", "lat": "lat", "seed": 1})
    raw = con.execute(
        "SELECT terraplan_territory_balancing((SELECT to_json(list(g)) FROM g), NULL, "
        "(SELECT to_json(list(e)) FROM e), ?)", [params]).fetchone()[0]
    result = json.loads(raw)
    from components.balance import territory_balancing

    direct = territory_balancing(georgia.drop(columns=["wkt"]), edges=georgia_edges,
                                 **json.loads(params))
    sql_assign = pd.DataFrame(result["tables"]["assignments"])
    assert sql_assign["territory"].tolist() == direct.tables["assignments"]["territory"].tolist()
    assert result["report"]["objective"] == pytest.approx(direct.report["objective"])
    # rows come back as a table through SQL too
    rows = con.execute(
        "SELECT r.id, r.territory FROM (SELECT unnest(from_json(?::JSON -> '$.tables.assignments'"
        ", '[{\"id\": \"VARCHAR\", \"territory\": \"VARCHAR\"}]')) AS r)", [raw]).fetchall()
    assert len(rows) == 159


def test_sql_function_returns_errors_as_json():
    con = duckdb.connect()
    register_functions(con)
    raw = con.execute("SELECT terraplan_territory_balancing('[{\"id\": 1, \"x\": 0, \"y\": 0, "
                      "\"m\": -1}]', NULL, NULL, '{\"territories\": 1, \"metrics\": [\"m\"]}')"
                      ).fetchone()[0]
    doc = json.loads(raw)
    assert "negative" in doc["error"] and doc["kind"] == "input"

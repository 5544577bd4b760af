"""Workflows over time on DuckDB: history, diff, rollback, refresh-triggered rebalance,
scenarios, and a run failing midway that publishes nothing."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest
import yaml

from components.errors import InputError
from tests.conftest import ROOT
from tests.oracles import frame_split
from udfs.duckdb import DuckDBWarehouse
from workflows.cli import main
from workflows.history import diff_runs, list_runs, rollback
from workflows.runner import run_workflow
from workflows.watch import check_once, watch

EXAMPLES = ROOT / "workflows" / "examples"


def make_workflow(tmp_path, **changes):
    """The demo workflow in a scratch folder (own copy of the data), edited."""
    work = tmp_path / "wf"
    if not work.exists():
        shutil.copytree(EXAMPLES / "data", work / "data")
    spec = yaml.safe_load((EXAMPLES / "demo.yaml").read_text())
    spec.pop("exports")
    # generous: the solver stops as soon as it is done; the wall only matters on a busy
    # machine, where a tight one would make the answer depend on the load
    spec["steps"][0]["with"]["time_limit"] = 60
    for key, value in changes.items():
        spec[key] = value
    path = work / f"wf_{len(list(work.glob('*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def assignments(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT id, territory, run_id FROM territory_assignments ORDER BY id"
                           ).df()
    finally:
        con.close()


def test_history_diff_rollback(tmp_path, capsys):
    db = tmp_path / "t.duckdb"
    wf10 = make_workflow(tmp_path)
    first = run_workflow(wf10, database=str(db))
    spec = yaml.safe_load(wf10.read_text())
    spec["steps"][0]["with"]["territories"] = 8
    spec["steps"][0]["with"].pop("current")
    wf8 = wf10.with_name("eight.yaml")
    wf8.write_text(yaml.safe_dump(spec, sort_keys=False))
    second = run_workflow(wf8, database=str(db))
    assert assignments(db)["territory"].nunique() == 8

    wh = DuckDBWarehouse(db)
    try:
        runs = list_runs(wh)
        assert runs["run_id"].tolist() == [first.run_id, second.run_id]
        diff = diff_runs(wh, first.run_id, second.run_id)
        assert diff.summary["units"] == 159 and diff.summary["moved"] > 0
        assert set(diff.changes["change"]) == {"moved"}
        restored = rollback(wh, first.run_id)
        assert restored == ["territory_assignments", "territory_summary"]
    finally:
        wh.close()
    now = assignments(db)
    assert now["territory"].nunique() == 10
    con = duckdb.connect(str(db), read_only=True)
    hist = con.execute("SELECT id, territory FROM territory_assignments__history "
                       "WHERE run_id = ? ORDER BY id", [first.run_id]).df()
    con.close()
    assert now["territory"].tolist() == hist["territory"].tolist()

    assert main(["history", "--database", str(db)]) == 0
    out = capsys.readouterr().out
    assert first.run_id in out and "rollback" in out
    assert main(["diff", first.run_id, second.run_id, "--database", str(db),
                 "--out", str(tmp_path / "d.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "d.csv")) == diff.summary["moved"]
    assert main(["rollback", "nope", "--database", str(db)]) == 2
    assert "no successful run 'nope'" in capsys.readouterr().err


def _add_accounts(data_csv, factor=1.6):
    """A refresh: new accounts signed in a dozen southern rural counties (+60 %)."""
    df = pd.read_csv(data_csv, dtype={"scu_id": str})
    south = df.sort_values("lat").head(12).index
    df.loc[south, "accounts"] = (df.loc[south, "accounts"] * factor).round().astype(int) + 1
    df.to_csv(data_csv, index=False)


def test_refresh_triggers_low_disruption_rebalance(tmp_path):
    db = tmp_path / "t.duckdb"
    wf = make_workflow(tmp_path, schedule={"on_change": ["ga_counties"]},
                       rebalance={"step": "balance", "alignment": "territory_assignments"})
    lines: list[str] = []
    first = check_once(wf, database=str(db), echo=lines.append)
    assert first is not None and first.trigger == "initial"
    assert check_once(wf, database=str(db)) is None  # nothing changed: no run
    before = assignments(db)

    _add_accounts(wf.parent / "data" / "scus.csv")
    lines.clear()
    second = check_once(wf, database=str(db), echo=lines.append)
    assert second is not None and second.trigger == "refresh"
    assert any("change in ga_counties" in line for line in lines)
    report = second.steps[0].report
    assert report["status"] in ("feasible", "optimal")
    reb = report["rebalance"]
    assert reb["alignment"] == "territory_assignments"
    after = assignments(db)
    moved = (before.set_index("id")["territory"] != after.set_index("id")["territory"]).sum()
    assert reb["moved_units"] == moved == reb["why"]["rebalance"]
    assert all(m["why"] == "rebalance" for m in reb["moves"])
    assert any("restore balance" in line for line in lines)

    # from scratch on the same refreshed data, far more units change territory
    fresh = run_workflow(wf, database=str(tmp_path / "fresh.duckdb"), fresh=True)
    assert fresh.steps[0].report["moved_units"] > 2 * moved

    runs = DuckDBWarehouse(db)
    try:
        log = runs.runs()
    finally:
        runs.close()
    log = log[log["step"] != "(run)"].reset_index(drop=True)  # the step rows
    assert log["trigger"].tolist() == ["initial", "refresh"]
    assert log["fingerprint"].str.contains("scus=").all()
    assert log["fingerprint"].iloc[0] != log["fingerprint"].iloc[1]


def test_watch_loop_is_bounded(tmp_path):
    wf = make_workflow(tmp_path, schedule={"on_change": ["ga_counties"]})
    naps: list[float] = []
    runs = watch(wf, database=str(tmp_path / "w.duckdb"), interval=5, max_polls=3,
                 sleep=naps.append)
    assert len(runs) == 1 and naps == [5, 5]


def test_scenarios_side_by_side(tmp_path, capsys):
    wf = make_workflow(tmp_path, scenarios={"step": "balance", "runs": {
        "current_10": {"territories": 10}, "half_5": {"territories": 5},
        "plus_two_12": {"territories": 12}}})
    db = tmp_path / "s.duckdb"
    assert main(["run", str(wf), "--database", str(db), "--out", str(tmp_path / "o")]) == 0
    assert "scenarios:" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "o" / "georgia_demo_scenarios.csv")
    assert table["scenario"].tolist() == ["current_10", "half_5", "plus_two_12"]
    assert table["territories"].tolist() == [10, 5, 12]
    # Fulton County alone is more than 1.05 x a twelfth of Georgia: said, not hidden
    assert table["status"].tolist()[2] == "infeasible"
    assert "unit '13121' alone has 648,951" in table["note"].iloc[2]
    assert table["contiguous"].iloc[:2].all()
    assert {"population_min_ratio", "accounts_max_ratio", "objective", "moved_units"} <= set(
        table.columns)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT COUNT(DISTINCT territory) FROM "
                       "territory_assignments__half_5").fetchone() == (5,)
    edges = pd.read_csv(EXAMPLES / "data" / "edges.csv", dtype=str)
    for name in ("current_10", "half_5"):
        assign = con.execute(f"SELECT CAST(id AS VARCHAR) AS id, territory FROM "
                             f"territory_assignments__{name}").df()
        assert frame_split(assign, edges) == [], name
    con.close()


def test_bad_scenario_fails_before_running(tmp_path):
    wf = make_workflow(tmp_path, scenarios={"step": "balance", "runs": {
        "bad": {"territories": 0}}})
    with pytest.raises(InputError, match=r"scenario 'bad': .*territories"):
        run_workflow(wf, database=str(tmp_path / "x.duckdb"))


def test_failure_in_a_later_step_publishes_nothing(tmp_path):
    db = tmp_path / "t.duckdb"
    wf = make_workflow(tmp_path)
    first = run_workflow(wf, database=str(db))
    spec = yaml.safe_load(wf.read_text())
    second_step = {**spec["steps"][0], "name": "again"}
    second_step["with"] = {**second_step["with"], "metrics": ["no_such_column"]}
    second_step["outputs"] = {"assignments": "other_assignments"}
    spec["steps"].append(second_step)
    spec["steps"][0]["with"]["territories"] = 7  # would change the alignment...
    broken = wf.with_name("broken.yaml")
    broken.write_text(yaml.safe_dump(spec, sort_keys=False))
    with pytest.raises(InputError, match="step 'again': column 'no_such_column' not found"):
        run_workflow(broken, database=str(db))
    now = assignments(db)  # ...but the run failed, so nothing was published
    assert (now["run_id"] == first.run_id).all() and now["territory"].nunique() == 10
    con = duckdb.connect(str(db), read_only=True)
    leftovers = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
                 .fetchall() if r[0].startswith("__terraplan") or r[0] == "other_assignments"]
    log = con.execute("SELECT step, status FROM terraplan_runs WHERE run_id <> ? "
                      "ORDER BY started_at, step", [first.run_id]).fetchall()
    con.close()
    assert leftovers == []
    # the run failed as a whole: its first step's answer was never published
    assert log == [("(run)", "failed"), ("balance", "not_published"), ("again", "failed")]

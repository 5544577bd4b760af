"""#11, one test per bullet about runs: a two-step workflow (balance + locate on the same
generated counties) met the way a user meets it, through ``terraplan`` subprocesses and
the DuckDB runner. Each test names the bullet it guards."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.automation_data import (
    OUTPUTS,
    check_invariants,
    cli,
    cli_env,
    counties,
    frame,
    no_traceback,
    read_db,
    run_until,
    workflow,
    write,
)
from udfs.duckdb import DuckDBWarehouse
from workflows.history import diff_runs, published_tables, rollback
from workflows.runner import run_workflow
from workflows.watch import watch


def _run(path: Path, *extra: str) -> str:
    proc = cli("run", str(path), *extra)
    assert proc.returncode == 0, proc.stderr
    return _run_id(proc.stdout)


def _run_id(stdout: str) -> str:
    line = next(ln for ln in stdout.splitlines() if ln.startswith("[publish] run "))
    return line.split()[2]


def _columns(db: Path, name: str) -> list[str]:
    return read_db(db, f'SELECT * FROM "{name}" LIMIT 0').columns.tolist()


# -- rerun after the output columns change; history walks the schema --------------------

def test_history_survives_schema_changes_and_rollback_crosses_them(tmp_path):
    """Bullet 1: add a metric, add current, drop a column, then roll back to each run."""
    db = tmp_path / "t.duckdb"
    data, edges = counties(metrics=("population", "accounts"))
    spec = workflow(tmp_path, metrics=("population",))
    runs = [run_workflow(write(tmp_path, spec, data, edges)).run_id]
    spec = workflow(tmp_path, metrics=("population", "accounts"))  # one more metric
    runs.append(run_workflow(write(tmp_path, spec)).run_id)
    assert "accounts_ratio" in _columns(db, "territory_summary")
    now = read_db(db, "SELECT id, territory FROM territory_assignments")
    data["today"] = data["geoid"].map(dict(zip(now["id"], now["territory"], strict=True)))
    spec["steps"][0]["with"]["current"] = "today"  # adds previous_territory, moved
    runs.append(run_workflow(write(tmp_path, spec, data)).run_id)
    assert "previous_territory" in _columns(db, "territory_assignments")
    spec = workflow(tmp_path, metrics=("population",))  # drops accounts and current
    runs.append(run_workflow(write(tmp_path, spec, data.drop(columns=["accounts"]))).run_id)
    assert "previous_territory" not in _columns(db, "territory_assignments")
    hist = _columns(db, "territory_assignments__history")
    assert "previous_territory" in hist and "moved" in hist  # removed columns are kept

    wh = DuckDBWarehouse(db)
    try:
        for target in (runs[0], runs[2], runs[1], runs[3]):
            restored = rollback(wh, target)
            assert sorted(restored) == sorted(OUTPUTS)
            for name, columns in published_tables(wh, target).items():
                assert list(wh.columns(name)) == columns, (name, target)
                old = wh.con.execute(f'SELECT * FROM "{name}__history" WHERE run_id = ?',
                                     [target]).df()[columns].drop(columns=["run_id"])
                now = wh.read_table(name).drop(columns=["run_id"])
                assert frame(now).equals(frame(old)), (name, target)
    finally:
        wh.close()
    check_invariants(db)


# -- rollback mixes runs; tables added later -------------------------------------------------

def test_rollback_restores_every_table_of_a_two_step_run_and_drops_later_ones(tmp_path):
    """Bullet 2: after a rollback every table comes from the one run rolled back to; a
    table only a later run published (a step added later) is dropped, kept in history."""
    db = tmp_path / "t.duckdb"
    data, edges = counties()
    one_step = workflow(tmp_path)
    one_step["steps"] = one_step["steps"][:1]
    first = _run(write(tmp_path, one_step, data, edges, file="one.yaml"))
    second = _run(write(tmp_path, workflow(tmp_path, territories=4)))
    third = _run(write(tmp_path, workflow(tmp_path, territories=2, facilities=3)))
    assert check_invariants(db) == third

    proc = cli("rollback", second, "--database", str(db))
    assert proc.returncode == 0, proc.stderr
    assert check_invariants(db) not in (second, third)  # a new run id, stamped on all four
    for name in OUTPUTS:
        now = read_db(db, f'SELECT * FROM "{name}"').drop(columns=["run_id"])
        was = read_db(db, f'SELECT * FROM "{name}__history" WHERE run_id = ?',
                      [second])[now.columns]
        assert frame(now).equals(frame(was)), name
    assert read_db(db, "SELECT COUNT(DISTINCT territory) AS n FROM territory_summary"
                   )["n"][0] == 4

    proc = cli("rollback", first, "--database", str(db))
    assert proc.returncode == 0, proc.stderr
    assert "dropped site_assignments, sites" in proc.stdout
    tables = set(read_db(db, "SELECT table_name FROM information_schema.tables")["table_name"])
    assert not {"site_assignments", "sites"} & tables  # the first run had no locate step
    assert {"site_assignments__history", "sites__history"} <= tables
    check_invariants(db, outputs=OUTPUTS[:2])
    assert check_invariants(db) is not None  # only the balance tables, from one run


# -- diff per step and per output; unassigned is not 'removed' ------------------------------

def test_diff_per_step_and_output_from_the_cli(tmp_path):
    """Bullet 3: --step/--output pick any table of a run (territories too); an unassigned
    unit is a change of label, not a removed row."""
    db = tmp_path / "t.duckdb"
    data, edges = counties()
    a = _run(write(tmp_path, workflow(tmp_path), data, edges))
    spec = workflow(tmp_path, territories=4)
    spec["steps"][1]["with"].update(max_cost=1.0, allow_unassigned=True, facilities=2)
    b = _run(write(tmp_path, spec))

    proc = cli("diff", a, b, "--database", str(db), "--output", "territories")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("balance.territories (territory_summary)")
    proc = cli("diff", a, b, "--database", str(db), "--output", "assignments")
    assert proc.returncode == 2 and "pass --step NAME" in no_traceback(proc)
    proc = cli("diff", a, b, "--database", str(db), "--step", "locate", "--output",
               "facilities")
    assert proc.returncode == 0 and proc.stdout.startswith("locate.facilities (sites)")
    proc = cli("diff", a, b, "--database", str(db), "--step", "nope")
    assert proc.returncode == 2 and "its steps: balance, locate" in no_traceback(proc)

    wh = DuckDBWarehouse.open(db, read_only=True)
    try:
        d = diff_runs(wh, a, b, "assignments", step="locate")
    finally:
        wh.close()
    unassigned = read_db(db, "SELECT COUNT(*) AS n FROM site_assignments WHERE facility IS NULL"
                         )["n"][0]
    assert unassigned > 0
    assert d.summary.get("removed", 0) == 0 and d.summary.get("added", 0) == 0
    assert (d.changes["facility_b"] == "(unassigned)").sum() == unassigned


# -- a failed run changes nothing ----------------------------------------------------------

def test_a_source_that_fails_validation_leaves_the_loaded_table(tmp_path):
    """Bullet 4a: a negative metric exits 2; the loaded source keeps the last good file."""
    db = tmp_path / "t.duckdb"
    data, edges = counties()
    path = write(tmp_path, workflow(tmp_path), data, edges)
    first = _run(path)
    bad, _ = counties(seed=1, negative=True)
    write(tmp_path, workflow(tmp_path), bad)
    proc = cli("run", str(path))
    assert proc.returncode == 2
    assert "negative" in no_traceback(proc) and "population" in proc.stderr
    assert check_invariants(db, {"counties": data, "adjacency": edges}) == first
    log = read_db(db, "SELECT status FROM terraplan_runs WHERE step = '(run)' ORDER BY "
                  "started_at")["status"].tolist()
    assert log == ["succeeded", "failed"]


@pytest.mark.parametrize("exports", ["dir_is_a_file", "map_without_coordinates"])
def test_a_bad_exports_setting_fails_before_the_publish(tmp_path, exports):
    """Bullet 4b: a bad ``exports`` block fails the run before anything is published or
    logged succeeded."""
    db = tmp_path / "t.duckdb"
    data, edges = counties()
    first = run_workflow(write(tmp_path, workflow(tmp_path), data, edges)).run_id
    (tmp_path / "afile").write_text("x")
    block = {"dir": str(tmp_path / "afile")} if exports == "dir_is_a_file" else \
        {"dir": str(tmp_path / "out"), "map": {"step": "balance", "units": "adjacency"}}
    path = write(tmp_path, workflow(tmp_path, territories=4, exports=block), counties(seed=2)[0])
    proc = cli("run", str(path))
    assert proc.returncode == 2, proc.stderr
    no_traceback(proc)
    assert check_invariants(db, {"counties": data}) == first
    assert read_db(db, "SELECT status FROM terraplan_runs WHERE step = '(run)' ORDER BY "
                   "started_at")["status"].tolist() == ["succeeded", "failed"]
    assert not (tmp_path / "out").exists()


def test_cli_output_folder_is_swapped_whole(tmp_path, monkeypatch):
    """Bullet 4c: a write that fails after the first file (disk full) leaves the previous
    folder exactly as it was: no new assignments.csv beside an old territories.csv."""
    from workflows.cli import main

    data, edges = counties()
    data.to_csv(tmp_path / "c.csv", index=False)
    edges.to_csv(tmp_path / "e.csv", index=False)
    out = tmp_path / "out"
    args = ["balance", str(tmp_path / "c.csv"), "--edges", str(tmp_path / "e.csv"),
            "--territories", "3", "--metric", "population", "--id", "geoid", "--x", "x",
            "--y", "y", "--tolerance", "0.3", "--quiet", "--out", str(out)]
    assert main(args) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = pd.DataFrame.to_csv
    calls = []

    def disk_full(self, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(self, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    assert main([*args[:5], "4", *args[6:]]) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


# -- the run log is the truth ---------------------------------------------------------------

def test_sigterm_after_a_step_is_logged_interrupted_and_not_usable(tmp_path):
    """Bullet 5: SIGTERM after the first step's summary: exit 143, one line, the run row
    'interrupted', its steps 'not_published'; rollback and diff refuse it."""
    db = tmp_path / "t.duckdb"
    data, edges = counties()
    path = write(tmp_path, workflow(tmp_path), data, edges)
    first = _run(path)
    write(tmp_path, workflow(tmp_path, territories=4), counties(seed=3)[0])
    proc = run_until(path, "step:balance", tmp_path / "marks")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "terminated (SIGTERM): nothing of run" in err
    assert check_invariants(db, {"counties": data}) == first
    log = read_db(db, "SELECT run_id, step, status FROM terraplan_runs WHERE run_id <> ? "
                  "ORDER BY step", [first])
    assert log[["step", "status"]].values.tolist() == [
        ["(run)", "interrupted"], ["balance", "not_published"]]
    second = log["run_id"][0]
    proc = cli("rollback", second, "--database", str(db))
    assert proc.returncode == 2 and "is interrupted: it published nothing" in proc.stderr
    proc = cli("diff", first, second, "--database", str(db), "--step", "balance")
    assert proc.returncode == 2 and "is interrupted" in no_traceback(proc)


def test_ctrl_c_inside_the_publish_rolls_it_back(tmp_path):
    """Bullet 5 / tracebacks: Ctrl-C inside the publish transaction: exit 130, one line,
    the previous run stays current, the row says 'interrupted'."""
    db = tmp_path / "t.duckdb"
    data, edges = counties()
    path = write(tmp_path, workflow(tmp_path), data, edges)
    first = _run(path)
    write(tmp_path, workflow(tmp_path, territories=4), counties(seed=4)[0])
    proc = run_until(path, "publish", tmp_path / "marks")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted (SIGINT): nothing of run" in err
    assert check_invariants(db, {"counties": data}) == first
    assert read_db(db, "SELECT status FROM terraplan_runs WHERE step = '(run)' ORDER BY "
                   "started_at")["status"].tolist() == ["succeeded", "interrupted"]


def test_a_killed_run_is_shown_crashed(tmp_path):
    """Bullet 5: SIGKILL leaves the row 'running'; history shows 'crashed', and the next
    run records it so."""
    db = tmp_path / "t.duckdb"
    data, edges = counties()
    path = write(tmp_path, workflow(tmp_path), data, edges)
    first = _run(path)
    proc = run_until(path, "step:locate", tmp_path / "marks")
    proc.kill()
    proc.communicate(timeout=60)
    proc = cli("history", "--database", str(db))
    assert proc.returncode == 0, proc.stderr
    assert "crashed" in proc.stdout.splitlines()[-1]
    assert check_invariants(db, {"counties": data}) == first
    second = _run(path)
    statuses = read_db(db, "SELECT status FROM terraplan_runs WHERE step = '(run)' ORDER BY "
                       "started_at")["status"].tolist()
    assert statuses == ["succeeded", "crashed", "succeeded"]
    assert check_invariants(db, {"counties": data}) == second


# -- an infeasible answer is not published by default ---------------------------------------

@pytest.mark.parametrize("policy", [None, "publish", "fail"])
def test_an_infeasible_answer_is_not_published_by_default(tmp_path, policy):
    """Bullet 6: tolerance_not_met exits 3; keep_previous (default) and fail keep the
    good run current; publish publishes it; --accept-infeasible only changes the exit."""
    db = tmp_path / "t.duckdb"
    data, edges = counties()
    first = _run(write(tmp_path, workflow(tmp_path), data, edges))
    spec = workflow(tmp_path, territories=4, **({"on_infeasible": policy} if policy else {}))
    spec["steps"][0]["with"].update(tolerance=0.0005, time_limit=5, max_iterations=20)
    path = write(tmp_path, spec)
    proc = cli("run", str(path))
    assert proc.returncode == 3, proc.stderr
    line = no_traceback(proc)
    assert "tolerance_not_met" in line
    now = check_invariants(db)
    log = read_db(db, "SELECT status FROM terraplan_runs WHERE step = '(run)' ORDER BY "
                  "started_at")["status"].tolist()
    if policy == "publish":
        assert now != first and log == ["succeeded", "succeeded"]
        assert "it was published (on_infeasible: publish)" in line
        return
    assert now == first
    assert log == ["succeeded", "failed" if policy == "fail" else "kept_previous"]
    if policy is None:
        assert f"run {first} was kept as current" in line
        proc = cli("run", str(path), "--accept-infeasible")
        assert proc.returncode == 0, proc.stderr
        assert f"run {first} stays current" in proc.stdout
        assert check_invariants(db) == first


# -- one database, two users ----------------------------------------------------------------

def _hold(db: Path, seconds: float, read_only: bool = False) -> subprocess.Popen:
    """Another process holding the DuckDB file (a writer, or a read-only reader)."""
    code = (f"import duckdb, sys, time; c = duckdb.connect({str(db)!r}, read_only={read_only});"
            f" print('held', flush=True); time.sleep({seconds})")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_two_users_wait_lock_and_read_only_readers(tmp_path):
    """Bullet 7: a run waits --wait seconds then exits 4 naming the other process; readers
    work beside another reader; a run waits for a reader that finishes, saying so once."""
    db = tmp_path / "t.duckdb"
    data, edges = counties()
    path = write(tmp_path, workflow(tmp_path), data, edges)
    first = _run(path)
    holder = _hold(db, 60)
    try:
        for args in (["run", str(path)], ["history", "--database", str(db)],
                     ["rollback", first, "--database", str(db)]):
            proc = cli(*args, "--wait", "1")
            assert proc.returncode == 4, (args, proc.stderr)
            line = no_traceback(proc)
            assert f"in use by process {holder.pid}" in line and "--wait" in line, line
    finally:
        holder.kill()
        holder.wait()
    reader = _hold(db, 120, read_only=True)
    try:
        proc = cli("history", "--database", str(db))  # beside another reader
        assert proc.returncode == 0 and first in proc.stdout, proc.stderr
        run = subprocess.Popen([sys.executable, "-m", "workflows.cli", "run", str(path),
                                "--wait", "120"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=cli_env())
        line = run.stdout.readline()  # the run waits for the reader, and says so once
        assert line.startswith("[wait] database") and f"process {reader.pid}" in line, line
        reader.kill()
        out, err = run.communicate(timeout=240)
        assert run.returncode == 0, err
        assert "[wait]" not in out
    finally:
        reader.kill()
        reader.wait()
    check_invariants(db, {"counties": data})


def test_watch_retries_after_a_failed_check(tmp_path):
    """Bullet 7: watch reports a locked database in one line and runs at the next poll."""
    db = tmp_path / "t.duckdb"
    data, edges = counties()
    path = write(tmp_path, workflow(tmp_path), data, edges)
    holder = _hold(db, 60)
    lines: list[str] = []

    def release(_seconds: float) -> None:
        holder.kill()
        holder.wait()

    try:
        runs = watch(path, interval=0, max_polls=2, echo=lines.append, sleep=release,
                     wait=0.5)
    finally:
        holder.kill()
        holder.wait()
    failed = [ln for ln in lines if ln.startswith("[watch] check failed")]
    assert len(failed) == 1 and "in use by process" in failed[0] and "\n" not in failed[0]
    assert len(runs) == 1 and runs[0].published
    check_invariants(db, {"counties": data})


# -- schedules carry rebalance (DuckDB: the crontab line and watch run 'terraplan run') ------

def test_duckdb_schedule_line_rebalances_with_the_move_cap(tmp_path):
    """Bullet 10 on DuckDB: the crontab's own command, run after a data refresh, feeds
    today's alignment in as current and keeps the moved share under max_moved; new units
    are not counted as moves and name no territory."""
    import shlex

    from workflows.schedule import crontab_block, workflow_schedule
    from workflows.spec import load_workflow

    db = tmp_path / "t.duckdb"
    data, edges = counties(side=6)
    spec = workflow(tmp_path, schedule={"cron": "3 6 * * 1"},
                    rebalance={"step": "balance", "alignment": "territory_assignments",
                               "max_moved": 0.15})
    known = set(data["geoid"].iloc[:-3])  # three counties join at the refresh
    path = write(tmp_path, spec, data.iloc[:-3],
                 edges[edges["from_id"].isin(known) & edges["to_id"].isin(known)])
    wf = load_workflow(path)
    line = next(ln for ln in crontab_block(wf, workflow_schedule(wf), workdir=tmp_path
                                           ).splitlines() if ln.startswith("3 6 * * 1"))
    command = shlex.split(line.split("&&", 1)[1].split(">>")[0])
    assert command[:2] == ["terraplan", "run"] and "--fresh" not in command
    first = _run(tmp_path / command[2])
    before = read_db(db, "SELECT id, territory FROM territory_assignments")
    refreshed = data.copy()
    refreshed.loc[refreshed.index[:8], "population"] *= 3  # a refresh: demand grew north
    write(tmp_path, spec, refreshed, edges)
    proc = cli(*command[1:], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    after = read_db(db, "SELECT * FROM territory_assignments").set_index("id")
    assert check_invariants(db) not in (None, first)
    new = sorted(set(after.index) - set(before["id"]))
    assert len(new) == 3 and after.loc[new, "previous_territory"].isna().all()
    old = before.set_index("id")["territory"]
    assert (after.loc[old.index, "previous_territory"] == old).all()  # today's alignment in
    moved = after.loc[old.index, "territory"] != old
    share = refreshed.set_index("geoid").loc[old.index[moved], "population"].sum() / \
        refreshed["population"].sum()
    assert share <= 0.15 + 1e-9
    # the published alignment is balanced (the new units alone may be enough to restore it,
    # in which case moving nobody is the least disruptive answer)
    pop = refreshed.set_index("geoid")["population"]
    ratio = pop.groupby(after["territory"].reindex(pop.index)).sum() / (pop.sum() / 3)
    assert ratio.between(0.7 - 1e-9, 1.3 + 1e-9).all() and len(ratio) == 3, ratio
    assert "(new)" not in set(after["territory"])

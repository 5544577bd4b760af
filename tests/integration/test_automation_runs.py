"""#11, one test per bullet about runs: a two-step workflow (balance + locate on the same
generated counties) met the way a user meets it, through ``terraplan`` subprocesses and
the DuckDB runner. Each test names the bullet it guards."""

from __future__ import annotations

from pathlib import Path

from tests.automation_data import (
    OUTPUTS,
    check_invariants,
    cli,
    counties,
    frame,
    no_traceback,
    read_db,
    workflow,
    write,
)
from udfs.duckdb import DuckDBWarehouse
from workflows.history import diff_runs, published_tables, rollback
from workflows.runner import run_workflow


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

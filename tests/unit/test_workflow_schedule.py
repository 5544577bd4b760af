"""Schedules and triggers: cron checks, BigQuery's schedule syntax, the Snowflake task graph,
the BigQuery scheduled query, crontab lines, and the compile/schedule CLI.

Golden files: tests/snapshots/workflows/<workflow>/schedule-<warehouse>.txt (regenerate with
TERRAPLAN_UPDATE_GOLDEN=1). Nothing connects to a warehouse here.
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from components.errors import InputError
from tests.conftest import ROOT
from tests.unit.test_workflow_compile import EXAMPLES, SNAPSHOTS, golden, parse_call
from udfs.base import adapter
from udfs.bigquery.schedule import bigquery_schedule, bigquery_script, bigquery_transfer
from udfs.snowflake.deploy import has_connection_settings as snowflake_credentials
from udfs.snowflake.schedule import snowflake_objects
from workflows.cli import main
from workflows.compile import Location, compile_workflow
from workflows.cron import parse_cron, workflow_schedule
from workflows.crontab import crontab_block, install_crontab
from workflows.schedule import register, schedule_objects
from workflows.spec import load_workflow

WEEKLY = EXAMPLES / "weekly_rebalance.yaml"
SF, BQ = adapter("snowflake"), adapter("bigquery")
OPTIONS = {
    "snowflake": {"database": "ANALYTICS", "schema": "TERRAPLAN", "data_schema": "SALES",
                  "task_warehouse": "TERRAPLAN_WH"},
    "bigquery": {"project": "my-project", "dataset": "terraplan", "data_dataset": "sales",
                 "location": "US"},
    "duckdb": {"workdir": ROOT},
}


# -- cron -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("cron", "message"), [
    ("0 6 * *", r"has 4 field\(s\); use 5: minute hour day-of-month month day-of-week"),
    ("0 6 * * 1 2025", r"has 6 field\(s\)"),
    ("61 6 * * 1", "minute value 61 is out of range 0-59"),
    ("0 24 * * *", "hour value 24 is out of range 0-23"),
    ("0 6 32 * *", "day of month value 32 is out of range 1-31"),
    ("0 6 0 * *", "day of month value 0 is out of range 1-31"),
    ("0 6 * 13 *", "month value 13 is out of range 1-12"),
    ("0 6 * * 7", "day of week value 7 is out of range 0-6; use 0 or SUN for Sunday"),
    ("0 6 * * MOO", r"day of week value 'MOO' is not a number 0-6 \(or a name: SUN"),
    ("0 6 L * *", "day of month value 'L' is not a number 1-31"),
    ("0 6 ? * 1", r"day of month field '\?': '\?' is not a value"),
    ("5-1 * * * *", "minute range '5-1' runs backwards"),
    ("*/0 * * * *", r"minute step in '\*/0' must be at least 1"),
    ("0 6 * JAN-DEX *", "month value 'DEX' is not a number"),
    ("", "must be five fields"),
])
def test_bad_cron_is_rejected_with_the_field_and_value(cron: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        parse_cron(cron)
    assert f"schedule.cron {cron!r}" in str(err.value)


def test_cron_values_and_names() -> None:
    cron = parse_cron("  5/20  9-17/4 * jan,Jul mon-fri ")
    assert cron.text == "5/20 9-17/4 * jan,Jul mon-fri"
    assert cron.values == ((5, 25, 45), (9, 13, 17), tuple(range(1, 32)), (1, 7), (1, 2, 3, 4, 5))
    assert cron.restricted == (True, True, False, True, True)


def test_bad_timezone_and_missing_schedule(tmp_path: Path) -> None:
    path = tmp_path / "wf.yaml"
    text = WEEKLY.read_text().replace("timezone: UTC", "timezone: Mars/Olympus")
    path.write_text(text.replace("path: data/", f"path: {EXAMPLES}/data/"))
    with pytest.raises(InputError, match=r"schedule\.timezone 'Mars/Olympus' is not an IANA"):
        workflow_schedule(load_workflow(path))
    with pytest.raises(InputError, match=r"has no schedule: add e\.g\. schedule"):
        schedule_objects(EXAMPLES / "demo.yaml", "snowflake", data_schema="SALES")


# -- BigQuery schedule syntax -----------------------------------------------------------------

@pytest.mark.parametrize(("cron", "tz", "expected"), [
    ("0 6 * * *", "UTC", "every day 06:00"),
    ("30 */2 * * *", "UTC", "every 2 hours from 00:30 to 22:30"),
    ("*/15 9-17 * * *", "UTC", "every 15 minutes from 09:00 to 17:45"),
    ("0 6 * * 1,4", "UTC", "every mon,thu 06:00"),
    ("0 6 * * MON-FRI", "UTC", "every mon,tue,wed,thu,fri 06:00"),
    ("15 7 * 1,7 1", "UTC", "every mon of jan,jul 07:15"),
    ("0 6 1,15 * *", "UTC", "1,15 of month 06:00"),
    ("0 6 1 1,7 *", "UTC", "1 of jan,jul 06:00"),
    ("0 6 * JAN,JUL *", "UTC", "every day of jan,jul 06:00"),
    ("0 6 * * 1", "Asia/Kolkata", "every mon 00:30"),       # UTC+05:30 all year
    ("0 3 * * 1", "Asia/Kolkata", "every sun 21:30"),       # the day moves back
    ("*/15 * * * *", "Europe/Berlin", "every 15 minutes from 00:00 to 23:45"),  # DST-proof
    ("0 9-17 * * *", "Asia/Kolkata", "every 1 hours from 03:30 to 11:30"),
])
def test_cron_to_bigquery_schedule(cron: str, tz: str, expected: str) -> None:
    assert bigquery_schedule(parse_cron(cron), tz) == expected


@pytest.mark.parametrize(("cron", "tz", "message"), [
    ("0 6,7,9 * * *", "UTC", "are not evenly spaced"),
    ("0 6 * * 1", "Europe/Berlin", "daylight saving time.*04:00 or 05:00 UTC"),
    ("0 6,18 * * 1", "UTC", "runs once a day; use one minute and one hour"),
    ("0 6 1 * 1", "UTC", "day of month OR the weekday"),
    ("0 3 1 * *", "Asia/Kolkata", "21:30 UTC on the previous day"),
    ("0 2-8 * * *", "Asia/Kolkata", "window crosses midnight"),
])
def test_cron_bigquery_cannot_express_is_a_clear_error(cron: str, tz: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        bigquery_schedule(parse_cron(cron), tz)
    assert repr(cron) in str(err.value)


# -- golden files -----------------------------------------------------------------------------

@pytest.mark.parametrize("warehouse", ["snowflake", "bigquery", "duckdb"])
def test_schedule_objects_match_golden(warehouse: str) -> None:
    text = schedule_objects(WEEKLY, warehouse, dry_run=True, **OPTIONS[warehouse])
    text = text.replace(str(ROOT), "<ROOT>")  # the crontab names absolute folders
    golden(SNAPSHOTS / "weekly_rebalance" / f"schedule-{warehouse}.txt", text)


# -- snowflake task graph ---------------------------------------------------------------------

def variant(tmp_path: Path, schedule: str) -> Path:
    """The weekly example with another schedule block (sources as absolute paths)."""
    text = WEEKLY.read_text().replace("path: data/", f"path: {EXAMPLES}/data/")
    start, end = text.index("schedule:"), text.index("rebalance:")
    path = tmp_path / "variant.yaml"
    path.write_text(text[:start] + schedule + text[end:])
    return path


def snowflake_statements(path: Path):
    wf = load_workflow(path)
    loc = Location(database="ANALYTICS", schema="TERRAPLAN", data_schema="SALES")
    return wf, snowflake_objects(SF, wf, workflow_schedule(wf), loc, "TERRAPLAN_WH")


def test_snowflake_task_graph_structure() -> None:
    wf, statements = snowflake_statements(WEEKLY)
    kinds = [" ".join(s.sql.split()[:4]) for s in statements]
    assert kinds[0] == 'ALTER TASK IF EXISTS'
    assert statements[0].sql.endswith('"SALES"."WEEKLY_REBALANCE__ROOT" SUSPEND')
    creates = [s for s in statements if s.sql.startswith("CREATE OR REPLACE TASK")]
    resumes = [s.sql for s in statements if s.sql.endswith(" RESUME")]
    assert len(creates) == len(wf.steps) + 1 and len(resumes) == len(wf.steps) + 1
    assert resumes[-1] == 'ALTER TASK "SALES"."WEEKLY_REBALANCE__ROOT" RESUME'  # root last
    assert statements.index(next(s for s in statements if s.sql.endswith("RESUME"))) > \
        statements.index(creates[-1])
    root = creates[0].sql
    assert "SCHEDULE = 'USING CRON 3 6 * * 1 UTC'" in root
    assert ("WHEN SYSTEM$STREAM_HAS_DATA('\"SALES\".\"WEEKLY_REBALANCE__COUNTIES__STREAM\"')"
            in root)
    assert 'WAREHOUSE = "TERRAPLAN_WH"' in root and "AFTER" not in root
    stream = next(s.sql for s in statements if "STREAM" in s.sql.split()[3])
    assert stream == ('CREATE OR REPLACE STREAM "SALES"."WEEKLY_REBALANCE__COUNTIES__STREAM" '
                      'ON TABLE "SALES"."COUNTIES"')
    # the root's body is a DML statement reading the stream: that consumes it
    body = sqlglot.parse_one(root.split("\nAS\n", 1)[1], read="snowflake")
    assert isinstance(body, exp.Insert)
    assert "WEEKLY_REBALANCE__COUNTIES__STREAM" in {t.name for t in body.find_all(exp.Table)}
    child = creates[1].sql
    assert 'AFTER "SALES"."WEEKLY_REBALANCE__ROOT"' in child
    # the rebalanced step: one Snowflake Scripting block, the alignment joined in, then
    # the CALL fed today's alignment as current, with the weight and the max_moved cap
    body = child.split("\nAS\n", 1)[1].strip()
    assert body.startswith("EXECUTE IMMEDIATE $$") and body.endswith("$$")
    lines = [ln.strip().rstrip(";") for ln in body.splitlines()[2:-2]]
    assert [ln.split()[0] for ln in lines] == ["CREATE", "CREATE", "CALL"]
    assert lines[0] == ('CREATE TABLE IF NOT EXISTS "SALES"."TERRITORY_ASSIGNMENTS" '
                        '("ID" VARCHAR, "TERRITORY" VARCHAR)')
    join = sqlglot.parse_one(lines[1], read="snowflake")
    assert join.this.name == "WEEKLY_REBALANCE__BALANCE__REBALANCE"
    assert {t.name for t in join.find_all(exp.Table)} == {
        "COUNTIES", "TERRITORY_ASSIGNMENTS", "WEEKLY_REBALANCE__BALANCE__REBALANCE"}
    names, args = parse_call(lines[2], "snowflake")
    assert names == ["ANALYTICS", "TERRAPLAN", "TERRITORY_BALANCING"]
    assert args[0].this == '"SALES"."WEEKLY_REBALANCE__BALANCE__REBALANCE"'
    params = {e.this.name: e.expression.name for e in args[-1].expressions}
    assert params["current"] == "__terraplan_current"
    assert params["max_moved"] == "0.2" and params["disruption_weight"] == "10"


def test_snowflake_statements_parse_or_are_known_commands() -> None:
    _, statements = snowflake_statements(WEEKLY)
    for s in statements:
        (parsed,) = sqlglot.parse(s.sql, read="snowflake")
        if s.tree is not None:  # the trigger table
            assert isinstance(parsed, exp.Create) and parsed.sql("snowflake") == s.sql
        else:  # sqlglot has no tree for tasks, streams or ALTER TASK
            assert isinstance(parsed, exp.Command)
            assert s.sql.split()[0] in ("ALTER", "CREATE")


def test_snowflake_cron_only_and_triggered_only(tmp_path: Path) -> None:
    _, cron_only = snowflake_statements(variant(tmp_path, "schedule: {cron: '30 5 * * *', "
                                                          "timezone: Europe/Berlin}\n"))
    root = next(s.sql for s in cron_only if s.sql.startswith("CREATE OR REPLACE TASK"))
    assert "USING CRON 30 5 * * * Europe/Berlin" in root and "WHEN" not in root
    assert not any("STREAM " in s.sql for s in cron_only)
    assert root.endswith("SELECT 'weekly_rebalance', CURRENT_TIMESTAMP(), NULL")
    _, triggered = snowflake_statements(variant(tmp_path, "schedule: {on_change: [counties, "
                                                          "adjacency]}\n"))
    root = next(s.sql for s in triggered if s.sql.startswith("CREATE OR REPLACE TASK"))
    assert "SCHEDULE" not in root  # a triggered task: Snowflake runs it when a stream has data
    assert root.count("SYSTEM$STREAM_HAS_DATA") == 2 and " OR " in root
    assert sum(s.sql.startswith("CREATE OR REPLACE STREAM") for s in triggered) == 2


def test_snowflake_schedule_needs_the_data_schema() -> None:
    with pytest.raises(InputError, match="needs --data-schema"):
        schedule_objects(WEEKLY, "snowflake")


def test_snowflake_schedule_runs_through_the_given_session() -> None:
    class Session:
        def __init__(self) -> None:
            self.sql_seen: list[str] = []

        def sql(self, text: str):
            self.sql_seen.append(text)
            return self

        def collect(self) -> list:
            return []

    session, echoed = Session(), []
    text = schedule_objects(WEEKLY, "snowflake", dry_run=False, session=session,
                            echo=echoed.append, **OPTIONS["snowflake"])
    assert len(session.sql_seen) == len(echoed) == 7
    assert all(s in text for s in session.sql_seen)
    assert session.sql_seen[-1].endswith("RESUME") and "ROOT" in session.sql_seen[-1]


@pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning")
def test_snowflake_trigger_table_and_root_body_run_on_fakesnow(tmp_path: Path) -> None:
    fakesnow = pytest.importorskip("fakesnow")
    connector = pytest.importorskip("snowflake.connector")
    _, statements = snowflake_statements(variant(tmp_path, "schedule: {cron: '0 6 * * 1'}\n"))
    table = next(s.sql for s in statements if s.tree is not None)
    root = next(s.sql for s in statements if s.sql.startswith("CREATE OR REPLACE TASK"))
    with fakesnow.patch():
        conn = connector.connect(database="ANALYTICS", schema="SALES")
        try:
            cur = conn.cursor()
            cur.execute("CREATE SCHEMA IF NOT EXISTS ANALYTICS.SALES")
            cur.execute(table)
            cur.execute(root.split("\nAS\n", 1)[1])  # the root's INSERT (no stream here)
            cur.execute('SELECT "WORKFLOW", "CHANGED_ROWS" FROM "SALES"."TERRAPLAN_TRIGGERS"')
            assert cur.fetchall() == [("weekly_rebalance", None)]
        finally:
            conn.close()


# -- bigquery scheduled query -----------------------------------------------------------------

def test_bigquery_transfer_command_and_script() -> None:
    wf = load_workflow(WEEKLY)
    loc = Location(project="my-project", dataset="terraplan", data_dataset="sales")
    transfer = bigquery_transfer(BQ, wf, workflow_schedule(wf), loc, "US")
    assert transfer.schedule == "every mon 06:03"
    argv = transfer.argv
    assert argv[:3] == ["bq", "mk", "--transfer_config"]
    assert "--data_source=scheduled_query" in argv and "--schedule=every mon 06:03" in argv
    assert "--project_id=my-project" in argv and "--location=US" in argv
    params = json.loads(next(a for a in argv if a.startswith("--params="))[len("--params="):])
    assert params == {"query": transfer.script}
    # the printed command is one shell line that gives back exactly this argv
    text = schedule_objects(WEEKLY, "bigquery", **OPTIONS["bigquery"])
    line = next(x for x in text.splitlines() if x.startswith("bq mk"))
    assert shlex.split(line) == argv


def test_bigquery_script_guard_and_statements_parse() -> None:
    wf = load_workflow(WEEKLY)
    loc = Location(project="my-project", dataset="terraplan", data_dataset="sales")
    statements = bigquery_script(BQ, wf, workflow_schedule(wf), loc)
    trees = [s for s in statements if s.tree is not None]
    assert [type(s.tree).__name__ for s in trees] == ["Declare"] * 4 + [
        "Set", "Set", "Create", "Create", "Insert"]  # the creates: the rebalance join
    for s in trees:
        assert sqlglot.parse_one(s.sql, read="bigquery").sql("bigquery") == s.sql
    changed = trees[5].sql
    assert "FROM `sales`.`__TABLES__` WHERE table_id = 'counties'" in changed
    assert "TIMESTAMP_MILLIS(MAX(last_modified_time))" in changed
    guard = next(s.sql for s in statements if s.sql.startswith("IF "))
    assert guard.startswith("IF NOT last_run IS NULL AND (changed_at IS NULL OR changed_at <= "
                            "last_run) THEN") and "RETURN;" in guard
    calls = [s.sql for s in statements if s.sql.startswith("CALL ")]
    assert len(calls) == len(wf.steps)
    assert statements.index(next(s for s in statements if s.sql.startswith("IF "))) < \
        statements.index(next(s for s in statements if s.sql.startswith("CALL ")))
    insert = trees[-1].tree
    assert insert.this.this.name == "terraplan_runs"  # the workflow row comes last


def test_bigquery_cron_only_has_no_guard_and_on_change_only_polls(tmp_path: Path) -> None:
    wf = load_workflow(variant(tmp_path, "schedule: {cron: '0 6 * * 1'}\n"))
    statements = bigquery_script(BQ, wf, workflow_schedule(wf), Location(dataset="terraplan"))
    assert not any(s.sql.startswith("IF ") or "__TABLES__" in s.sql for s in statements)
    on_the_hour = bigquery_transfer(BQ, wf, workflow_schedule(wf), Location(dataset="terraplan"))
    assert "an off-the-hour minute (e.g. 06:03) avoids it" in on_the_hour.script
    wf = load_workflow(variant(tmp_path, "schedule: {on_change: [counties]}\n"))
    transfer = bigquery_transfer(BQ, wf, workflow_schedule(wf), Location(dataset="terraplan"),
                                 poll="every 30 minutes")
    assert transfer.schedule == "every 30 minutes"
    assert "__TABLES__" in transfer.script and "--project_id" not in " ".join(transfer.argv)


def test_bigquery_source_names_are_checked(tmp_path: Path) -> None:
    text = WEEKLY.read_text().replace("path: data/scus.csv\n    id_columns: [scu_id]",
                                      "table: \"sales.x; DROP TABLE y --\"")
    path = tmp_path / "wf.yaml"
    path.write_text(text.replace("path: data/", f"path: {EXAMPLES}/data/"))
    with pytest.raises(InputError, match=r"source 'counties'.*is not a BigQuery table name"):
        schedule_objects(path, "bigquery")
    # the rebalance join is SQL the script runs itself: the name is refused there too
    with pytest.raises(InputError, match=r"'sales.x; DROP TABLE y --' is not a BigQuery"):
        compile_workflow(path, "bigquery")
    # without the rebalance, the CALL carries it as a string the procedure checks and refuses
    path.write_text(path.read_text().split("rebalance:")[0] + "steps:" +
                    path.read_text().split("steps:", 1)[1])
    assert "'sales.x; DROP TABLE y --'" in compile_workflow(path, "bigquery")


# -- duckdb crontab ---------------------------------------------------------------------------

def test_crontab_block_and_install(tmp_path: Path) -> None:
    wf = load_workflow(WEEKLY)
    block = crontab_block(wf, workflow_schedule(wf), command="/opt/venv/bin/terraplan",
                          workdir=WEEKLY.parent)
    lines = block.splitlines()
    assert lines[0] == "# >>> terraplan weekly_rebalance >>>" and lines[-1].startswith("# <<<")
    folder = shlex.quote(str(WEEKLY.parent))
    assert (f"3 6 * * 1 cd {folder} && /opt/venv/bin/terraplan run weekly_rebalance.yaml "
            ">> terraplan-weekly_rebalance.cron.log 2>&1") in lines
    elsewhere = crontab_block(wf, workflow_schedule(wf), workdir=tmp_path)
    assert f"cd {tmp_path} && terraplan run {WEEKLY} >>" in elsewhere  # outside it: absolute
    assert "CRON_TZ=UTC" in lines and any(x.startswith("@reboot ") and " watch " in x
                                         for x in lines)

    calls = []

    class Done:
        def __init__(self, stdout: str = "", returncode: int = 0) -> None:
            self.stdout, self.returncode = stdout, returncode

    old = "MAILTO=me\n" + block.replace("3 6 * * 1", "0 5 * * 2") + "*/5 * * * * other job\n"

    def run(argv, **kwargs):
        calls.append((argv, kwargs.get("input")))
        return Done(old) if argv == ["crontab", "-l"] else Done()

    new = install_crontab(block, run=run)
    assert calls[-1] == (["crontab", "-"], new)
    assert new.count(">>> terraplan weekly_rebalance") == 1 and "0 5 * * 2" not in new
    assert new.startswith("MAILTO=me\n") and "*/5 * * * * other job" in new
    calls.clear()
    fresh = install_crontab(block, run=lambda argv, **kw: (calls.append(argv),
                                                           Done("", 1))[1])
    assert fresh == block


# -- CLI --------------------------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="terraplan")
    register(p.add_subparsers(dest="command", required=True), {})
    return p


def test_cli_compile_to_file_and_stdout(tmp_path: Path, capsys) -> None:
    out = tmp_path / "sql" / "demo.sql"
    args = parser().parse_args(["compile", str(EXAMPLES / "demo.yaml"), "--warehouse",
                                "snowflake", "--data-schema", "SALES", "--out", str(out)])
    assert args.handler(args) == 0
    assert out.read_text() == compile_workflow(EXAMPLES / "demo.yaml", "snowflake",
                                               data_schema="SALES")
    assert capsys.readouterr().out.startswith(f"wrote {out} (1 step(s), snowflake)")
    args = parser().parse_args(["compile", str(EXAMPLES / "hub_location.yaml")])
    assert args.handler(args) == 0
    assert capsys.readouterr().out == compile_workflow(EXAMPLES / "hub_location.yaml", "duckdb")


def test_cli_schedule_dry_run_prints(capsys) -> None:
    args = parser().parse_args(["schedule", str(WEEKLY), "--warehouse", "bigquery",
                                "--project", "my-project", "--data-dataset", "sales",
                                "--location", "US", "--dry-run"])
    assert args.handler(args) == 0
    assert capsys.readouterr().out == schedule_objects(WEEKLY, "bigquery",
                                                       **OPTIONS["bigquery"])


def test_cli_schedule_snowflake_without_credentials_exits_2(tmp_path: Path, monkeypatch,
                                                            capsys) -> None:
    for var in ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_DEFAULT_CONNECTION_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SNOWFLAKE_HOME", str(tmp_path))  # no connections.toml there
    assert not snowflake_credentials()
    assert main(["schedule", str(WEEKLY), "--warehouse", "snowflake",
                 "--data-schema", "SALES"]) == 2
    assert "no Snowflake connection settings" in capsys.readouterr().err
    assert snowflake_credentials("myconn")
    assert snowflake_credentials(environ={"SNOWFLAKE_ACCOUNT": "acme",
                                          "SNOWFLAKE_HOME": str(tmp_path)})


def test_schedule_with_an_odd_workflow_name_keeps_its_statements(tmp_path: Path) -> None:
    text = WEEKLY.read_text().replace("name: weekly_rebalance",
                                      "name: \"w\\\"; DROP TABLE t; --\\nx\"")
    path = tmp_path / "odd.yaml"
    path.write_text(text.replace("path: data/", f"path: {EXAMPLES}/data/"))
    _, statements = snowflake_statements(path)
    script = schedule_objects(path, "snowflake", data_schema="SALES")
    parsed = [p for p in sqlglot.parse(script, read="snowflake") if p is not None]
    assert len(parsed) == len(statements)
    root = next(s.sql for s in statements if s.sql.startswith("CREATE OR REPLACE TASK"))
    assert root.startswith('CREATE OR REPLACE TASK "SALES"."W___DROP_TABLE_T_____X__ROOT"')
    assert "COMMENT = 'terraplan workflow w\"; DROP TABLE t; --\\nx: root'" in root
    crontab = schedule_objects(path, "duckdb", workdir=tmp_path)
    assert all(line.startswith(("#", "CRON_TZ=", "3 6 * * 1 ", "@reboot "))
               for line in crontab.splitlines())

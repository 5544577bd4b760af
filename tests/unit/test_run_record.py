"""One run record: every warehouse's run log has the same columns (#10).

The DDL each adapter generates is parsed back with sqlglot in that warehouse's dialect
and its column names compared with :data:`udfs.base.RUN_LOG_COLUMNS`; an older DuckDB
log (11 columns) grows the new ones and keeps its rows readable, on both the runner's
path and the compiled script's.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp

from udfs.base import RUN_LOG_COLUMNS, RUN_LOG_TABLE, RunRecord
from udfs.bigquery import ddl as bq_ddl
from udfs.duckdb import DuckDBWarehouse, run_log_ddl
from udfs.redshift import ddl as rs_ddl
from udfs.snowflake import runlog
from udfs.spark.tables import log_schema
from workflows.compile import compile_statements

EXPECTED = [c for c, _ in RUN_LOG_COLUMNS]
DEMO = Path(__file__).parents[2] / "workflows" / "examples" / "demo.yaml"
BQ = bq_ddl.Target("my-project", "terraplan", "us.terraplan", "https://svc.example.run.app")


def _create_columns(sql: str, dialect: str) -> list[str]:
    tree = sqlglot.parse_one(sql, read=dialect)
    assert isinstance(tree, exp.Create), sql
    return [c.name.lower() for c in tree.find_all(exp.ColumnDef)]


def _insert_columns(sql: str, dialect: str) -> list[str]:
    tree = sqlglot.parse_one(sql, read=dialect)
    assert isinstance(tree, exp.Insert), sql
    return [c.name.lower() for c in tree.this.expressions]


def _run_log_ddls() -> dict[str, list[str]]:
    compiled = [s.sql for s in compile_statements(DEMO, "duckdb")
                if s.tree is not None and isinstance(s.tree, exp.Create)
                and s.tree.find(exp.Table).name == RUN_LOG_TABLE]
    assert len(compiled) == 1
    return {
        "duckdb (terraplan run)": _create_columns(run_log_ddl(), "duckdb"),
        "duckdb (terraplan compile)": _create_columns(compiled[0], "duckdb"),
        "snowflake": _create_columns(runlog.create_sql(exp.to_table("TERRAPLAN_RUNS")),
                                     "snowflake"),
        "bigquery": _create_columns(bq_ddl.run_log_table(BQ).sql, "bigquery"),
        "redshift": _create_columns(rs_ddl.run_log(rs_ddl.Target()), "redshift"),
        "databricks": _create_columns(f"CREATE TABLE t ({log_schema()})", "databricks"),
    }


def test_every_warehouse_run_log_has_the_run_record_columns():
    for warehouse, columns in _run_log_ddls().items():
        assert columns == EXPECTED, warehouse


def test_every_insert_into_the_log_names_the_same_columns():
    inserts = {"duckdb (terraplan compile)": [
        s.sql for s in compile_statements(DEMO, "duckdb")
        if isinstance(s.tree, exp.Insert) and s.tree.find(exp.Table).name == RUN_LOG_TABLE]}
    procedure = bq_ddl.procedure(BQ, bq_ddl.registry.get("territory_balancing").spec).sql
    inserts["bigquery procedure"] = re.findall(r"INSERT INTO `[^`]+`\.`[^`]+`\.`terraplan_runs`"
                                               r" \([^)]*\) VALUES .*?\);", procedure)
    inserts["snowflake"] = [runlog.insert_sql(exp.to_table("TERRAPLAN_RUNS"))]
    for where, statements in inserts.items():
        assert statements, where
        dialect = where.split()[0]
        for sql in statements:
            assert _insert_columns(sql.rstrip(";"), dialect) == EXPECTED, where


def test_run_record_renders_documents_as_json_text():
    t = datetime(2026, 1, 1)
    rec = RunRecord(run_id="r", component="c", status="succeeded", started_at=t,
                    params={"k": [1, 2]}, report='{"a": 1}', inputs=None)
    row = dict(zip(EXPECTED, rec.values(), strict=True))
    assert json.loads(row["params"]) == {"k": [1, 2]} and row["report"] == '{"a": 1}'
    assert row["inputs"] is None and row["trigger"] == "manual"
    assert rec.values(["RUN_ID", "PARAMS"]) == ["r", '{"k": [1, 2]}']  # Snowflake's names


OLD_LOG = ("CREATE TABLE terraplan_runs (run_id VARCHAR, workflow VARCHAR, step VARCHAR, "
           "component VARCHAR, status VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, "
           "params VARCHAR, report VARCHAR, error VARCHAR, outputs VARCHAR)")


def test_an_older_duckdb_log_grows_the_new_columns_and_keeps_its_rows():
    con = duckdb.connect()
    con.execute(OLD_LOG)
    con.execute("INSERT INTO terraplan_runs VALUES ('old', 'w', 's', 'c', 'succeeded', "
                "TIMESTAMP '2020-01-01', TIMESTAMP '2020-01-01', '{}', '{}', '', '{}')")
    wh = DuckDBWarehouse(connection=con)
    wh.record_run(RunRecord(run_id="new", component="c", status="succeeded",
                            started_at=datetime(2026, 1, 1), workflow="w", step="s",
                            inputs={"scus": "t"}, trigger="cron"))
    runs = wh.runs()
    assert list(runs.columns) == EXPECTED
    assert runs["run_id"].tolist() == ["old", "new"]
    assert runs["trigger"].isna().tolist() == [True, False]
    assert json.loads(runs["inputs"].iloc[1]) == {"scus": "t"}


def test_the_compiled_duckdb_prelude_grows_an_older_log():
    con = duckdb.connect()
    con.execute(OLD_LOG)
    for s in compile_statements(DEMO, "duckdb")[:2 + len(EXPECTED)]:
        if isinstance(s.tree, (exp.Create, exp.Alter)):
            con.execute(s.sql)
    have = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'terraplan_runs'").fetchall()]
    assert have == EXPECTED

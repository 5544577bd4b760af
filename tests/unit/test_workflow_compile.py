"""Compiled workflow scripts: golden files per workflow x warehouse, every statement parsed
back by sqlglot, the DuckDB script executed and equal to the runner's tables, and user
text that stays an identifier or a literal.

Regenerate the golden files with TERRAPLAN_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import sqlglot
from sqlglot import exp

from components.errors import InputError
from tests.conftest import ROOT
from tests.golden import assert_golden
from udfs.duckdb import DuckDBWarehouse, register_functions
from udfs.rebalance import Rebalance, rebalance_params, rebalance_statements
from workflows.compile import (
    Location,
    compile_statements,
    compile_workflow,
    params_of,
    snowflake_constant,
)
from workflows.io import read_input
from workflows.spec import load_workflow

EXAMPLES = ROOT / "workflows" / "examples"
SNAPSHOTS = ROOT / "tests" / "snapshots" / "workflows"
WORKFLOWS = ("demo", "weekly_rebalance", "hub_location")
WAREHOUSES = ("duckdb", "snowflake", "bigquery")
# where things live in the golden files
LOCATIONS = {
    "duckdb": {},
    "snowflake": {"database": "ANALYTICS", "schema": "TERRAPLAN", "data_schema": "SALES"},
    "bigquery": {"project": "my-project", "dataset": "terraplan", "data_dataset": "sales"},
}
EVIL = "x; DROP TABLE y --"


def golden(path: Path, text: str) -> None:
    assert_golden(path, text)


@pytest.mark.parametrize("warehouse", WAREHOUSES)
@pytest.mark.parametrize("name", WORKFLOWS)
def test_compiled_script_matches_golden(name: str, warehouse: str) -> None:
    text = compile_workflow(EXAMPLES / f"{name}.yaml", warehouse, **LOCATIONS[warehouse])
    golden(SNAPSHOTS / name / f"{warehouse}.sql", text)


def constant_value(node: exp.Expression) -> Any:
    """A parsed Snowflake object constant / literal back as a Python value."""
    if isinstance(node, exp.Struct):
        return {e.this.name: constant_value(e.expression) for e in node.expressions}
    if isinstance(node, exp.Array):
        return [constant_value(e) for e in node.expressions]
    if isinstance(node, exp.Boolean):
        return node.this
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Neg):
        return -constant_value(node.this)
    assert isinstance(node, exp.Literal), repr(node)
    return node.this if node.is_string else json.loads(node.this)


def parse_call(sql: str, dialect: str) -> tuple[list[str], list[exp.Expression]]:
    """sqlglot keeps CALL as a command; its target and arguments parse as a function call."""
    assert sql.startswith("CALL ")
    (tree,) = sqlglot.parse("SELECT " + sql[len("CALL "):], read=dialect)
    call = tree.expressions[0]
    names = []
    while isinstance(call, exp.Dot):
        names.append(call.this)
        call = call.expression
    names = [n.name for n in names for n in ([n] if isinstance(n, exp.Identifier)
                                              else n.find_all(exp.Identifier))]
    assert isinstance(call, exp.Anonymous)
    return [*names, call.name], list(call.expressions)


@pytest.mark.parametrize("warehouse", WAREHOUSES)
@pytest.mark.parametrize("name", WORKFLOWS)
def test_every_statement_parses_back(name: str, warehouse: str) -> None:
    wf = load_workflow(EXAMPLES / f"{name}.yaml")
    statements = compile_statements(wf, warehouse, Location(**LOCATIONS[warehouse]))
    calls = [s for s in statements if s.tree is None]
    for s in statements:
        parsed = sqlglot.parse(s.sql, read=warehouse)
        assert len(parsed) == 1, s.sql
        if s.tree is not None:
            assert not isinstance(parsed[0], exp.Command), s.sql
            assert parsed[0].sql(dialect=warehouse) == s.tree.sql(dialect=warehouse)
        else:
            assert isinstance(parsed[0], exp.Command) and s.sql.startswith("CALL "), s.sql
    if warehouse == "duckdb":
        assert not calls  # every DuckDB statement is a sqlglot tree
        return
    assert len(calls) == len(wf.steps)
    for step, call in zip(wf.steps, calls, strict=True):
        names, args = parse_call(call.sql, warehouse)
        params = args[-1]
        if warehouse == "snowflake":
            assert names == ["ANALYTICS", "TERRAPLAN", step.uses.upper()]
            assert isinstance(params, exp.Struct)
            assert constant_value(params) == expected_params(wf, step)
        else:
            assert names == ["my-project", "terraplan", step.uses]
            assert isinstance(params, exp.ParseJSON)
            assert json.loads(params.this.this) == expected_params(wf, step)
        tables = [a for a in args[:-1] if not isinstance(a, exp.Null)]
        assert all(isinstance(a, exp.Literal) and a.is_string for a in tables)
        first = tables[0].this
        source = next(iter(step.inputs.values()))
        if expected_params(wf, step) != params_of(step):  # rebalanced: the joined table
            source = f"{wf.name}__{step.name}__rebalance"
        expected = {"snowflake": f'"SALES"."{source.upper()}"',
                    "bigquery": f"sales.{source}"}[warehouse]
        assert first == expected


def load_sources(con: duckdb.DuckDBPyConnection, wf) -> None:
    wh = DuckDBWarehouse(connection=con)
    for name, src in wf.sources.items():
        wh.load_dataframe(name, read_input(str(wf.source_path(name)),
                                           id_columns=src.get("id_columns", ())))


def normalised(df: pd.DataFrame) -> pd.DataFrame:
    out = df.drop(columns=["run_id"]).astype(object)
    return out.where(out.notna(), None).reset_index(drop=True)


@pytest.mark.parametrize("name", ["demo", "hub_location"])
def test_duckdb_script_runs_and_equals_the_runner(name: str, tmp_path: Path) -> None:
    from workflows.runner import run_workflow

    path = EXAMPLES / f"{name}.yaml"
    wf = load_workflow(path)
    con = duckdb.connect()
    register_functions(con)
    load_sources(con, wf)
    con.execute(compile_workflow(wf, "duckdb"))  # the whole script, as a user would run it

    run_workflow(path, database=str(tmp_path / "runner.duckdb"), out=str(tmp_path / "out"))
    runner = duckdb.connect(str(tmp_path / "runner.duckdb"))
    for step in wf.steps:
        for target in step.outputs.values():
            compiled = con.execute(f"SELECT * FROM {exp.to_identifier(target, quoted=True)}"
                                   ).df()
            expected = runner.execute(f"SELECT * FROM {exp.to_identifier(target, quoted=True)}"
                                      ).df()
            assert list(compiled.columns) == list(expected.columns)
            assert len(compiled) == len(expected) > 0
            pd.testing.assert_frame_equal(normalised(compiled), normalised(expected))
            assert compiled["run_id"].nunique() == 1
    log = con.execute("SELECT workflow, step, status, report FROM terraplan_runs").df()
    assert list(log["step"]) == [s.name for s in wf.steps]
    assert set(log["status"]) == {"succeeded"} and set(log["workflow"]) == {wf.name}
    assert all(json.loads(r)["status"] for r in log["report"])
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
              .fetchall()}
    assert "__terraplan_step" not in tables


def write_workflow(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wf.yaml"
    path.write_text(text)
    return path


BAD_METRIC = """
name: bad
sources:
  ga_counties: {path: %s, id_columns: [scu_id]}
steps:
  - name: balance
    uses: territory_balancing
    inputs: {scus: ga_counties}
    with: {territories: 4, metrics: [no_such_column], id: scu_id, lon: lon, lat: lat}
    outputs: {assignments: territory_assignments}
"""


def test_duckdb_script_stops_on_bad_input_and_keeps_the_outputs(tmp_path: Path) -> None:
    path = write_workflow(tmp_path, BAD_METRIC % (EXAMPLES / "data" / "scus.csv"))
    wf = load_workflow(path)
    con = duckdb.connect()
    register_functions(con)
    load_sources(con, wf)
    con.execute('CREATE TABLE "territory_assignments" AS SELECT 42 AS kept')
    with pytest.raises(duckdb.Error, match=r"terraplan step balance: .*no_such_column"):
        con.execute(compile_workflow(wf, "duckdb"))
    assert con.execute('SELECT * FROM "territory_assignments"').fetchall() == [(42,)]


EVIL_WORKFLOW = """
name: "evil\\"; DROP TABLE t; --\\nsecond line"
sources:
  counties: {table: "%s"}
steps:
  - name: balance
    uses: territory_balancing
    inputs: {scus: counties}
    with:
      territories: 3
      metrics: [population]
      id: scu_id
      lon: lon
      lat: lat
      region: "it's a \\\\ \\"quoted\\" -- value"
      seed: 0
      time_limit: 5
    outputs: {assignments: y_out}
"""


def test_user_text_stays_identifiers_and_literals(tmp_path: Path, georgia) -> None:
    path = write_workflow(tmp_path, EVIL_WORKFLOW % EVIL)
    wf = load_workflow(path)
    region = wf.steps[0].params["region"]
    assert region == 'it\'s a \\ "quoted" -- value'
    for warehouse in WAREHOUSES:
        text = compile_workflow(wf, warehouse, **LOCATIONS[warehouse])
        # in a -- comment the name is JSON-quoted, so its line break cannot end the comment
        assert '-- terraplan workflow "evil\\"; DROP TABLE t; --\\nsecond line"' in text
        assert not any(line.startswith("second line") and warehouse != "duckdb"
                       for line in text.splitlines())
        statements = compile_statements(wf, warehouse, Location(**LOCATIONS[warehouse]))
        # the script splits into exactly the statements generated, nothing smuggled in
        parsed = [p for p in sqlglot.parse(text, read=warehouse) if p is not None]
        assert len(parsed) == len(statements)
        assert not any(isinstance(p, exp.Drop) and p.name in ("t", "y") for p in parsed)
        if warehouse == "duckdb":
            names = {t.name for s in statements for t in s.tree.find_all(exp.Table)}
            assert EVIL in names
            literals = {lit.this for s in statements for lit in s.tree.find_all(exp.Literal)}
            assert any(region in json.loads(v).values() for v in literals
                       if v.startswith("{\"territories\""))
        else:
            _, args = parse_call(statements[0].sql, warehouse)
            first = args[0].this
            assert first == ('"SALES"."x; DROP TABLE y --"' if warehouse == "snowflake"
                             else f"sales.{EVIL}")
            value = constant_value(args[-1]) if warehouse == "snowflake" \
                else json.loads(args[-1].this.this)
            assert value["region"] == region


def test_duckdb_script_with_an_odd_table_name_runs(tmp_path: Path, georgia) -> None:
    path = write_workflow(tmp_path, EVIL_WORKFLOW.replace('      region: "it\'s a \\\\ '
                                                          '\\"quoted\\" -- value"\n', "")
                          % EVIL)
    con = duckdb.connect()
    register_functions(con)
    DuckDBWarehouse(connection=con).load_dataframe(EVIL, georgia.drop(columns=["wkt"]))
    con.execute('CREATE TABLE "y" AS SELECT 1 AS still_here')
    con.execute(compile_workflow(path, "duckdb"))
    assert con.execute('SELECT * FROM "y"').fetchall() == [(1,)]
    assert con.execute('SELECT COUNT(*) FROM "y_out"').fetchone() == (159,)


def test_snowflake_constant_renders_json_values() -> None:
    value = {"a": 1, "b": [1.5, "x'y", True, None], "c": {"d": -2}, "skip": None}
    text = snowflake_constant(value)
    assert text == "{'a': 1, 'b': [1.5, 'x\\'y', TRUE, NULL], 'c': {'d': -2}}"
    parsed = sqlglot.parse_one("SELECT " + text, read="snowflake").expressions[0]
    assert constant_value(parsed) == {"a": 1, "b": [1.5, "x'y", True, None], "c": {"d": -2}}


def test_bad_options_are_input_errors() -> None:
    demo = EXAMPLES / "demo.yaml"
    with pytest.raises(InputError, match="--warehouse must be one of"):
        compile_workflow(demo, "oracle")  # redshift compiles now (#17)
    with pytest.raises(InputError, match="--project 'My Project' is not a BigQuery project"):
        compile_workflow(demo, "bigquery", project="My Project")
    with pytest.raises(InputError, match=r"--dataset 'a\.b' is not a BigQuery dataset"):
        compile_workflow(demo, "bigquery", dataset="a.b")
    with pytest.raises(InputError, match=r"schema 'a\.b' must be one name"):
        compile_workflow(demo, "snowflake", schema="a.b")


def expected_params(wf, step) -> dict:
    """What a step's CALL must carry: its own parameters, or the rebalance's."""
    rb = Rebalance.of(wf)
    if rb is not None and rb.applies_to(step):
        return rebalance_params(rb, params_of(step))
    return params_of(step)


@pytest.mark.parametrize("warehouse", ["snowflake", "bigquery"])
def test_rebalance_is_compiled_into_the_call(warehouse: str) -> None:
    """#11: the compiled step joins today's alignment in and its CALL feeds it as current
    with the disruption weight and the max_moved cap of the rebalance block."""
    wf = load_workflow(EXAMPLES / "weekly_rebalance.yaml")
    statements = compile_statements(wf, warehouse, Location(**LOCATIONS[warehouse]))
    create_alignment, join, call = statements
    assert isinstance(create_alignment.tree, exp.Create)
    assert create_alignment.tree.args.get("exists")  # the first run: every unit new
    assert create_alignment.tree.this.this.name.lower() == "territory_assignments"
    tables = {t.name.lower() for t in join.tree.find_all(exp.Table)}
    assert tables == {"counties", "territory_assignments", "weekly_rebalance__balance__rebalance"}
    assert "'(new)'" in join.sql and join.tree.find(exp.Join).side == "LEFT"
    _, args = parse_call(call.sql, warehouse)
    params = constant_value(args[-1]) if warehouse == "snowflake" else \
        json.loads(args[-1].this.this)
    assert params["current"] == "__terraplan_current"
    assert params["max_moved"] == 0.2 and params["disruption_weight"] == 10
    assert args[0].this.lower().endswith("weekly_rebalance__balance__rebalance\"") or \
        args[0].this.endswith("weekly_rebalance__balance__rebalance")
    text = compile_workflow(EXAMPLES / "weekly_rebalance.yaml", warehouse)
    assert "not compiled" not in text


def test_rebalance_is_flagged_where_not_compiled() -> None:
    text = compile_workflow(EXAMPLES / "weekly_rebalance.yaml", "duckdb")
    assert "not compiled (rebalance)" in text
    assert "not compiled" not in compile_workflow(EXAMPLES / "demo.yaml", "snowflake")


def test_compiled_rebalance_runs_on_duckdb() -> None:
    """The join as compiled, rendered for DuckDB and run: new units get '(new)', known
    ones their territory, ids matched as text (leading zeros)."""
    wf = load_workflow(EXAMPLES / "weekly_rebalance.yaml")
    units, alignment, joined = (exp.Table(this=exp.to_identifier(n, quoted=True))
                                for n in ("counties", "territory_assignments", "j"))
    con = duckdb.connect()
    con.execute("CREATE TABLE counties AS SELECT * FROM (VALUES ('01001', 5), ('01003', 7)) "
                "AS t(scu_id, accounts)")
    for tree in rebalance_statements(units, alignment, joined, "scu_id"):
        con.execute(tree.sql(dialect="duckdb"))  # the alignment does not exist yet
    assert con.execute("SELECT DISTINCT __terraplan_current FROM j").fetchall() == [("(new)",)]
    con.execute("INSERT INTO territory_assignments VALUES ('01001', 'T1')")
    for tree in rebalance_statements(units, alignment, joined, "scu_id"):
        con.execute(tree.sql(dialect="duckdb"))
    assert con.execute("SELECT scu_id, __terraplan_current FROM j ORDER BY 1").fetchall() == [
        ("01001", "T1"), ("01003", "(new)")]
    assert Rebalance.of(wf) == Rebalance("balance", "territory_assignments", 10, 0.2)


def test_unmapped_outputs(tmp_path: Path) -> None:
    """Snowflake leaves an unmapped output NULL; BigQuery's wrapper needs a table for it."""
    wf = load_workflow(write_workflow(tmp_path, BAD_METRIC % (EXAMPLES / "data" / "scus.csv")))
    _, args = parse_call(compile_statements(wf, "snowflake", Location())[0].sql, "snowflake")
    assert args[3].this == '"TERRITORY_ASSIGNMENTS"' and isinstance(args[4], exp.Null)
    _, args = parse_call(compile_statements(wf, "bigquery", Location())[0].sql, "bigquery")
    assert [a.this for a in args[3:5]] == ["terraplan.territory_assignments",
                                           "terraplan.bad__balance__territories"]

"""``terraplan deploy databricks``: the Unity Catalog DDL as a golden file, every statement
parsed back by sqlglot's ``databricks`` dialect, names as quoted identifiers.

sqlglot cannot parse a ``TABLE`` parameter, so a UDTF statement is parsed with that one
parameter taken out and the parameter checked as text; the handler classes themselves
run from ``spark.sql`` in tests/integration/test_spark_sql.py.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from components import registry
from tests.conftest import ROOT
from tests.golden import assert_golden
from udfs.spark.ddl import Target, script, statements
from udfs.spark.udtf import HANDLERS, TYPES, partition_columns
from workflows.cli import main

SNAPSHOTS = ROOT / "tests" / "snapshots" / "databricks"
ODD = "x; DROP SCHEMA y --"


def parse(sql: str) -> exp.Expression:
    (tree,) = sqlglot.parse(sql, read="databricks")
    return tree


def function_parts(tree: exp.Expression) -> tuple[list[str], list[tuple[str, str]]]:
    udf = tree.this
    assert isinstance(udf, exp.UserDefinedFunction)
    name = [p.this for p in (udf.this.args["catalog"], udf.this.args["db"], udf.this.this)]
    assert all(p.quoted for p in (udf.this.args["catalog"], udf.this.args["db"], udf.this.this))
    args = [(c.this.this, c.kind.sql("databricks")) for c in udf.expressions]
    return [str(n) for n in name], args


def test_deploy_script_matches_golden():
    assert_golden(SNAPSHOTS / "deploy.sql", script(Target("main", "terraplan")))


def test_every_statement_parses_back_with_the_spec_signature():
    target = Target("main", "terraplan")
    stmts = statements(target)
    schema = parse(stmts[0])
    assert schema.args["kind"] == "SCHEMA" and schema.args["exists"]
    seen_udtf = set()
    for sql in stmts[1:]:
        if " TABLE, " in sql.split("\n", 1)[0]:
            head = sql.split("\n", 1)[0]
            assert head.endswith("(`units` TABLE, `params` STRING)")
            tree = parse(sql.replace("`units` TABLE, ", "", 1))
            (catalog, schema_name, name), args = function_parts(tree)
            component = name.removesuffix("_by_partition")
            seen_udtf.add(component)
            returns = tree.find(exp.ReturnsProperty).this
            got = [(c.this.this, c.kind.sql("databricks")) for c in returns.expressions]
            want = [(c, TYPES[t]) for c, t in partition_columns(registry.get(component).spec)]
            assert got == [(c, exp.DataType.build(t, dialect="databricks").sql("databricks"))
                           for c, t in want]
            handler = next(p for p in tree.find(exp.Properties).expressions
                           if "HANDLER" in p.sql("databricks").upper())
            assert HANDLERS[component].__name__ in handler.sql("databricks")
        else:
            tree = parse(sql)
            (catalog, schema_name, name), args = function_parts(tree)
            spec = registry.get(name).spec
            assert [a for a, _ in args] == [t.name for t in spec.inputs] + ["params"]
            assert {t for _, t in args} == {"STRING"}
            assert "RETURNS STRING" in sql and "LANGUAGE PYTHON" in sql
        assert (catalog, schema_name) == ("main", "terraplan")
        assert 'dependencies = \'["terraplan==' in sql
    assert seen_udtf == set(HANDLERS)


def test_user_names_stay_identifiers():
    target = Target(ODD, f"{ODD} 2", dependency="/Volumes/main/code/w/terraplan.whl")
    for sql in statements(target, ["territory_balancing"]):
        tree = parse(sql.replace("`units` TABLE, ", "", 1))
        table = tree.find(exp.Table)
        parts = [p for p in (table.args.get("catalog"), table.args.get("db")) if p is not None]
        assert ODD in [p.this for p in parts] and all(p.quoted for p in parts)
        assert sql.startswith("CREATE SCHEMA") or "/Volumes/main/code/w/terraplan.whl" in sql


def test_deploy_dry_run_prints_the_script_and_bad_names_are_one_line(capsys):
    assert main(["deploy", "databricks", "--dry-run", "--catalog", "main",
                 "--schema", "terraplan"]) == 0
    assert capsys.readouterr().out == script(Target("main", "terraplan"))
    assert main(["deploy", "databricks", "--dry-run", "--schema", "a`b"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--schema 'a`b' is not a Unity Catalog name" in err

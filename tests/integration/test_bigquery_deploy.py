"""`terraplan deploy bigquery` SQL (golden, parsed back by sqlglot); `terraplan serve bigquery`."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time

import pytest
import requests
import sqlglot
from sqlglot import exp

from components import registry
from components.errors import InputError
from tests.conftest import ROOT, grid_scus
from tests.golden import assert_golden
from tests.integration.test_bigquery_common import bq_body, rows_json
from udfs.bigquery import ddl
from udfs.bigquery.tables import parse_table_id
from workflows.cli import main

SNAPSHOTS = ROOT / "tests" / "snapshots" / "bigquery"
TARGET = ddl.Target("my-project", "terraplan", "us.terraplan",
                    "https://terraplan-bigquery-abc123-uc.a.run.app")


def _golden(name: str, text: str) -> None:
    assert_golden(SNAPSHOTS / name, text)


@pytest.mark.parametrize("component", sorted(registry.components()))
def test_deploy_sql_matches_golden(component):
    _golden(f"{component}.sql", ddl.script(TARGET, [component]))


def test_run_log_golden():
    _golden("terraplan_runs.sql", ddl.run_log_table(TARGET).sql + ";\n")


def test_tables_and_functions_parse_back_with_sqlglot():
    for statement in ddl.statements(TARGET):
        if statement.kind == "procedure":
            continue
        if statement.kind == "dataset":  # sqlglot would print OPTIONS (location) wrongly
            tree = sqlglot.parse_one(statement.sql, read="bigquery")
            assert isinstance(tree, exp.Create) and not tree.find(exp.Command)
            continue
        tree = sqlglot.parse_one(statement.sql, read="bigquery")
        assert isinstance(tree, (exp.Create, exp.Alter)) and not tree.find(exp.Command)
        assert tree.sql(dialect="bigquery", pretty=True) == statement.sql
    fn = ddl.remote_function(TARGET, registry.get("territory_balancing").spec, "packed").sql
    assert "REMOTE WITH CONNECTION `my-project.us.terraplan`" in fn
    assert "user_defined_context=[('component', 'territory_balancing'), ('mode', 'packed')]" in fn
    assert "max_batching_rows=1" in fn


def _dynamic_templates(procedure_sql: str) -> list[str]:
    return [m.group(2) for m in re.finditer(r"EXECUTE IMMEDIATE FORMAT\((['\"])(.*?)\1,",
                                            procedure_sql)]


def test_procedure_dynamic_sql_parses_with_sqlglot():
    """sqlglot cannot parse BigQuery scripting (IF/RAISE/EXECUTE IMMEDIATE fall back to
    Command), so the procedure is checked piecewise: every dynamic statement it builds
    parses as GoogleSQL once its %s slots are filled with a quoted table / projection."""
    for component in registry.components():
        sql = ddl.procedure(TARGET, registry.get(component).spec).sql
        templates = _dynamic_templates(sql)
        assert len(templates) >= 4
        for template in templates:
            filled = template.replace("%s", "`p.d.t`", 1)
            if template.startswith("ALTER TABLE"):
                rest = "ADD COLUMN IF NOT EXISTS `a` STRING"
            elif template.startswith("CREATE TABLE IF NOT EXISTS"):
                rest = "`a` STRING"
            elif template.startswith("INSERT INTO"):
                filled = filled.replace("%s", "`run_id`, `a`", 2)
                rest = "`p.d.t2`"
            else:
                rest = "LAX_STRING(r['a']) AS `a`" if "UNNEST" in filled else "`p.d.t2`"
            filled = filled.replace("%s", rest)
            tree = sqlglot.parse_one(filled, read="bigquery")
            assert not isinstance(tree, exp.Command), filled
        # the only text taken from CALL arguments goes through the name check first
        assert sql.count("RAISE USING MESSAGE") >= len(registry.get(component).spec.inputs)
        assert "name_pattern" in sql and "'`' ||" in sql


@pytest.mark.parametrize("bad", ["x; DROP TABLE y --", "x`; DROP TABLE y; --", "a.b.c.d.e",
                                 "d.t'--", "p.d.t\\", "UPPER.d.t", ""])
def test_user_table_names_are_checked(bad):
    with pytest.raises(InputError):
        parse_table_id(bad, argument="scus", default_project="p-1")
    # the procedure's RE2 pattern refuses them too (checked with Python's re, whose
    # classes agree on these characters once \p{...} is replaced by a word class)
    pattern = ddl.TABLE_NAME_RE2.replace(r"[\p{L}\p{M}\p{N}\p{Pc}\p{Pd}\p{Zs}]", r"[\w\- ]")
    assert not re.match(pattern, bad)


@pytest.mark.parametrize("good", ["sales.scus", "my-project.sales.scus",
                                  "example.com:my-project.sales.scus", "sales.Kunden Tabelle"])
def test_good_table_names_pass(good):
    parse_table_id(good, argument="scus", default_project="p-1")


@pytest.mark.parametrize("field", ["project", "dataset", "connection", "endpoint"])
def test_deploy_identifiers_are_validated(field):
    values = {"project": "my-project", "dataset": "terraplan", "connection": "us.terraplan",
              "endpoint": "https://x.a.run.app"}
    values[field] = "x; DROP TABLE y --"
    with pytest.raises(InputError, match=field):
        ddl.Target(**values)


def test_dry_run_prints_build_files_and_golden_sql(capsys):
    code = main(["deploy", "bigquery", "--dry-run", "--project", "my-project",
                 "--connection", "us.terraplan", "--endpoint",
                 "https://terraplan-bigquery-abc123-uc.a.run.app"])
    out = capsys.readouterr().out
    assert code == 0
    assert "# ---- Dockerfile ----" in out and "functions-framework" in out
    assert "google-cloud-bigquery" in out
    assert ddl.script(TARGET) in out


def test_real_deploy_without_credentials_stops_with_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    code = main(["deploy", "bigquery", "--project", "my-project", "--connection",
                 "us.terraplan"])
    err = capsys.readouterr().err
    assert code == 2
    assert "gcloud auth application-default login" in err and "Traceback" not in err


def test_build_dir_holds_what_the_container_imports(tmp_path):
    from udfs.bigquery.deploy import write_build_dir

    out = write_build_dir(tmp_path / "build")
    assert (out / "Dockerfile").is_file() and (out / "requirements.txt").is_file()
    assert (out / "udfs" / "bigquery" / "main.py").is_file()
    assert (out / "sql" / "scu").is_dir() and (out / "components" / "balance").is_dir()
    probe = subprocess.run(
        [sys.executable, "-I", "-c", "import sys; sys.path.insert(0, '.'); "
         "import udfs.bigquery.handler, components.sqlgen as s; print(s.sql_root())"],
        cwd=out, capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == str(out / "sql")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_terraplan_serve_bigquery_answers_one_request():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "workflows.cli", "serve", "bigquery",
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(url, timeout=2)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        params = {"territories": 3, "metrics": ["load"]}
        body = bq_body([[rows_json(grid_scus()), None, None, json.dumps(params)]])
        response = requests.post(url, data=body, timeout=60,
                                 headers={"Content-Type": "application/json"})
        assert response.status_code == 200, response.text
        doc = json.loads(response.json()["replies"][0])
        assert doc["report"]["n_territories"] == 3 and len(doc["tables"]["assignments"]) == 36
    finally:
        proc.terminate()
        proc.wait(timeout=20)


# -- item 4: the container has shapely and h3, so polygon and H3 adjacency run there ----------

def test_container_requirements_pin_shapely_and_h3():
    from udfs.bigquery.deploy import requirements

    lines = requirements().splitlines()
    assert "shapely<3,>=2.0" in lines and "h3<5,>=4.0" in lines, lines
    assert not [line for line in lines if ";" in line]  # no extra markers in a container


@pytest.mark.parametrize("params, table", [
    ({"source": "polygons", "wkt": "wkt"},
     [{"id": "a", "wkt": "POLYGON((0 0,1 0,1 1,0 1,0 0))"},
      {"id": "b", "wkt": "POLYGON((1 0,2 0,2 1,1 1,1 0))"}]),
    ({"source": "h3", "h3": "cell"},
     [{"id": "a", "cell": "8928308280fffff"}, {"id": "b", "cell": "8928308280bffff"}]),
])
def test_polygon_and_h3_adjacency_answer_through_the_service(params, table):
    from udfs.bigquery.handler import RemoteFunctionHandler

    handler = RemoteFunctionHandler(client_factory=None)
    status, body = handler.handle(bq_body([[json.dumps(table), None, None, json.dumps(params)]],
                                          context={"component": "adjacency",
                                                   "mode": "packed"}))
    doc = json.loads(json.loads(body)["replies"][0])
    assert status == 200 and "error" not in doc, doc.get("error")
    pairs = {(r["from_id"], r["to_id"]) for r in doc["tables"]["edges"]}
    assert ("a", "b") in pairs or ("b", "a") in pairs


# -- item 12: multi-output procedures publish in one transaction, keeping the tables ----------

@pytest.mark.parametrize("component", sorted(registry.components()))
def test_procedure_publishes_every_output_and_the_run_row_in_one_transaction(component):
    spec = registry.get(component).spec
    sql = ddl.procedure(TARGET, spec).sql
    assert sql.count("BEGIN TRANSACTION;") == 1 and sql.count("COMMIT TRANSACTION;") == 1
    inside = sql.split("BEGIN TRANSACTION;")[1].split("COMMIT TRANSACTION;")[0]
    for table in spec.outputs:
        q = f"out_{table.name}_q"
        assert f"FORMAT('DELETE FROM %s WHERE TRUE', {q});" in inside
        assert f"SELECT %s FROM %s', {q}, out_{table.name}_cols" in inside
        # the target is never re-created: its partitioning, clustering and descriptions stay
        assert f"'CREATE OR REPLACE TABLE %s AS SELECT * FROM %s', {q}" not in sql
    assert "'succeeded'" in inside  # the run row commits with the outputs
    handler = sql.split("EXCEPTION WHEN ERROR THEN")[1]
    assert "IF @@transaction_id IS NOT NULL THEN\n      ROLLBACK TRANSACTION;" in handler

"""The Redshift Lambda handler called with Redshift's event bodies; the adapter registry."""

from __future__ import annotations

import json

import pandas as pd
import sqlglot

from components import registry
from tests.conftest import grid_scus
from udfs.base import RUN_LOG_COLUMNS, adapters
from udfs.redshift.handler import MAX_VARCHAR_BYTES, handle, lambda_handler

PARAMS = {"territories": 3, "metrics": ["load"], "x": "x", "y": "y", "seed": 0,
          "max_iterations": 40}


def _event(rows, function="terraplan.f_territory_balancing", **extra):
    return {"request_id": "23FF1F97-F28A-44AA-AB67-266ED976BF40",
            "cluster": "arn:aws:redshift:us-east-1:123456789012:cluster:c", "user": "admin",
            "database": "dev", "external_function": function, "query_id": 5678234,
            "num_records": len(rows), "arguments": rows, **extra}


def _packed(df: pd.DataFrame) -> str:
    return json.dumps(df.to_dict("records"))


def test_several_rows_one_result_each_in_order_and_equal_to_direct():
    a, b = grid_scus(4, 4, 0), grid_scus(5, 5, 1)
    rows = [[_packed(a), None, None, json.dumps(PARAMS)],
            [_packed(b), None, None, json.dumps(PARAMS)], None]
    reply = json.loads(lambda_handler(_event(rows)))
    assert reply["success"] is True and reply["num_records"] == 3
    assert reply["results"][2] is None  # a NULL row answers NULL
    for df, text in zip((a, b), reply["results"][:2], strict=True):
        doc = json.loads(text)
        direct = registry.get("territory_balancing").run(df, **PARAMS)
        got = pd.DataFrame.from_records(doc["tables"]["assignments"])
        want = direct.tables["assignments"]
        assert sorted(got["id"]) == sorted(want["id"])
        merged = got.merge(want, on="id", suffixes=("", "_want"))
        assert (merged["territory"] == merged["territory_want"]).all()
        assert len(set(got["territory"])) == 3


def test_bad_row_answers_its_error_and_the_others_still_answer():
    good = [_packed(grid_scus(4, 4, 0)), None, None, json.dumps(PARAMS)]
    bad = [_packed(grid_scus(4, 4, 0)), None, None, json.dumps({**PARAMS, "territories": 0})]
    reply = handle(_event([good, bad, ["not json", None, None, "{}"]]))
    assert reply["success"] is True
    first, second, third = (json.loads(r) for r in reply["results"])
    assert "tables" in first
    assert second["kind"] == "input" and "territories" in second["error"]
    assert "error" in third


def test_malformed_events_fail_the_batch_with_error_msg():
    assert handle({"arguments": "x"})["success"] is False
    assert "num_records" in handle(_event([[None]], num_records=5))["error_msg"]
    assert "not a terraplan function" in handle(_event([[None]], function="s.f_nope"))[
        "error_msg"]
    assert handle("{not json")["success"] is False
    assert "missing 'arguments'" in handle({"num_records": 0})["error_msg"]


def test_an_answer_over_redshift_varchar_is_that_rows_error():
    big = grid_scus(40, 40, 0)  # 1,600 units: the answer is well over 64 KB
    reply = handle(_event([[_packed(big), None, None, json.dumps(PARAMS)]]))
    doc = json.loads(reply["results"][0])
    assert f"{MAX_VARCHAR_BYTES:,}" in doc["error"] and doc["kind"] == "input"


def test_every_warehouse_adapter_is_discovered_with_a_run_log_in_its_types():
    found = adapters()
    assert {"duckdb", "snowflake", "bigquery", "redshift", "databricks"} <= set(found)
    for adapter in found.values():
        cols = adapter.run_log_columns()
        assert cols[0][0] == "run_id" and len(cols) == len(RUN_LOG_COLUMNS)
        sqlglot.transpile(f"CREATE TABLE t ({', '.join(f'{c} {t}' for c, t in cols)})",
                          read=adapter.dialect)


def test_compile_redshift_calls_parse_back_and_quote_names():
    from tests.conftest import ROOT
    from workflows.compile import compile_statements

    statements = compile_statements(ROOT / "workflows" / "examples" / "demo.yaml", "redshift")
    assert statements and all(s.sql.startswith('CALL "terraplan".') for s in statements)
    for s in statements:
        call = sqlglot.parse_one("SELECT " + s.sql[len("CALL "):], read="redshift")
        assert call.find(sqlglot.exp.Anonymous) is not None

"""The BigQuery service as a real deployment meets it (issue #12): deterministic bad input
is 400 (never retried), large replies fall back to table mode, retried requests are
idempotent. Served over HTTP on 127.0.0.1 by the container's own app."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest
import requests

from components import registry
from tests.integration.test_bigquery_common import bq_body, local_server
from tests.integration.test_bigquery_tables import FakeClient
from udfs.bigquery import sizing
from udfs.bigquery.handler import RemoteFunctionHandler, set_handler


@pytest.fixture(scope="module")
def url():
    with local_server() as base:
        yield base


@pytest.fixture
def handler():
    fresh = RemoteFunctionHandler(client_factory=_no_client)
    previous = set_handler(fresh)
    yield fresh
    set_handler(previous)


def _no_client(project):
    raise AssertionError("packed mode must not create a BigQuery client")


def post(url: str, body: bytes) -> requests.Response:
    return requests.post(url, data=body, timeout=120,
                         headers={"Content-Type": "application/json"})


# -- item 11: deterministic bad input is 400 with errorMessage, not a retried 5xx -----------

def deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


@pytest.mark.parametrize("body, words", [
    (b'{"requestId": "r1", "calls": [["\xff\xfe"]]}', "not UTF-8"),
    (b"\xc3\x28 not even json", "not UTF-8"),
    (b'{"requestId": "r1", "calls": ' + deep(5000) + b"}", "nested too deeply"),
    (deep(100_000), "nested too deeply"),
])
def test_deterministic_bad_bodies_are_400_with_an_error_message(url, handler, body, words):
    got = post(url, body)
    assert got.status_code == 400, got.text[:300]
    assert words in got.json()["errorMessage"]


def test_an_argument_nested_too_deeply_is_that_calls_input_error(url, handler):
    nested = "[" * 5000 + "]" * 5000
    got = post(url, bq_body([[nested, None, None, json.dumps({"territories": 2})]]))
    assert got.status_code == 200
    reply = json.loads(got.json()["replies"][0])
    assert "nested too deeply" in reply["error"]
    assert reply.get("kind") == "input"


# -- item 7: the procedure picks table mode for a reply over 15 MB -----------------------------

COST_CONTEXT = {"component": "cost_matrix", "mode": "packed"}


def points(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"id": [f"{i:05d}" for i in range(n)], "lon": rng.uniform(-85, -81, n),
                         "lat": rng.uniform(30, 35, n)})


def cost_call(n: int, k: int | None) -> list:
    params = {"lon": "lon", "lat": "lat", **({"k": k} if k else {})}
    return [points(n).to_json(orient="records"), None, None, None, json.dumps(params)]


def estimated_reply_bytes(component: str, values: dict) -> int:
    spec = registry.get(component).spec
    expr = sizing.reply_bytes_expression(spec).sql(dialect="duckdb")
    names = sizing.variables(spec)
    cols = ", ".join(f"CAST(? AS BIGINT) AS {n}" for n in names)
    row = duckdb.connect().execute(f"SELECT {expr} FROM (SELECT {cols})",
                                   [values.get(n, 0 if n not in sizing.PARAM_VARIABLES else None)
                                    for n in names]).fetchone()
    return int(row[0])


def mode_for(n: int, k: int | None) -> str:
    body = json.dumps([json.loads(cost_call(n, k)[0])])
    return sizing.choose_mode(registry.get("cost_matrix").spec, {
        "packed_bytes": len(body), "packed_rows": n, "points_rows": n, "param_k": k})


@pytest.mark.parametrize("n, k, mode", [(5000, 50, "tables"), (1000, 50, "packed"),
                                        (430, None, "tables"), (300, None, "packed"),
                                        (20_000, 10, "tables")])
def test_procedure_mode_choice_reads_the_reply_size_not_only_the_input(n, k, mode):
    # the 5,000-point k = 50 matrix is a 0.3 MB input and a 20.6 MB reply
    assert mode_for(n, k) == mode


def test_the_mode_choice_tested_is_the_one_the_procedure_runs():
    from udfs.bigquery.ddl import Target, procedure

    spec = registry.get("cost_matrix").spec
    sql = procedure(Target("p-1", "ds", "us.c", "https://x.a.run.app"), spec).sql
    assert f"SET mode = {sizing.mode_expression(spec).sql(dialect='bigquery')};" in sql
    assert "SET param_k = SAFE_CAST(JSON_VALUE(params, '$.k') AS INT64);" in sql
    # the fallback: a reply over the limit after all re-runs the call in table mode
    assert "'$.kind') = 'reply_too_large' THEN\n" in sql


@pytest.mark.parametrize("n, k", [(400, 50), (1500, 20), (120, None)])
def test_reply_estimate_is_at_least_the_real_reply(handler, n, k):
    roomy = RemoteFunctionHandler(client_factory=_no_client, max_response_bytes=10**9)
    status, body = roomy.handle(bq_body([cost_call(n, k)], context=COST_CONTEXT))
    assert status == 200
    reply = json.loads(body)["replies"][0]
    assert "error" not in json.loads(reply)
    estimate = estimated_reply_bytes("cost_matrix", {"points_rows": n, "param_k": k})
    real = len(json.dumps(reply))
    assert real <= estimate <= 1.5 * real, (real, estimate)


def test_a_20mb_cost_matrix_over_http_is_refused_packed_and_written_in_table_mode(url, handler):
    got = post(url, bq_body([cost_call(5000, 50)], context=COST_CONTEXT))
    assert got.status_code == 200, got.text[:300]  # one call's error, not a failed batch
    reply = json.loads(got.json()["replies"][0])
    assert reply["kind"] == "reply_too_large"
    assert "20,5" in reply["error"] and "switches by itself" not in reply["error"]

    client = FakeClient()
    client.tables["test-project.ds.points"] = json.loads(points(5000).to_json(orient="records"))
    tables = RemoteFunctionHandler(client_factory=lambda project: client)
    set_handler(tables)
    request = {"inputs": {"points": "ds.points"}, "outputs": {"costs": "ds.costs"},
               "params": {"lon": "lon", "lat": "lat", "k": 50}, "run_id": "big-1"}
    got = post(url, bq_body([[json.dumps(request)]],
                            context={"component": "cost_matrix", "mode": "tables"}))
    assert got.status_code == 200, got.text[:300]
    doc = json.loads(got.json()["replies"][0])
    assert doc["outputs"]["costs"] == {"table": "test-project.ds.costs", "rows": 250_000}, doc
    costs = pd.DataFrame.from_records(client.tables["test-project.ds.costs"])
    assert len(costs) == 250_000 and costs.groupby("origin_id").size().eq(50).all()
    assert not [t for t in client.tables if "_terraplan_stage_" in t]


def test_the_mode_choice_runs_the_same_in_googlesql_on_the_emulator(emulator_client):
    """The GoogleSQL rendering the procedure holds, evaluated by a BigQuery engine."""
    spec = registry.get("cost_matrix").spec
    client = emulator_client("test-project")
    expr = sizing.mode_expression(spec).sql(dialect="bigquery")
    for n, k in ((5000, 50), (1000, 50), (430, None), (300, None)):
        values = {"packed_bytes": 60 * n, "packed_rows": n, "points_rows": n, "param_k": k}
        cols = ", ".join(f"CAST({'NULL' if values.get(v) is None else values[v]} AS INT64) AS {v}"
                         for v in sizing.variables(spec))
        (row,) = list(client.query(f"SELECT {expr} AS mode FROM (SELECT {cols})").result())
        assert row["mode"] == sizing.choose_mode(spec, values) == mode_for(n, k), (n, k)

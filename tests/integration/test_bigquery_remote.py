"""The BigQuery remote function over HTTP on 127.0.0.1, called with BigQuery's request bodies."""

from __future__ import annotations

import json
import logging

import pytest
import requests

from components.balance import territory_balancing
from tests.conftest import grid_edges, grid_scus
from tests.integration.test_bigquery_common import (
    bq_body,
    local_server,
    rows_json,
    same_table,
    tables_of,
)
from udfs.bigquery.contract import MAX_REQUEST_BYTES, MAX_ROW_INPUT_BYTES
from udfs.bigquery.handler import RemoteFunctionHandler, set_handler

GRID_PARAMS = {"territories": 4, "metrics": ["load"], "seed": 0}
GA_PARAMS = {"territories": 6, "metrics": ["population", "accounts"], "id": "scu_id",
             "lon": "lon", "lat": "lat", "current": "current_territory", "tolerance": 0.1,
             "max_iterations": 40, "seed": 0}


@pytest.fixture(scope="module")
def url():
    with local_server() as base:
        yield base


@pytest.fixture
def handler():
    """A fresh handler per test (restored after), so limits can be lowered safely."""
    fresh = RemoteFunctionHandler(client_factory=_no_client)
    previous = set_handler(fresh)
    yield fresh
    set_handler(previous)


def _no_client(project):
    raise AssertionError("packed mode must not create a BigQuery client")


def post(url: str, body: bytes, **headers) -> requests.Response:
    return requests.post(url, data=body, timeout=60,
                         headers={"Content-Type": "application/json", **headers})


def test_every_call_answered_in_order_same_as_the_component(url, handler, georgia,
                                                            georgia_edges):
    grid, edges = grid_scus(), grid_edges()
    calls = [
        # STRING arguments: JSON text, as TO_JSON_STRING gives them
        [rows_json(grid), None, rows_json(edges), json.dumps(GRID_PARAMS)],
        # JSON arguments: already-parsed values
        [json.loads(rows_json(grid)), None, None, {**GRID_PARAMS, "territories": "3"}],
        # a bad call in the middle answers alone
        [rows_json(grid), None, None, json.dumps({"territories": 4, "metrics": ["nope"]})],
        [rows_json(georgia), None, rows_json(georgia_edges), json.dumps(GA_PARAMS)],
    ]
    response = post(url, bq_body(calls))
    assert response.status_code == 200, response.text
    replies = response.json()["replies"]
    assert len(replies) == len(calls) and all(isinstance(r, str) for r in replies)

    direct = [
        territory_balancing(grid, edges=edges, x="x", y="y", **GRID_PARAMS),
        territory_balancing(grid, **{**GRID_PARAMS, "territories": 3}),
        None,
        territory_balancing(georgia, edges=georgia_edges, **GA_PARAMS),
    ]
    for reply, want in zip(replies, direct, strict=True):
        if want is None:
            error = json.loads(reply)["error"]
            assert "nope" in error and "load" in error  # names the column and what exists
            continue
        got = tables_of(reply)
        for name in ("assignments", "territories"):
            same_table(got[name], want.tables[name])
        doc = json.loads(reply)
        assert doc["report"]["objective"] == pytest.approx(want.report["objective"])
        assert [f["name"] for f in doc["schema"]["territories"]] == \
            list(want.tables["territories"].columns)
    assert json.loads(replies[0])["report"]["n_territories"] == 4
    assert json.loads(replies[1])["report"]["n_territories"] == 3


@pytest.mark.parametrize(("args", "words"), [
    (["{not json", None, None, "{}"], ["not valid JSON"]),
    (['{"id": 1}', None, None, json.dumps(GRID_PARAMS)], ["scus", "JSON array of row objects"]),
    ([None, None, None, json.dumps(GRID_PARAMS)], ["scus", "NULL"]),
    (["GRID", None, None, '{"territories": 4, "metrics": ["load"], "tolerence": 1}'],
     ["tolerence", "did you mean 'tolerance'"]),
    (["GRID", None, None, '{"territories": -2, "metrics": ["load"]}'],
     ["territories", "[1, inf)", "-2"]),
    (["GRID", None, None, '[1, 2]'], ["parameters argument must be a JSON object"]),
    (["GRID", None, None, '{"territories": 99, "metrics": ["load"]}'], ["99"]),
])
def test_bad_arguments_get_a_readable_error_in_their_reply(url, handler, args, words):
    args = [rows_json(grid_scus()) if a == "GRID" else a for a in args]
    response = post(url, bq_body([args]))
    assert response.status_code == 200
    (reply,) = response.json()["replies"]
    error = json.loads(reply)["error"]
    for word in words:
        assert word in error, error
    assert "Traceback" not in error


@pytest.mark.parametrize(("body", "words"), [
    (b"[1, 2]", ["JSON object", "requestId"]),
    (b"not json at all", ["not JSON"]),
    (b'{"calls": [["a"]]}', ["missing 'requestId'"]),
    (b'{"requestId": "r"}', ["missing 'calls'"]),
    (b'{"requestId": "r", "calls": ["a", "b"]}', ["one array of arguments per row"]),
    (b'{"requestId": 7, "calls": []}', ["'requestId' must be a string"]),
    (b'{"requestId": "r", "calls": [], "userDefinedContext": {"component": 1}}',
     ["string values"]),
    (b'{"requestId": "r", "calls": [], "userDefinedContext": {}}', ["component"]),
    (b'{"requestId": "r", "calls": [], "userDefinedContext": {"component": "territory_bal"}}',
     ["did you mean 'territory_balancing'"]),
    (b'{"requestId": "r", "calls": [], "userDefinedContext": {"component": '
     b'"territory_balancing", "mode": "magic"}}', ["packed, tables"]),
    (b'{"requestId": "r", "calls": [["a", "b"]], "userDefinedContext": {"component": '
     b'"territory_balancing"}}', ["takes 4", "scus, centers, edges, params", "redeploy"]),
])
def test_requests_not_in_bigquerys_shape_fail_the_batch_with_400(url, handler, body, words):
    response = post(url, body)
    assert response.status_code == 400
    message = response.json()["errorMessage"]
    assert set(response.json()) == {"errorMessage"}
    for word in words:
        assert word in message, message


def test_get_is_refused_and_empty_batches_are_answered(url, handler):
    assert requests.get(url, timeout=10).status_code == 405
    response = post(url, bq_body([]))
    assert response.status_code == 200 and response.json() == {"replies": []}


def test_oversized_request_is_refused_before_reading_it(url, handler):
    filler = "x" * (MAX_REQUEST_BYTES + 10)
    response = post(url, bq_body([[filler, None, None, "{}"]]))
    assert response.status_code == 413
    message = response.json()["errorMessage"]
    assert "table-reference mode" in message and f"{MAX_REQUEST_BYTES:,}" in message


def test_a_row_over_bigquerys_5_mib_gets_its_own_error(url, handler):
    big = [{"id": f"u{i}", "x": 0.0, "y": 0.0, "pad": "p" * 440} for i in range(12_000)]
    text = json.dumps(big)
    assert MAX_ROW_INPUT_BYTES < len(text) < MAX_REQUEST_BYTES - 100_000
    small = [rows_json(grid_scus()), None, None, json.dumps(GRID_PARAMS)]
    response = post(url, bq_body([[text, None, None, "{}"], small]))
    assert response.status_code == 200
    first, second = response.json()["replies"]
    assert "5,242,880" in json.loads(first)["error"]
    assert "table-reference mode" in json.loads(first)["error"]
    assert "tables" in json.loads(second)


def test_replies_over_the_response_limit(url, handler):
    call = [rows_json(grid_scus()), None, None, json.dumps(GRID_PARAMS)]
    one = post(url, bq_body([call]))
    assert one.status_code == 200
    assert json.loads(one.json()["replies"][0]).get("tables")
    size = len(one.content)
    handler.max_response_bytes = size // 2  # one answer alone no longer fits
    (reply,) = post(url, bq_body([call])).json()["replies"]
    assert "response limit" in json.loads(reply)["error"]
    handler.max_response_bytes = size + size // 2  # each fits, two do not
    many = post(url, bq_body([call, call]))
    assert many.status_code == 400 and "max_batching_rows" in many.json()["errorMessage"]


def test_no_secrets_or_user_data_in_logs_or_replies(url, handler, caplog):
    secret = "ya29.SECRET-TOKEN-abc123"
    caplog.set_level(logging.DEBUG, logger="terraplan.bigquery")
    calls = [[rows_json(grid_scus()), None, None, json.dumps(GRID_PARAMS)],
             ["{bad", None, None, "{}"]]
    response = post(url, bq_body(calls), Authorization=f"Bearer {secret}",
                    **{"X-Goog-Api-Key": secret})
    assert response.status_code == 200
    for text in (response.text, caplog.text):
        assert secret not in text
        assert "test-user@test-company.com" not in text
    assert "request=124ab1c" in caplog.text and "calls=2 errors=1" in caplog.text
    assert "u000" not in caplog.text  # arguments are not logged
    bad = post(url, b'{"requestId": "r", "calls": 5, "sessionUser": "' + secret.encode() + b'"}')
    assert bad.status_code == 400 and secret not in bad.text and secret not in caplog.text


def test_table_names_with_sql_in_them_never_reach_bigquery(url, handler):
    request = {"inputs": {"scus": "x; DROP TABLE y --"},
               "outputs": {"assignments": "d.a", "territories": "d.t"},
               "params": GRID_PARAMS}
    context = {"component": "territory_balancing", "mode": "tables"}
    response = post(url, bq_body([[json.dumps(request)]], context=context))
    assert response.status_code == 200
    error = json.loads(response.json()["replies"][0])["error"]
    assert "inputs.scus" in error and "is not a table name" in error
    request["outputs"]["territories"] = "proj.d.t`; DROP TABLE d.a; --"
    response = post(url, bq_body([[json.dumps(request)]], context=context))
    assert "outputs.territories" in json.loads(response.json()["replies"][0])["error"]

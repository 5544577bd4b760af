"""The BigQuery service as a real deployment meets it (issue #12): deterministic bad input
is 400 (never retried), large replies fall back to table mode, retried requests are
idempotent. Served over HTTP on 127.0.0.1 by the container's own app."""

from __future__ import annotations

import json

import pytest
import requests

from tests.integration.test_bigquery_common import bq_body, local_server
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

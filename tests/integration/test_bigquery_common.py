"""Shared pieces of the BigQuery tests (no tests here): exact request bodies, a local server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

CONTEXT = {"component": "territory_balancing", "mode": "packed"}


def bq_body(calls: list[list[Any]], context: dict[str, str] | None = None,
            request_id: str = "124ab1c", project: str = "test-project") -> bytes:
    """A request exactly as BigQuery sends it (field names and shape from its docs)."""
    return json.dumps({
        "requestId": request_id,
        "caller": f"//bigquery.googleapis.com/projects/{project}/jobs/"
                  f"{project}:US.bquxjob_5b4c112c_17961fafeaf",
        "sessionUser": "test-user@test-company.com",
        "userDefinedContext": CONTEXT if context is None else context,
        "calls": calls,
    }).encode()


def rows_json(df: pd.DataFrame) -> str:
    """What TO_JSON_STRING(ARRAY_AGG(t)) gives for a table: a JSON array of row objects."""
    return df.to_json(orient="records")


@contextmanager
def local_server() -> Iterator[str]:
    """The functions-framework app the container runs, on 127.0.0.1 and a free port."""
    from werkzeug.serving import make_server

    from udfs.bigquery.app import create_app

    server = make_server("127.0.0.1", 0, create_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def tables_of(reply: str) -> dict[str, pd.DataFrame]:
    doc = json.loads(reply)
    assert "error" not in doc, doc.get("error")
    return {name: pd.DataFrame.from_records(rows) for name, rows in doc["tables"].items()}


def same_table(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Equal after the JSON round trip (the warehouse sees the same values)."""
    want = pd.DataFrame.from_records(json.loads(want.to_json(orient="records")))
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True),
                                  check_dtype=False)

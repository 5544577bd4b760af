"""Fixtures shared by the BigQuery integration tests: bqemulator on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def emulator():
    exe = os.environ.get("TERRAPLAN_BQEMULATOR")
    if not exe or not Path(exe).is_file():
        pytest.skip("bqemulator not configured: set TERRAPLAN_BQEMULATOR to its executable "
                    "(installed in its own venv: its sqlglot pin clashes with terraplan's)")
    port = _free_port()
    env = dict(os.environ)
    if os.environ.get("TERRAPLAN_BQEMULATOR_HOME"):  # where DuckDB finds the spatial ext.
        env["HOME"] = os.environ["TERRAPLAN_BQEMULATOR_HOME"]
    proc = subprocess.Popen([exe, "start", "--rest-host", "127.0.0.1", "--rest-port",
                             str(port), "--grpc-host", "127.0.0.1", "--grpc-port", "0",
                             "--project", "test-project", "--log-level", "error"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{base}/bigquery/v2/projects/test-project/datasets", timeout=2)
            break
        except requests.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.skip(f"bqemulator did not start: {proc.stderr.read().decode()[-500:]}")
            time.sleep(0.5)
    yield base
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture
def emulator_client(emulator, monkeypatch):
    import google.cloud.bigquery.client as bq_client_module
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    assert emulator.startswith("http://127.0.0.1:")
    # bqemulator rejects the client's '*/*' multipart media type (real BigQuery takes it)
    monkeypatch.setattr(bq_client_module, "_GENERIC_CONTENT_TYPE", "application/octet-stream")

    def factory(project):
        return bigquery.Client(project=project or "test-project",
                               credentials=AnonymousCredentials(),
                               client_options=ClientOptions(api_endpoint=emulator))
    return factory

"""Table-reference mode: the service reads and writes tables with google-cloud-bigquery.

Three backends, the same checks:

* ``fake``: an in-process stand-in for ``bigquery.Client`` (always runs) - checks the
  stage-then-copy logic and that a failed write leaves previous outputs as they were;
* ``emulator``: the real client over HTTP to bqemulator on 127.0.0.1 (runs when
  TERRAPLAN_BQEMULATOR names its executable; it needs its own venv, see the report);
* ``real``: a real project, when GOOGLE_APPLICATION_CREDENTIALS and
  TERRAPLAN_BIGQUERY_PROJECT are set (skipped otherwise).
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pandas as pd
import pytest
import requests

from components.balance import territory_balancing
from tests.conftest import grid_edges, grid_scus
from tests.integration.test_bigquery_common import bq_body, local_server
from udfs.bigquery.handler import RemoteFunctionHandler, set_handler

PARAMS = {"territories": 4, "metrics": ["load"], "seed": 0}
CONTEXT = {"component": "territory_balancing", "mode": "tables"}


# -- the in-process fake ------------------------------------------------------------------

class FakeClient:
    """Tables as lists of dicts; ``fail_on`` makes loads into a table id fail."""

    def __init__(self) -> None:
        self.tables: dict[str, list[dict]] = {}
        self.fail_on: set[str] = set()
        self.loads: list[str] = []
        self.deleted: list[str] = []
        self.scripts: list[str] = []
        self.fail_insert: set[str] = set()

    def get_table(self, table):
        table = str(getattr(table, "path", table))
        if table not in self.tables:
            from google.api_core.exceptions import NotFound
            raise NotFound(f"Not found: Table {table}")
        return SimpleNamespace(path=table, num_rows=len(self.tables[table]))

    def list_rows(self, table, max_results=None):
        table = str(getattr(table, "path", table))
        if table not in self.tables:
            from google.api_core.exceptions import NotFound
            raise NotFound(f"Not found: Table {table}")
        rows = self.tables[table][:max_results]
        names = list(rows[0]) if rows else []
        return _Rows([dict(r) for r in rows], names, total_rows=len(self.tables[table]))

    def load_table_from_json(self, rows, table, job_config=None):
        if any(table.endswith(f) or f in table for f in self.fail_on):
            from google.api_core.exceptions import BadRequest
            raise BadRequest(f"cannot load {table}")
        self.tables[table] = [dict(r) for r in rows]
        self.loads.append(table)
        return SimpleNamespace(result=lambda: None)

    def query(self, script):
        """The publish script (udfs.bigquery.publish), as BigQuery runs it: a failure
        inside the transaction rolls every table back."""
        from google.api_core.exceptions import BadRequest, NotFound

        self.scripts.append(script)
        snapshot = None
        for statement in filter(None, (x.strip() for x in script.split(";\n"))):
            names = [n.replace("`", "") for n in re.findall(r"`[^`]+`\.`[^`]+`\.`[^`]+`",
                                                            statement)]
            try:
                if statement == "BEGIN TRANSACTION":
                    snapshot = {t: list(rows) for t, rows in self.tables.items()}
                elif statement.startswith("CREATE TABLE IF NOT EXISTS"):
                    self.tables.setdefault(names[0], [])
                elif statement.startswith("DELETE FROM"):
                    self.tables[names[0]] = []
                elif statement.startswith("INSERT INTO"):
                    target, stage = names
                    if any(f in target for f in self.fail_insert):
                        raise BadRequest(f"cannot insert into {target}")
                    if stage not in self.tables:
                        raise NotFound(f"Not found: Table {stage}")
                    self.tables[target] = [dict(r) for r in self.tables[stage]]
            except Exception:
                if snapshot is not None:
                    self.tables = snapshot
                raise
        return SimpleNamespace(result=lambda: None)

    def delete_table(self, table, not_found_ok=False):
        self.tables.pop(table, None)
        self.deleted.append(table)


class _Rows(list):
    def __init__(self, items, names, total_rows=0):
        super().__init__(items)
        self.schema = [SimpleNamespace(name=n) for n in names]
        self.total_rows = total_rows


def _call(url: str, request: dict, project: str, request_id: str = "124ab1c") -> dict:
    body = bq_body([[json.dumps(request)]], context=CONTEXT, project=project,
                   request_id=request_id)
    response = requests.post(url, data=body, timeout=120,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    return json.loads(response.json()["replies"][0])


def _request(ds: str, *, out_ds: str | None = None) -> dict:
    out_ds = out_ds or ds
    return {"inputs": {"scus": f"{ds}.scus", "edges": f"{ds}.edges"},
            "outputs": {"assignments": f"{out_ds}.assignments",
                        "territories": f"{out_ds}.territories"},
            "params": PARAMS, "run_id": "run-1"}


def _expected():
    return territory_balancing(grid_scus(), edges=grid_edges(), **PARAMS)


def _check_outputs(read, project: str, ds: str, run_id: str) -> None:
    want = _expected()
    for name in ("assignments", "territories"):
        got = read(f"{project}.{ds}.{name}")
        assert list(got.columns) == ["run_id", *want.tables[name].columns]
        assert set(got["run_id"]) == {run_id}
        key = "id" if name == "assignments" else "territory"
        got = got.drop(columns="run_id").sort_values(key).reset_index(drop=True)
        exp = want.tables[name].sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, exp, check_dtype=False)


def test_fake_client_table_mode_and_atomic_failure():
    client = FakeClient()
    client.tables["test-project.ds.scus"] = json.loads(grid_scus().to_json(orient="records"))
    client.tables["test-project.ds.edges"] = json.loads(grid_edges().to_json(orient="records"))
    previous = set_handler(RemoteFunctionHandler(client_factory=lambda project: client))
    try:
        with local_server() as url:
            doc = _call(url, _request("ds"), "test-project")
            assert doc["outputs"]["assignments"] == {"table": "test-project.ds.assignments",
                                                     "rows": 36}

            def read(t):
                return pd.DataFrame.from_records(client.tables[t])

            _check_outputs(read, "test-project", "ds", "run-1")
            assert not [t for t in client.tables if "_terraplan_stage_" in t]

            before = {t: list(rows) for t, rows in client.tables.items()}
            client.fail_on = {"_1"}  # the second output's staging load fails
            doc = _call(url, {**_request("ds"), "run_id": "run-2"}, "test-project")
            assert "cannot load" in doc["error"]
            assert client.tables == before  # previous outputs untouched, no stage left
            missing = _call(url, {**_request("ds"), "run_id": "run-3",
                                  "inputs": {"scus": "ds.nope"}},
                            "test-project")
            assert "Not found" in missing["error"] and "ds.nope" in missing["error"]
    finally:
        set_handler(previous)


# -- item 12: every output in one transaction ---------------------------------------------------

def test_outputs_are_published_in_one_transaction():
    client = FakeClient()
    client.tables["test-project.ds.scus"] = json.loads(grid_scus().to_json(orient="records"))
    client.tables["test-project.ds.edges"] = json.loads(grid_edges().to_json(orient="records"))
    previous = set_handler(RemoteFunctionHandler(client_factory=lambda project: client))
    try:
        with local_server() as url:
            assert "error" not in _call(url, _request("ds"), "test-project")
            (script,) = client.scripts
            body = script.split("BEGIN TRANSACTION;\n")[1].split("COMMIT TRANSACTION;")[0]
            for name in ("assignments", "territories"):
                assert f"DELETE FROM `test-project`.`ds`.`{name}` WHERE TRUE" in body
                assert f"INSERT INTO `test-project`.`ds`.`{name}` (`run_id`, " in body
            assert "CREATE OR REPLACE" not in script  # the tables (and options) stay
            before = {t: list(rows) for t, rows in client.tables.items()}
            client.fail_insert = {"territories"}  # the second publish fails
            doc = _call(url, {**_request("ds"), "run_id": "run-2"}, "test-project")
            assert "cannot insert" in doc["error"]
            assert client.tables == before  # assignments rolled back with it
    finally:
        set_handler(previous)


# -- item 10: BigQuery resends requests; table mode must be idempotent --------------------------

class RacingClient(FakeClient):
    """Both copies of a request stage their outputs before either publishes, and the second
    copy publishes only after the first has cleaned up: the interleaving that made one
    copy's cleanup delete the other's staging tables."""

    def __init__(self) -> None:
        super().__init__()
        self.staged = threading.Barrier(2, timeout=120)
        self.first_done = threading.Event()
        self.lock = threading.Lock()
        self.copiers: list[int] = []

    def load_table_from_json(self, rows, table, job_config=None):
        job = super().load_table_from_json(rows, table, job_config)
        if table.endswith("_1"):  # the last output of this copy is staged
            self.staged.wait()
        return job

    def query(self, script):
        me = threading.get_ident()
        with self.lock:
            self.copiers.append(me)
        if self.copiers.index(me) == 1:
            self.first_done.wait(timeout=120)
        return super().query(script)

    def delete_table(self, table, not_found_ok=False):
        super().delete_table(table, not_found_ok)
        if self.copiers and self.copiers[0] == threading.get_ident():
            self.first_done.set()


def _grid_client(client: FakeClient) -> FakeClient:
    client.tables["test-project.ds.scus"] = json.loads(grid_scus().to_json(orient="records"))
    client.tables["test-project.ds.edges"] = json.loads(grid_edges().to_json(orient="records"))
    return client


def test_the_same_table_mode_request_twice_concurrently():
    client = _grid_client(RacingClient())
    previous = set_handler(RemoteFunctionHandler(client_factory=lambda project: client))
    try:
        with local_server() as url, ThreadPoolExecutor(2) as pool:
            docs = list(pool.map(lambda _: _call(url, _request("ds"), "test-project"), range(2)))
    finally:
        set_handler(previous)
    for doc in docs:
        assert "error" not in doc, doc
        assert doc["outputs"]["assignments"] == {"table": "test-project.ds.assignments",
                                                 "rows": 36}
    _check_outputs(lambda t: pd.DataFrame.from_records(client.tables[t]), "test-project", "ds",
                   "run-1")
    stages = [t for t in client.loads if "_terraplan_stage_" in t]
    assert len(stages) == 4 and len(set(stages)) == 4  # each copy staged its own tables
    assert sorted(client.deleted) == sorted(stages)
    assert not [t for t in client.tables if "_terraplan_stage_" in t]


def test_a_resent_request_that_succeeded_is_answered_without_solving_again():
    client = _grid_client(FakeClient())
    previous = set_handler(RemoteFunctionHandler(client_factory=lambda project: client))
    try:
        with local_server() as url:
            first = _call(url, _request("ds"), "test-project")
            loads = len(client.loads)
            again = _call(url, _request("ds"), "test-project")
            assert len(client.loads) == loads  # nothing solved or written the second time
            assert again["outputs"] == first["outputs"] and again["already_succeeded"] is True
            # no run id in the request: BigQuery's request id names the run, so a resend of
            # the same request is recognised too
            bare = {k: v for k, v in _request("ds").items() if k != "run_id"}
            one = _call(url, bare, "test-project", request_id="req-77")
            loads = len(client.loads)
            two = _call(url, bare, "test-project", request_id="req-77")
            assert one["run_id"] == two["run_id"] == "bq-req-77-0"  # request id, call index
            assert two["already_succeeded"] is True
            assert len(client.loads) == loads
            other = _call(url, bare, "test-project", request_id="req-78")
            assert other["run_id"] != one["run_id"] and "already_succeeded" not in other
    finally:
        set_handler(previous)


# -- bqemulator on 127.0.0.1 ------------------------------------------------------------------

def _load(client, table: str, df: pd.DataFrame) -> None:
    from google.cloud import bigquery

    from udfs.bigquery.tables import json_rows, table_schema

    schema = table_schema(df)
    config = bigquery.LoadJobConfig(
        schema=[bigquery.SchemaField(f["name"], f["type"]) for f in schema],
        write_disposition="WRITE_TRUNCATE")
    client.load_table_from_json(json_rows(df, schema), table, job_config=config).result()


def test_emulator_table_mode_over_http(emulator_client):
    client = emulator_client("test-project")
    ds = f"t_{uuid.uuid4().hex[:8]}"
    client.create_dataset(ds)
    _load(client, f"test-project.{ds}.scus", grid_scus())
    _load(client, f"test-project.{ds}.edges", grid_edges())
    previous = set_handler(RemoteFunctionHandler(client_factory=emulator_client))
    try:
        with local_server() as url:
            doc = _call(url, _request(ds), "test-project")
            assert "outputs" in doc, doc
            assert doc["outputs"]["territories"]["rows"] == 4, doc

            def read(t):
                from udfs.bigquery.tables import BigQueryTables, parse_table_id
                return BigQueryTables(client).read(parse_table_id(t, argument="t",
                                                                  default_project=None))

            _check_outputs(read, "test-project", ds, "run-1")
            again = _call(url, _request(ds), "test-project")  # BigQuery resends it
            assert again["already_succeeded"] is True, again
            assert again["outputs"] == doc["outputs"]
            # a failing second write (its dataset does not exist) leaves run-1 in place
            request = {**_request(ds), "run_id": "run-2"}
            request["outputs"]["territories"] = "missing_dataset.territories"
            doc = _call(url, request, "test-project")
            assert "error" in doc
            _check_outputs(read, "test-project", ds, "run-1")
            names = [t.table_id for t in client.list_tables(ds)]
            assert sorted(names) == ["assignments", "edges", "scus", "territories"]
    finally:
        set_handler(previous)


def test_emulator_publish_keeps_the_targets_options(emulator_client):
    """The publish script on a BigQuery engine: existing targets keep their description
    (the emulator keeps no clustering metadata; the golden files show it is not dropped)
    and get the columns they lack."""
    client = emulator_client("test-project")
    ds = f"t_{uuid.uuid4().hex[:8]}"
    client.create_dataset(ds)
    _load(client, f"test-project.{ds}.scus", grid_scus())
    _load(client, f"test-project.{ds}.edges", grid_edges())
    for name in ("assignments", "territories"):
        client.query(f"CREATE TABLE `test-project.{ds}.{name}` (territory STRING) "
                     f"OPTIONS (description = 'kept: {name}')").result()
    previous = set_handler(RemoteFunctionHandler(client_factory=emulator_client))
    try:
        with local_server() as url:
            doc = _call(url, _request(ds), "test-project")
            assert "error" not in doc, doc
    finally:
        set_handler(previous)
    for name in ("assignments", "territories"):
        table = client.get_table(f"test-project.{ds}.{name}")
        assert table.description == f"kept: {name}"
    got = client.query(f"SELECT COUNT(*) AS n, COUNTIF(run_id = 'run-1') AS mine, "
                       f"COUNT(DISTINCT territory) AS t FROM `test-project.{ds}.assignments`")
    (row,) = list(got.result())
    assert (row["n"], row["mine"], row["t"]) == (36, 36, 4)


def test_emulator_agrees_with_the_procedures_table_name_pattern(emulator_client):
    """The RE2 pattern the procedure checks CALL arguments with, run by a SQL engine."""
    from udfs.bigquery.ddl import TABLE_NAME_RE2, literal

    client = emulator_client("test-project")
    names = {"sales.scus": True, "my-project.sales.scus": True, "sales.Kunden Tabelle": True,
             "x; DROP TABLE y --": False, "x`; DROP TABLE y; --": False, "d.t'--": False,
             "a.b.c.d.e": False, "p.d.t\\": False}
    for name, ok in names.items():
        sql = f"SELECT REGEXP_CONTAINS({literal(name)}, r'{TABLE_NAME_RE2}') AS m"
        (row,) = list(client.query(sql).result())
        assert row["m"] is ok, name


# -- a real project ---------------------------------------------------------------------------

@pytest.mark.skipif(not (os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
                         and os.environ.get("TERRAPLAN_BIGQUERY_PROJECT")),
                    reason="real BigQuery: set GOOGLE_APPLICATION_CREDENTIALS and "
                           "TERRAPLAN_BIGQUERY_PROJECT to run")
def test_real_project_table_mode():  # pragma: no cover - needs a Google Cloud project
    from google.cloud import bigquery

    project = os.environ["TERRAPLAN_BIGQUERY_PROJECT"]
    client = bigquery.Client(project=project)
    ds = f"terraplan_test_{uuid.uuid4().hex[:8]}"
    client.create_dataset(ds)
    try:
        _load(client, f"{project}.{ds}.scus", grid_scus())
        _load(client, f"{project}.{ds}.edges", grid_edges())
        handler = RemoteFunctionHandler(client_factory=lambda p: client)
        status, payload = handler.handle(bq_body([[json.dumps(_request(ds))]], context=CONTEXT,
                                                 project=project))
        assert status == 200
        doc = json.loads(json.loads(payload)["replies"][0])
        assert doc["outputs"]["assignments"]["rows"] == 36, doc
    finally:
        client.delete_dataset(ds, delete_contents=True, not_found_ok=True)


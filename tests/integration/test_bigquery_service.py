"""The Cloud Run service a BigQuery deploy creates (issue #12 items 8, 9, 13): sized from the
expected problem, in the connection's location, with its own service account and the roles
table mode needs; every command printed by --dry-run and run in order by a real deploy."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from components.errors import InputError
from tests.conftest import grid_scus
from tests.integration.test_bigquery_common import bq_body
from udfs.bigquery import service
from udfs.bigquery.handler import RemoteFunctionHandler
from workflows.cli import main


def dry_run(capsys, *extra: str) -> str:
    code = main(["deploy", "bigquery", "--dry-run", "--project", "my-project", *extra])
    out = capsys.readouterr().out
    assert code == 0
    return out


def test_location_comes_from_the_connection():
    eu = service.plan("my-project", "eu.terraplan")
    assert (eu.location, eu.region) == ("eu", "europe-west1")
    regional = service.plan("my-project", "other-project.europe-west3.conn")
    assert (regional.location, regional.region) == ("europe-west3", "europe-west3")
    assert service.plan("my-project", "us.terraplan").region == "us-central1"
    with pytest.raises(InputError, match="outside the connection's location 'eu'"):
        service.plan("my-project", "eu.terraplan", region="us-central1")


def test_resources_grow_with_the_expected_problem():
    small, large = service.plan("p-1", "us.c", max_units=2_000), service.plan("p-1", "us.c")
    assert small.memory_mib >= 2 * service.peak_mib(2_000)
    assert large.memory_mib >= 2 * service.peak_mib(20_000) > 1024  # not Cloud Run's 512 MiB
    assert (large.timeout, large.concurrency) == (1200, 1)
    huge = service.plan("p-1", "us.c", max_units=150_000)
    assert huge.cpu >= 2 and huge.memory_mib > 4096  # Cloud Run: > 4 GiB needs 2 vCPU
    with pytest.raises(InputError, match="max-units"):
        service.memory_for(10_000_000)


def test_dry_run_shows_every_command_and_statement(capsys):
    out = dry_run(capsys, "--connection", "eu.terraplan")
    p = service.plan("my-project", "eu.terraplan")
    deploy_line = next(line for line in out.splitlines() if "gcloud run deploy" in line)
    for flag in (f"--memory {p.memory}", f"--cpu {p.cpu}", "--timeout 1200",
                 "--concurrency 1", "--service-account terraplan-bigquery@my-project.iam."
                 "gserviceaccount.com", "--region europe-west1",
                 "--set-env-vars TERRAPLAN_REQUEST_TIMEOUT=1200"):
        assert flag in deploy_line, flag
    for role in ("roles/bigquery.dataViewer", "roles/bigquery.dataEditor",
                 "roles/bigquery.jobUser", "roles/run.invoker"):
        assert f"--role {role}" in out, role
    assert "bq show --format=json --connection my-project.eu.terraplan" in out
    assert "CREATE SCHEMA IF NOT EXISTS `my-project`.`terraplan`" in out
    assert "location = 'eu'" in out


def test_time_limit_is_clamped_under_the_request_timeout():
    params = {"territories": 4, "metrics": ["load"], "time_limit": 600, "seed": 0}
    call = [grid_scus().to_json(orient="records"), None, None, json.dumps(params)]
    context = {"component": "territory_balancing", "mode": "packed"}
    # a 4 us request timeout leaves 3 us to solve: the time limit binds
    tight = RemoteFunctionHandler(client_factory=None, request_timeout=4e-6)
    status, body = tight.handle(bq_body([call], context=context))
    doc = json.loads(json.loads(body)["replies"][0])
    assert status == 200 and doc["report"]["stopped_by"] == "time_limit", doc.get("report")
    assert "time_limit 600 capped" in " ".join(doc["warnings"])
    roomy = RemoteFunctionHandler(client_factory=None, request_timeout=1200)
    call[-1] = json.dumps({**params, "time_limit": 1000})
    status, body = roomy.handle(bq_body([call], context=context))
    doc = json.loads(json.loads(body)["replies"][0])
    assert "time_limit 1000 capped to 900" in " ".join(doc["warnings"])


def test_the_service_reads_its_timeout_from_the_deploy(monkeypatch):
    monkeypatch.setenv(service.TIMEOUT_ENV, "1200")
    assert RemoteFunctionHandler().request_timeout == 1200.0
    monkeypatch.delenv(service.TIMEOUT_ENV)
    assert RemoteFunctionHandler().request_timeout is None


CONNECTION_SA = "bqcx-1-ab@gcp-sa-bigquery-condel.iam.gserviceaccount.com"
FAKE = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
case "$*" in
  *"run deploy"*) echo "https://terraplan-bigquery-xyz-ew.a.run.app" ;;
  *"show --format=json --connection"*)
    echo '{{"cloudResource": {{"serviceAccountId": "{sa}"}}}}' ;;
  *"service-accounts create"*) echo "ERROR: already exists" >&2; exit 1 ;;
  *"roles/bigquery.jobUser"*) echo "ERROR: PERMISSION_DENIED" >&2; exit 1 ;;
esac
"""


def test_real_deploy_runs_the_commands_and_prints_grants_it_cannot_make(tmp_path, monkeypatch):
    from udfs.bigquery.deploy import deploy_service

    log = tmp_path / "calls.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("gcloud", "bq"):
        exe = bin_dir / tool
        exe.write_text(FAKE.format(log=log, sa=CONNECTION_SA))
        exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    p = service.plan("my-project", "eu.terraplan")
    lines: list[str] = []
    url, todo = deploy_service(p, build_dir=Path(tmp_path / "build"),
                               connection_path="my-project.eu.terraplan", echo=lines.append)
    assert url == "https://terraplan-bigquery-xyz-ew.a.run.app"
    calls = log.read_text().splitlines()
    want = [" ".join(c.argv) for c in service.commands(p, str(tmp_path / "build"),
                                             "my-project.eu.terraplan")]
    want = [w.replace(service.CONNECTION_SA, CONNECTION_SA) for w in want]
    assert calls == want
    assert [" ".join(c.argv) for c in todo] == [w for w in want if "roles/bigquery.jobUser" in w]
    assert any("could not grant roles/bigquery.jobUser" in line for line in lines)
    assert (tmp_path / "build" / "Dockerfile").is_file()

"""Redshift scripts: compiled workflows and the scheduled query, as golden files and
parsed back by sqlglot; ``schedule --warehouse redshift`` is Redshift's own form."""

from __future__ import annotations

import json
import shlex

import pytest
import sqlglot

from components.errors import InputError
from tests.conftest import ROOT
from tests.golden import assert_golden
from workflows.compile import compile_statements, compile_workflow
from workflows.schedule import schedule_objects

EXAMPLES = ROOT / "workflows" / "examples"
SNAPSHOTS = ROOT / "tests" / "snapshots" / "redshift"
LOCATION = {"schema": "terraplan", "data_schema": "sales"}


@pytest.mark.parametrize("name", ["demo", "weekly_rebalance", "hub_location"])
def test_compiled_workflow_matches_golden_and_parses(name: str) -> None:
    path = EXAMPLES / f"{name}.yaml"
    assert_golden(SNAPSHOTS / f"{name}.sql", compile_workflow(path, "redshift", **LOCATION))
    for statement in compile_statements(path, "redshift"):
        if not statement.sql.startswith("CALL "):  # the rebalance join before its step
            sqlglot.parse_one(statement.sql, read="redshift")
            continue
        call = sqlglot.parse_one("SELECT " + statement.sql[len("CALL "):], read="redshift")
        args = [a.sql("redshift") for a in call.find(sqlglot.exp.Anonymous).expressions]
        json.loads(sqlglot.parse_one(args[-1], read="redshift").this)  # params: JSON text


def test_schedule_is_a_redshift_scheduled_query_not_a_crontab() -> None:
    text = schedule_objects(EXAMPLES / "weekly_rebalance.yaml", "redshift", dry_run=True,
                            data_schema="sales", role="arn:aws:iam::123456789012:role/tp",
                            workgroup="analytics")
    assert "crontab" not in text and "terraplan run" not in text
    assert_golden(SNAPSHOTS / "schedule-weekly_rebalance.txt", text)
    argv = shlex.split(text.strip().splitlines()[-1])
    assert argv[:3] == ["aws", "scheduler", "create-schedule"]
    assert argv[argv.index("--schedule-expression") + 1] == "cron(3 6 ? * 2 *)"  # Mon = 2
    target = json.loads(argv[argv.index("--target") + 1])
    payload = json.loads(target["Input"])
    assert payload["WorkgroupName"] == "analytics"
    assert target["Arn"].endswith("redshiftdata:batchExecuteStatement")
    # the rebalance join, then the CALL on the joined table with today's alignment
    assert payload["Sqls"][0].startswith(
        'CREATE TABLE IF NOT EXISTS "sales"."territory_assignments"')
    assert payload["Sqls"][-1].startswith('CALL "terraplan"."territory_balancing"(\'sales.weekly')
    assert '"current": "__terraplan_current"' in payload["Sqls"][-1]


def test_a_real_schedule_needs_the_role_and_workgroup() -> None:
    with pytest.raises(InputError, match="--iam-role and --workgroup"):
        schedule_objects(EXAMPLES / "weekly_rebalance.yaml", "redshift", dry_run=False)

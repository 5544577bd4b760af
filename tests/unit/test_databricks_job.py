"""``terraplan compile/schedule --warehouse databricks``: the job's settings (Jobs API 2.2)
and the Asset Bundle as golden files, validated against the documented fields.

JOB_SCHEMA lists the fields of the Jobs API's ``JobSettings`` (and its ``Task``,
``CronSchedule``, ``TriggerSettings``, ``JobEnvironment``...) that terraplan may write, with
their types and enums as the API reference documents them (the table-update trigger's
fields, enum and 60 s minimums as in the SDK's ``TableTriggerConfiguration``); anything
else fails, so a
misspelt key cannot reach a workspace. The job's tasks run for real in
tests/integration/test_spark_job.py.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from components.errors import InputError
from tests.conftest import ROOT
from tests.golden import assert_golden
from udfs.base import Location
from udfs.spark.job import bundle_text, job_settings, quartz_cron
from workflows.cli import main
from workflows.compile import compile_workflow
from workflows.schedule import schedule_objects, workflow_schedule
from workflows.spec import load_workflow

EXAMPLES = ROOT / "workflows" / "examples"
SNAPSHOTS = ROOT / "tests" / "snapshots" / "workflows"
WHERE = {"catalog": "main", "data_schema": "sales"}

_STR = {"type": "string"}
_DEPENDS = {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                       "required": ["task_key"],
                                       "properties": {"task_key": _STR, "outcome": _STR}}}
JOB_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["name", "tasks"],
    "properties": {
        "name": {"type": "string", "maxLength": 4096}, "description": _STR,
        "tags": {"type": "object", "additionalProperties": _STR, "maxProperties": 25},
        "max_concurrent_runs": {"type": "integer", "minimum": 1},
        "queue": {"type": "object", "additionalProperties": False,
                  "properties": {"enabled": {"type": "boolean"}}},
        "environments": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["environment_key", "spec"],
            "properties": {"environment_key": _STR, "spec": {
                "type": "object", "additionalProperties": False,
                "properties": {"client": _STR, "environment_version": _STR,
                               "dependencies": {"type": "array", "items": _STR}}}}}},
        "schedule": {"type": "object", "additionalProperties": False,
                     "required": ["quartz_cron_expression", "timezone_id"],
                     "properties": {"quartz_cron_expression": _STR, "timezone_id": _STR,
                                    "pause_status": {"enum": ["PAUSED", "UNPAUSED"]}}},
        "trigger": {"type": "object", "additionalProperties": False, "properties": {
            "pause_status": {"enum": ["PAUSED", "UNPAUSED"]},
            "table_update": {"type": "object", "additionalProperties": False,
                             "required": ["table_names"], "properties": {
                                 "table_names": {"type": "array", "items": _STR,
                                                 "minItems": 1},
                                 "condition": {"enum": ["ANY_UPDATED", "ALL_UPDATED"]},
                                 "min_time_between_triggers_seconds": {"type": "integer",
                                                                       "minimum": 60},
                                 "wait_after_last_change_seconds": {"type": "integer",
                                                                    "minimum": 60}}}}},
        "tasks": {"type": "array", "minItems": 1, "maxItems": 1000, "items": {
            "type": "object", "additionalProperties": False, "required": ["task_key"],
            "oneOf": [{"required": ["python_wheel_task"]}, {"required": ["condition_task"]}],
            "properties": {
                "task_key": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,100}$"},
                "depends_on": _DEPENDS, "environment_key": _STR,
                "python_wheel_task": {"type": "object", "additionalProperties": False,
                                      "required": ["package_name", "entry_point"],
                                      "properties": {"package_name": _STR,
                                                     "entry_point": _STR,
                                                     "parameters": {"type": "array",
                                                                    "items": _STR}}},
                "condition_task": {"type": "object", "additionalProperties": False,
                                   "required": ["op", "left", "right"],
                                   "properties": {"op": {"enum": [
                                       "EQUAL_TO", "GREATER_THAN", "GREATER_THAN_OR_EQUAL",
                                       "LESS_THAN", "LESS_THAN_OR_EQUAL", "NOT_EQUAL"]},
                                       "left": _STR, "right": _STR}}}}},
    },
}


def check_job(settings: dict) -> None:
    jsonschema.validate(settings, JOB_SCHEMA)
    keys = [t["task_key"] for t in settings["tasks"]]
    assert len(keys) == len(set(keys))
    for i, task in enumerate(settings["tasks"]):  # every dependency is an earlier task
        assert all(d["task_key"] in keys[:i] for d in task.get("depends_on", []))
        if "python_wheel_task" in task:
            assert task["environment_key"] in {e["environment_key"]
                                               for e in settings["environments"]}


@pytest.mark.parametrize("name", ["demo", "weekly_rebalance", "hub_location"])
def test_compiled_job_matches_golden_and_the_documented_fields(name):
    text = compile_workflow(EXAMPLES / f"{name}.yaml", "databricks", **WHERE)
    assert_golden(SNAPSHOTS / name / "databricks.json", text)
    settings = json.loads(text)
    check_job(settings)
    assert "schedule" not in settings and "trigger" not in settings
    assert settings["tasks"][-1]["task_key"] == "publish"


def test_scheduled_bundle_matches_golden_and_carries_rebalance():
    text = schedule_objects(EXAMPLES / "weekly_rebalance.yaml", "databricks", **WHERE)
    assert_golden(SNAPSHOTS / "weekly_rebalance" / "schedule-databricks.yml", text)
    bundle = yaml.safe_load(text)
    (job,) = bundle["resources"]["jobs"].values()
    check_job(job)
    assert job["schedule"] == {"quartz_cron_expression": "0 3 6 ? * 2", "timezone_id": "UTC",
                               "pause_status": "UNPAUSED"}
    keys = [t["task_key"] for t in job["tasks"]]
    assert keys == ["sources_changed", "if_sources_changed", "step_balance", "publish"]
    step = json.loads(job["tasks"][2]["python_wheel_task"]["parameters"][-1])
    assert job["tasks"][2]["depends_on"] == [{"task_key": "if_sources_changed",
                                              "outcome": "true"}]
    assert step["rebalance"] == {"alignment": "territory_assignments",
                                 "disruption_weight": 10, "max_moved": 0.2}


def test_on_change_alone_is_a_table_update_trigger_on_full_names(tmp_path):
    wf = load_workflow(EXAMPLES / "weekly_rebalance.yaml")
    wf.schedule.pop("cron")
    sched = workflow_schedule(wf)
    job = job_settings(wf, Location(catalog="main", data_schema="sales"), sched)
    check_job(job)
    assert job["trigger"]["table_update"]["table_names"] == ["main.sales.counties"]
    assert "schedule" not in job and job["tasks"][0]["task_key"] == "step_balance"
    with pytest.raises(InputError, match="full Unity Catalog name"):
        job_settings(wf, Location(), sched)


@pytest.mark.parametrize(("cron", "quartz"), [
    ("3 6 * * 1", "0 3 6 ? * 2"),
    ("0 */2 * * *", "0 0 */2 * * ?"),
    ("30 5 1,15 * *", "0 30 5 1,15 * ?"),
    ("0 6 * * 1-5", "0 0 6 ? * 2-6"),
    ("0 6 * * MON,FRI", "0 0 6 ? * MON,FRI"),
    ("0 6 * * 0", "0 0 6 ? * 1"),
    ("0 6 * JAN,JUL */2", "0 0 6 ? JAN,JUL 1/2"),
])
def test_quartz_cron(cron, quartz):
    assert quartz_cron(cron) == quartz


def test_both_day_fields_and_oversized_parameters_are_one_line_errors():
    with pytest.raises(InputError, match="day of month OR the weekday"):
        quartz_cron("0 6 1 * 1")
    wf = load_workflow(EXAMPLES / "demo.yaml")
    wf.steps[0].params["metrics"] = [f"metric_{i:05d}" for i in range(1000)]
    with pytest.raises(InputError, match="over the Jobs API's 10,000"):
        job_settings(wf, Location())


def test_cli_compile_and_schedule_print_the_job(capsys):
    assert main(["compile", str(EXAMPLES / "demo.yaml"), "--warehouse", "databricks",
                 "--catalog", "main", "--data-schema", "sales"]) == 0
    check_job(json.loads(capsys.readouterr().out))
    assert main(["schedule", str(EXAMPLES / "weekly_rebalance.yaml"), "--warehouse",
                 "databricks", "--catalog", "main", "--data-schema", "sales",
                 "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out == bundle_text(load_workflow(EXAMPLES / "weekly_rebalance.yaml"),
                              workflow_schedule(load_workflow(
                                  EXAMPLES / "weekly_rebalance.yaml")),
                              Location(catalog="main", data_schema="sales"))


def test_every_wheel_task_parameter_list_is_what_the_terraplan_cli_accepts():
    """The job's parameters go to the ``terraplan`` entry point: each must parse with the
    CLI's own parser (``databricks-task``) and its task parser, arguments intact."""
    from udfs.spark.cli import _task_parser
    from workflows.cli import build_parser

    wf = load_workflow(EXAMPLES / "weekly_rebalance.yaml")
    job = job_settings(wf, Location(catalog="main", data_schema="sales"),
                       workflow_schedule(wf))
    seen = set()
    for task in job["tasks"]:
        if "python_wheel_task" not in task:
            continue
        argv = task["python_wheel_task"]["parameters"]
        top = build_parser().parse_args(argv)
        args = _task_parser().parse_args(top.task_args[1:] if top.task_args[:1] == [
            "databricks-task"] else top.task_args)
        seen.add(args.what)
        assert (args.catalog, args.schema, args.format) == ("main", "sales", "delta")
        if args.what == "step":
            assert args.task["rebalance"]["alignment"] == "territory_assignments"
            assert args.run_id == "{{job.run_id}}"
        if args.what == "publish":
            assert args.outputs == ["territory_assignments", "territory_summary"]
            assert args.on_change == ["counties"]
    assert seen == {"check", "step", "publish"}


def test_table_names_from_users_become_quoted_identifiers():
    import sqlglot
    from sqlglot import exp

    from udfs.spark.tables import Home, stage_name

    home = Home("main", "sales")
    name = home.name("x; DROP TABLE y --")
    assert name == "`main`.`sales`.`x; DROP TABLE y --`"
    table = sqlglot.parse_one(f"SELECT * FROM {name}", read="databricks").find(exp.Table)
    assert (table.catalog, table.db, table.name) == ("main", "sales", "x; DROP TABLE y --")
    assert home.name("other.t") == "`main`.`other`.`t`" and Home().name("t") == "`t`"
    for bad in ("a`b", "a.b.c.d", "a..b"):
        with pytest.raises(InputError):
            home.name(bad)
    assert stage_name("out", "20261207T1-ab") == "out__stage__20261207T1_ab"

"""A workflow as a notebook-free Databricks job (Jobs API 2.2 settings / Asset Bundle).

``terraplan compile --warehouse databricks`` prints the job's settings as the JSON body of
``POST /api/2.2/jobs/create`` (``databricks jobs create --json @job.json``);
``terraplan schedule --warehouse databricks`` wraps the same settings, with the workflow's
``schedule`` block, in a Databricks Asset Bundle (``databricks.yml``, ``databricks bundle
deploy``). Every task is a ``python_wheel_task`` of the terraplan wheel (entry point
``terraplan``, sub-command ``databricks-task``) on serverless compute (``environment_key``):

* ``step_<name>``, one per step, each after the previous one: the step's resolved inputs,
  parameters and outputs travel as JSON in the task's parameters, the run id is
  ``{{job.run_id}}`` and the trigger ``{{job.trigger.type}}``;
* ``publish``, after the last step: makes the run's outputs current (:mod:`.tables`);
* with ``cron`` and ``on_change``: ``sources_changed`` first (sets the task value
  ``changed``) and the condition task ``if_sources_changed``, whose ``true`` outcome the
  first step depends on, so an unchanged week runs nothing.

Schedules: ``cron`` is a Quartz cron in the workflow's time zone (``schedule``);
``on_change`` alone is a table-update trigger on the sources' Unity Catalog tables. The
workflow's ``rebalance`` block travels with its step. :func:`run_locally` runs a compiled
job's tasks, in order, on a local Spark session: the code path of the deployed job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml

from components import __version__
from components.errors import InputError
from udfs.base import Location, comment_text, params_of, table_text

ENVIRONMENT = "terraplan"
ENVIRONMENT_VERSION = "2"          # serverless environment version
MAX_PARAMETERS_BYTES = 10_000      # the Jobs API's limit on a task's parameter JSON
CHECK, CONDITION, PUBLISH = "sources_changed", "if_sources_changed", "publish"
RUN_ID, TRIGGER = "{{job.run_id}}", "{{job.trigger.type}}"
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)[:90]


def home_of(loc: Location) -> tuple[str | None, str | None]:
    """(catalog, schema) of the workflow's tables: ``--catalog``, ``--data-schema``."""
    return loc.catalog, loc.data_schema or loc.schema


def task_specs(wf: Any) -> list[dict[str, Any]]:
    """Each step resolved: its input tables (``staged`` when an earlier step of the run
    produced them), JSON parameters, output tables, and the rebalance block if its own."""
    produced: set[str] = set()
    out = []
    for step in wf.steps:
        inputs = {name: ({"table": ref, "staged": True} if ref in produced
                         else {"table": table_text(wf, ref)})
                  for name, ref in step.inputs.items()}
        task = {"workflow": wf.name, "step": step.name, "uses": step.uses, "inputs": inputs,
                "params": params_of(step), "outputs": dict(step.outputs)}
        rebalance = getattr(wf, "rebalance", None) or {}
        if rebalance.get("step") == step.name:
            task["rebalance"] = {k: rebalance[k] for k in
                                 ("alignment", "disruption_weight", "max_moved")
                                 if k in rebalance}
        produced.update(step.outputs.values())
        out.append(task)
    return out


def _where(loc: Location, fmt: str) -> list[str]:
    catalog, schema = home_of(loc)
    return ([*(["--catalog", catalog] if catalog else []),
             *(["--schema", schema] if schema else []), "--format", fmt])


def _wheel_task(key: str, args: list[str], after: list[dict[str, str]]) -> dict[str, Any]:
    size = len(json.dumps({"parameters": args}))
    if size > MAX_PARAMETERS_BYTES:
        raise InputError(f"task {key}: its parameters are {size:,} bytes, over the Jobs API's "
                         f"{MAX_PARAMETERS_BYTES:,}; shorten the step's parameters",
                         column="with")
    return {"task_key": key, **({"depends_on": after} if after else {}),
            "environment_key": ENVIRONMENT,
            "python_wheel_task": {"package_name": "terraplan", "entry_point": "terraplan",
                                  "parameters": ["databricks-task", *args]}}


def job_settings(wf: Any, loc: Location, sched: Any = None, *,
                 dependency: str | None = None, fmt: str = "delta") -> dict[str, Any]:
    """The job's settings (Jobs API 2.2 ``JobSettings``); ``sched`` adds the schedule."""
    specs = task_specs(wf)
    where = _where(loc, fmt)
    tasks: list[dict[str, Any]] = []
    after: list[dict[str, str]] = []
    on_change = list(sched.on_change) if sched is not None else []
    if sched is not None and sched.cron and on_change:
        sources = [table_text(wf, s) for s in on_change]
        tasks.append(_wheel_task(CHECK, ["check", *where, "--workflow", wf.name,
                                         "--sources", json.dumps(sources)], []))
        tasks.append({"task_key": CONDITION, "depends_on": [{"task_key": CHECK}],
                      "condition_task": {"op": "EQUAL_TO", "right": "true",
                                         "left": f"{{{{tasks.{CHECK}.values.changed}}}}"}})
        after = [{"task_key": CONDITION, "outcome": "true"}]
    for spec in specs:
        key = f"step_{slug(spec['step'])}"
        tasks.append(_wheel_task(key, ["step", *where, "--run-id", RUN_ID, "--trigger",
                                       TRIGGER, "--task", json.dumps(spec)], after))
        after = [{"task_key": key}]
    outputs = list(dict.fromkeys(t for s in specs for t in s["outputs"].values()))
    publish_args = ["publish", *where, "--run-id", RUN_ID, "--trigger", TRIGGER,
                    "--workflow", wf.name, "--outputs", json.dumps(outputs)]
    if on_change:
        publish_args += ["--on-change", json.dumps([table_text(wf, s) for s in on_change])]
    tasks.append(_wheel_task(PUBLISH, publish_args, after))
    settings: dict[str, Any] = {
        "name": f"terraplan {wf.name}",
        "description": f"terraplan workflow {wf.name}: {len(specs)} step(s), outputs "
                       "published together by the publish task; generated by terraplan, "
                       "do not edit.",
        "tags": {"terraplan": __version__, "workflow": slug(wf.name)},
        "max_concurrent_runs": 1,
        "queue": {"enabled": True},
        "environments": [{"environment_key": ENVIRONMENT, "spec": {
            "environment_version": ENVIRONMENT_VERSION,
            "dependencies": [dependency or f"terraplan=={__version__}"]}}],
        "tasks": tasks,
    }
    if sched is not None:
        settings.update(schedule_block(wf, sched, loc))
    return settings


def quartz_cron(cron_text: str) -> str:
    """A checked 5-field cron as Quartz (seconds first, ``?`` for the unused day field,
    weekdays 1-7 = SUN-SAT)."""
    minute, hour, dom, month, dow = cron_text.split()

    def day(token: str) -> str:
        return str(int(token) + 1) if token.isdigit() else token.upper()

    if dow == "*":
        dow = "?"
    else:
        if dom != "*":
            raise InputError(f"schedule.cron {cron_text!r}: cron runs when the day of month "
                             "OR the weekday matches and Quartz cannot say that; keep one of "
                             "them '*'", column="schedule.cron")
        dom, items = "?", []
        for item in dow.split(","):
            span, _, step = item.partition("/")
            span = "1" if span == "*" else "-".join(day(p) for p in span.split("-"))
            items.append(f"{span}/{step}" if step else span)
        dow = ",".join(items)
    return f"0 {minute} {hour} {dom} {month} {dow}"


def schedule_block(wf: Any, sched: Any, loc: Location) -> dict[str, Any]:
    if sched.cron:
        return {"schedule": {"quartz_cron_expression": quartz_cron(sched.cron.text),
                             "timezone_id": sched.timezone, "pause_status": "UNPAUSED"}}
    catalog, schema = home_of(loc)
    names = []
    for src in sched.on_change:
        name = table_text(wf, src)
        parts = name.split(".")
        if len(parts) == 1:
            parts = [p for p in (catalog, schema) if p] + parts
        elif len(parts) == 2 and catalog:
            parts = [catalog, *parts]
        if len(parts) != 3:
            raise InputError(f"on_change source {src!r}: a table-update trigger needs the "
                             f"full Unity Catalog name of {name!r}; pass --catalog and "
                             "--data-schema", column="schedule.on_change")
        names.append(".".join(parts))
    return {"trigger": {"pause_status": "UNPAUSED", "table_update": {
        "table_names": names, "condition": "ANY_UPDATED",
        "min_time_between_triggers_seconds": 60, "wait_after_last_change_seconds": 60}}}


def job_json(wf: Any, loc: Location, **options: Any) -> str:
    return json.dumps(job_settings(wf, loc, **options), indent=2) + "\n"


def bundle_text(wf: Any, sched: Any, loc: Location, **options: Any) -> str:
    """``databricks.yml`` of an Asset Bundle holding the scheduled job."""
    bundle = {"bundle": {"name": f"terraplan-{slug(wf.name)}"},
              "resources": {"jobs": {f"terraplan_{slug(wf.name)}":
                                     job_settings(wf, loc, sched, **options)}}}
    when = (f"cron {sched.cron.text!r} {sched.timezone}" if sched.cron else
            "when a source table is updated")
    head = [f"# terraplan workflow {comment_text(wf.name)}: Databricks Asset Bundle; generated "
            "by 'terraplan schedule', do not edit.",
            f"# runs {when}"
            + (", only if an on_change source changed since the last run"
               if sched.cron and sched.on_change else ""),
            "# deploy: databricks bundle validate && databricks bundle deploy"]
    return "\n".join(head) + "\n" + yaml.safe_dump(bundle, sort_keys=False, width=1000)


def _order(tasks: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    done: set[str] = set()
    ordered: list[Mapping[str, Any]] = []
    while len(ordered) < len(tasks):
        ready = [t for t in tasks if t["task_key"] not in done and all(
            d["task_key"] in done for d in t.get("depends_on", []))]
        if not ready:
            raise InputError("the job's tasks depend on each other in a cycle")
        ordered += ready
        done.update(t["task_key"] for t in ready)
    return ordered


def run_locally(settings: Mapping[str, Any], run_task: Callable[[list[str]], Any],
                run_id: str, trigger: str = "ONE_TIME") -> list[str]:
    """Run a compiled job's tasks in dependency order, as Databricks would: every wheel
    task's parameters (with ``{{job.run_id}}``/``{{job.trigger.type}}`` filled in) go to
    ``run_task`` (the ``terraplan databricks-task`` handler); a task returning a dict sets
    task values; a condition task's false outcome skips what depends on it. A task that
    raises stops the run (later tasks do not run). Returns the task keys that ran."""
    values: dict[str, dict[str, str]] = {}
    outcome: dict[str, str] = {}
    ran: list[str] = []
    for task in _order(settings["tasks"]):
        key = task["task_key"]
        if any(outcome.get(d["task_key"], "ran") == "skipped" or
               ("outcome" in d and outcome.get(d["task_key"]) != d["outcome"])
               for d in task.get("depends_on", [])):
            outcome[key] = "skipped"
            continue
        if "condition_task" in task:
            cond = task["condition_task"]
            left = re.sub(r"\{\{tasks\.(\w+)\.values\.(\w+)\}\}",
                          lambda m: values.get(m[1], {}).get(m[2], ""), cond["left"])
            assert cond["op"] == "EQUAL_TO", cond
            outcome[key] = "true" if left == cond["right"] else "false"
        else:
            args = [a.replace(RUN_ID, run_id).replace(TRIGGER, trigger)
                    for a in task["python_wheel_task"]["parameters"]]
            got = run_task(args)
            values[key] = {k: str(v).lower() if isinstance(v, bool) else str(v)
                           for k, v in (got if isinstance(got, dict) else {}).items()}
            outcome[key] = "ran"
        ran.append(key)
    return ran

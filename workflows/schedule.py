"""Schedules and data-refresh triggers for a workflow, per warehouse.

``terraplan schedule WORKFLOW --warehouse W [--dry-run]`` turns the workflow's
``schedule`` block (``cron``, ``timezone``, ``on_change``) into the warehouse's own
scheduler objects. ``cron`` and ``on_change`` together mean "at the cron times, run if a
source changed"; ``cron`` alone "at the cron times"; ``on_change`` alone "when a source
changes".

* **snowflake**: a task graph in ``[--data-database.]--data-schema``. The root task fires
  on ``SCHEDULE = 'USING CRON <cron> <tz>'`` and/or ``WHEN SYSTEM$STREAM_HAS_DATA(...)``
  over one ``CREATE STREAM ... ON TABLE <source>`` per ``on_change`` source (no SCHEDULE:
  a triggered task). Its body records the trigger in ``TERRAPLAN_TRIGGERS`` with a DML
  statement that reads the streams, which is what advances their offsets (a stream
  read by a SELECT alone keeps its data and would fire again). One child task per step,
  each ``AFTER`` the previous, CALLs the step's procedure; a failed step stops the graph
  and the next trigger starts again from the root. Statements: suspend the root, create,
  then ``ALTER TASK ... RESUME`` children first, root last. Without ``--dry-run`` they run
  through a Snowpark session from the user's connection settings.
* **bigquery**: a scheduled query (``bq mk --transfer_config --data_source=scheduled_query``)
  whose schedule is the cron in BigQuery's schedule syntax (UTC; see
  :func:`bigquery_schedule`), and the script it runs: the steps' CALLs, then one
  ``terraplan_runs`` row for the workflow run. With ``on_change`` the script first
  compares the sources' ``last_modified_time`` (the dataset's ``__TABLES__`` metadata,
  free to query) with the start of the last successful run and returns early when no
  source changed; without ``cron`` it polls (default every 15 minutes). A failed run
  writes no workflow row, so the next poll tries again.
* **duckdb**: crontab lines that run ``terraplan run WORKFLOW``; ``on_change`` adds an
  ``@reboot`` line for ``terraplan watch WORKFLOW``, which reruns when a source's content
  changes. Without ``--dry-run`` the block is installed in the user's crontab (replacing
  an earlier block for the same workflow).

Cron: five fields (minute hour day-of-month month day-of-week), each ``*``, a value, a
range ``a-b``, a step ``*/n`` or ``a-b/n``, or a comma list of those; month and weekday
names (JAN, MON) are accepted. Errors name the field and the value.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlglot
from sqlglot import exp

from components.errors import InputError
from udfs.base import RUN_LOG_TABLE, adapter
from workflows.compile import (
    WAREHOUSES,
    Location,
    Statement,
    as_workflow,
    bigquery_location,
    bigquery_object,
    bigquery_table_text,
    check_warehouse,
    comment_text,
    compile_workflow,
    render,
    snowflake_table,
    table_text,
)
from workflows.spec import Workflow

EXIT_INPUT = 2
DEFAULT_POLL = "every 15 minutes"
TRIGGER_TABLE = "TERRAPLAN_TRIGGERS"
WORKFLOW_STEP = "__workflow__"  # the run-log row of a whole scheduled run (BigQuery)

# -- cron -------------------------------------------------------------------------------------

FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
          ("day of week", 0, 6))
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_ITEM = re.compile(r"^(?:(\*)|([0-9A-Za-z]+)(?:-([0-9A-Za-z]+))?)(?:/([0-9]+))?$")


@dataclass(frozen=True)
class Cron:
    """A checked 5-field cron expression."""

    text: str                              # the five fields, single-spaced
    values: tuple[tuple[int, ...], ...]    # the values each field matches, sorted
    restricted: tuple[bool, ...]           # False for '*' (matters for day fields)

    @property
    def minutes_of_day(self) -> list[int]:
        return sorted(h * 60 + m for h in self.values[1] for m in self.values[0])


def _cron_error(text: str, message: str) -> InputError:
    return InputError(f"schedule.cron {text!r}: {message}", column="schedule.cron")


def _value(token: str, field: int, text: str) -> int:
    name, lo, hi = FIELDS[field]
    names = MONTHS if field == 3 else DAYS if field == 4 else ()
    if token.upper() in names:
        return names.index(token.upper()) + (1 if field == 3 else 0)
    if not token.isdigit():
        hint = f" (or a name: {', '.join(names)})" if names else ""
        raise _cron_error(text, f"{name} value {token!r} is not a number {lo}-{hi}{hint}")
    value = int(token)
    if not lo <= value <= hi:
        extra = "; use 0 or SUN for Sunday" if field == 4 and value == 7 else ""
        raise _cron_error(text, f"{name} value {value} is out of range {lo}-{hi}{extra}")
    return value


def parse_cron(text: Any) -> Cron:
    """Check a 5-field cron expression; every error names the field and the value."""
    if not isinstance(text, str) or not text.strip():
        raise _cron_error(str(text), "must be five fields like '0 6 * * 1' (Mondays 06:00)")
    fields = text.split()
    if len(fields) != 5:
        raise _cron_error(text, f"has {len(fields)} field(s); use 5: minute hour "
                                "day-of-month month day-of-week, e.g. '0 6 * * 1'")
    values, restricted = [], []
    for i, raw in enumerate(fields):
        name, lo, hi = FIELDS[i]
        found: set[int] = set()
        for item in raw.split(","):
            match = _ITEM.match(item)
            if not match:
                raise _cron_error(text, f"{name} field {raw!r}: {item!r} is not a value, "
                                        "range a-b, step */n or a-b/n")
            star, first, last, step = match.groups()
            start = lo if star else _value(first, i, text)
            stop = hi if star or (step and not last) else _value(last or first, i, text)
            if start > stop:
                raise _cron_error(text, f"{name} range {item!r} runs backwards")
            stride = int(step) if step else 1
            if stride == 0:
                raise _cron_error(text, f"{name} step in {item!r} must be at least 1")
            found.update(range(start, stop + 1, stride))
        values.append(tuple(sorted(found)))
        restricted.append(raw != "*")
    return Cron(" ".join(fields), tuple(values), tuple(restricted))


def check_timezone(name: Any) -> str:
    """An IANA time zone name (Snowflake, cron's CRON_TZ and zoneinfo all use them)."""
    if isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_+\-/]+", name):
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise InputError(f"schedule.timezone {name!r} is not an IANA time zone name; use e.g. "
                     "'UTC', 'Europe/Berlin' or 'America/New_York'", column="schedule.timezone")


@dataclass(frozen=True)
class Schedule:
    cron: Cron | None
    timezone: str
    on_change: tuple[str, ...]


def workflow_schedule(wf: Workflow) -> Schedule:
    block = wf.schedule or {}
    if not block.get("cron") and not block.get("on_change"):
        raise InputError(f"workflow {wf.name!r} has no schedule: add e.g. schedule: {{cron: "
                         "'0 6 * * 1', timezone: UTC}} and/or schedule: {on_change: [SOURCE]}",
                         column="schedule")
    cron = parse_cron(block["cron"]) if block.get("cron") else None
    return Schedule(cron, check_timezone(block.get("timezone") or "UTC"),
                    tuple(block.get("on_change") or ()))


# -- BigQuery's schedule syntax ---------------------------------------------------------------

def _offsets(tz: str) -> list[int]:
    """The UTC offsets (minutes) a zone uses over a year, sampled twice a month."""
    zone = ZoneInfo(tz)
    found = {int(datetime(2025, month, day, 12, tzinfo=zone).utcoffset()
                 // timedelta(minutes=1)) for month in range(1, 13) for day in (1, 15)}
    return sorted(found)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def bigquery_schedule(cron: Cron, tz: str = "UTC") -> str:
    """``cron`` (in ``tz``) in BigQuery's schedule syntax, which is in UTC.

    Supported: evenly spaced times on every day (``every day 06:00``, ``every 2 hours
    from 00:30 to 22:30``, ``every 15 minutes from 09:00 to 17:45``), and one time of day
    on given weekdays (``every mon,thu 06:00``), days of the month (``1,15 of month
    06:00``) or months (``every day of jan,jul 06:00``). A zone with daylight saving
    time cannot keep a fixed local time in UTC; anything else raises an InputError that
    says why.
    """
    times = cron.minutes_of_day
    offsets = _offsets(tz)
    dom_r, month_r, dow_r = cron.restricted[2:]
    explain = f"schedule.cron {cron.text!r} (timezone {tz})"
    if not (dom_r or month_r or dow_r):
        step = times[1] - times[0] if len(times) > 1 else 1440
        if any(b - a != step for a, b in itertools.pairwise(times)):
            raise InputError(f"{explain}: the times {', '.join(map(_hhmm, times[:6]))}... are "
                             "not evenly spaced; BigQuery's schedule takes one interval "
                             "(every N minutes/hours from HH:MM to HH:MM). Split the "
                             "workflow's schedule or use Cloud Scheduler.",
                             column="schedule.cron")
        shifted = {tuple(sorted((t - off) % 1440 for t in times)) for off in offsets}
        if len(shifted) > 1:
            raise _dst_error(explain, tz, times[0], offsets)
        utc = list(shifted.pop())
        if len(times) > 1 and len(times) * step < 1440 and \
                any(b - a != step for a, b in itertools.pairwise(utc)):
            raise InputError(f"{explain}: in UTC the window crosses midnight, which BigQuery's "
                             "'from HH:MM to HH:MM' cannot express; use timezone UTC with a "
                             "window that does not cross midnight", column="schedule.cron")
        if len(utc) == 1:
            return f"every day {_hhmm(utc[0])}"
        unit = f"{step // 60} hours" if step % 60 == 0 else f"{step} minutes"
        return f"every {unit} from {_hhmm(utc[0])} to {_hhmm(utc[-1])}"
    if len(times) != 1:
        raise InputError(f"{explain}: with days, weekdays or months BigQuery runs once a day; "
                         "use one minute and one hour (e.g. '0 6 * * 1'), or Cloud Scheduler",
                         column="schedule.cron")
    if dom_r and dow_r:
        raise InputError(f"{explain}: cron runs when the day of month OR the weekday matches; "
                         "BigQuery's schedule cannot combine both. Restrict one of them.",
                         column="schedule.cron")
    if len(offsets) > 1:
        raise _dst_error(explain, tz, times[0], offsets)
    local = times[0]
    utc, day_shift = (local - offsets[0]) % 1440, (local - offsets[0]) // 1440
    months = ",".join(MONTHS[m - 1].lower() for m in cron.values[3])
    if day_shift and (dom_r or month_r):
        raise InputError(f"{explain}: {_hhmm(local)} {tz} is {_hhmm(utc)} UTC on "
                         f"{'the previous' if day_shift < 0 else 'the next'} day, which moves "
                         "the days of month/months; use timezone UTC", column="schedule.cron")
    if dow_r:
        days = ",".join(DAYS[(d + day_shift) % 7].lower() for d in cron.values[4])
        return f"every {days}{f' of {months}' if month_r else ''} {_hhmm(utc)}"
    if dom_r:
        days = ",".join(str(d) for d in cron.values[2])
        return f"{days} of {months if month_r else 'month'} {_hhmm(utc)}"
    return f"every day of {months} {_hhmm(utc)}"


def _dst_error(explain: str, tz: str, local: int, offsets: list[int]) -> InputError:
    utcs = " or ".join(sorted({_hhmm((local - off) % 1440) for off in offsets}))
    return InputError(f"{explain}: {tz} changes its UTC offset during the year (daylight "
                      f"saving time) and BigQuery schedules run on UTC times, so "
                      f"{_hhmm(local)} {tz} would be {utcs} UTC depending on the season. Use "
                      "timezone: UTC with the hour you want, or Cloud Scheduler (which has "
                      "time zones).", column="schedule.timezone")


# -- snowflake task graph ---------------------------------------------------------------------

def _tree(template: str, dialect: str, **bindings: exp.Expression) -> exp.Expression:
    """A statement from a constant template with ``:name`` placeholders."""
    return exp.replace_placeholders(sqlglot.parse_one(template, read=dialect), **bindings)


def _stmt(tree: exp.Expression, dialect: str, comment: str = "") -> Statement:
    return Statement(tree.sql(dialect=dialect), tree, comment)


def _object_name(wf: Workflow, *parts: str) -> str:
    """Names terraplan gives its own objects: ``<WORKFLOW>__<PART>`` upper-cased, other
    characters than letters, digits, _ and $ replaced by _ (still quoted when rendered)."""
    return re.sub(r"[^A-Za-z0-9_$]", "_", "__".join([wf.name, *parts])).upper()


def snowflake_objects(wf: Workflow, sched: Schedule, loc: Location,
                      task_warehouse: str | None = None) -> list[Statement]:
    from udfs.snowflake.ddl import Target

    if not loc.data_schema:
        raise InputError("a Snowflake schedule needs --data-schema: the schema of the "
                         "workflow's tables, where the tasks and streams are created (every "
                         "name in the task graph is then fully qualified)",
                         column="data-schema")
    home = Target.parse(loc.data_database, loc.data_schema)
    obj = home.object
    sf = lambda node: node.sql(dialect="snowflake")  # noqa: E731
    lit = lambda text: exp.Literal.string(text).sql(dialect="snowflake")  # noqa: E731
    root = obj(_object_name(wf, "ROOT"))
    steps = [obj(_object_name(wf, s.name)) for s in wf.steps]
    streams = {src: obj(_object_name(wf, src, "STREAM")) for src in sched.on_change}
    compute = (f"WAREHOUSE = {sf(exp.to_identifier(task_warehouse, quoted=True))}"
               if task_warehouse else "USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE = 'XSMALL'")

    out = [Statement(f"ALTER TASK IF EXISTS {sf(root)} SUSPEND", None,
                     "a running graph cannot be changed: suspend the root first")]
    triggers = obj(TRIGGER_TABLE)
    out.append(_stmt(exp.Create(this=exp.Schema(this=triggers, expressions=[
        exp.ColumnDef(this=exp.to_identifier(c, quoted=True),
                      kind=exp.DataType.build(t, dialect="snowflake"))
        for c, t in (("WORKFLOW", "VARCHAR"), ("FIRED_AT", "TIMESTAMP_LTZ"),
                     ("CHANGED_ROWS", "NUMBER"))]), kind="TABLE", exists=True),
        "snowflake", "one row per time the graph fires"))
    for src, stream in streams.items():
        source = snowflake_table(table_text(wf, src), loc)
        out.append(Statement(f"CREATE OR REPLACE STREAM {sf(stream)} ON TABLE {sf(source)}",
                             None, f"changes to source {src}"))
    if streams:
        union = " UNION ALL ".join(f"SELECT 1 AS c FROM :s{i}" for i in range(len(streams)))
        body = _tree(f"INSERT INTO :log (WORKFLOW, FIRED_AT, CHANGED_ROWS) SELECT :wf, "
                     f"CURRENT_TIMESTAMP(), COUNT(*) FROM ({union}) AS changes", "snowflake",
                     log=triggers, wf=exp.Literal.string(wf.name),
                     **{f"s{i}": s for i, s in enumerate(streams.values())})
    else:
        body = _tree("INSERT INTO :log (WORKFLOW, FIRED_AT, CHANGED_ROWS) SELECT :wf, "
                     "CURRENT_TIMESTAMP(), NULL", "snowflake", log=triggers,
                     wf=exp.Literal.string(wf.name))
    clauses = [compute]
    if sched.cron:
        clauses.append(f"SCHEDULE = {lit(f'USING CRON {sched.cron.text} {sched.timezone}')}")
    clauses.append(f"COMMENT = {lit(f'terraplan workflow {wf.name}: root')}")
    if streams:
        clauses.append("WHEN " + " OR ".join(f"SYSTEM$STREAM_HAS_DATA({lit(sf(s))})"
                                              for s in streams.values()))
    out.append(Statement(_task(root, clauses, body.sql(dialect="snowflake")), None,
                         "root: fires on the schedule and/or when a source stream has data; "
                         "reading the streams in this INSERT consumes them"))
    before = root
    for step, task in zip(wf.steps, steps, strict=True):
        clauses = [compute, f"COMMENT = {lit(f'terraplan workflow {wf.name}: {step.name}')}",
                   f"AFTER {sf(before)}"]
        out.append(Statement(_task(task, clauses, _task_body(
            adapter("snowflake").compile_step(wf, step, 0, loc))), None,
            f"step {step.name}: {step.uses}"
            + (" (rebalance: starts from today's alignment)" if _rebalanced(wf, step) else "")))
        before = task
    for task in reversed(steps):
        out.append(Statement(f"ALTER TASK {sf(task)} RESUME", None))
    out.append(Statement(f"ALTER TASK {sf(root)} RESUME", None, "the root last: the graph "
                                                                "is live from here"))
    return out


def _rebalanced(wf: Workflow, step: Any) -> bool:
    from udfs.rebalance import Rebalance

    rb = Rebalance.of(wf)
    return rb is not None and rb.applies_to(step)


def _task_body(statements: Sequence[Statement]) -> str:
    """One statement as it is; several (a rebalance join, then the CALL) as one Snowflake
    Scripting block, which a task runs in order and stops at the first error."""
    if len(statements) == 1:
        return statements[0].sql
    if any("$$" in s.sql for s in statements):
        raise InputError("a value in this workflow contains '$$', which would end the task's "
                         "Snowflake Scripting block: remove it", column="rebalance")
    lines = "\n".join(f"      {s.sql.replace(chr(10), ' ')};" for s in statements)
    return f"EXECUTE IMMEDIATE $$\n    BEGIN\n{lines}\n    END;\n  $$"


def _task(name: exp.Table, clauses: Sequence[str], body: str) -> str:
    lines = [f"CREATE OR REPLACE TASK {name.sql(dialect='snowflake')}",
             *(f"  {c}" for c in clauses), "AS", f"  {body}"]
    return "\n".join(lines)


# -- bigquery scheduled query -----------------------------------------------------------------

def _bq_source(text: str, what: str) -> exp.Table:
    """``[project.]dataset.__TABLES__`` for a source table name, checked."""
    from udfs.bigquery.tables import _DATASET, _PROJECT, _valid_table_name

    parts = text.rsplit(".", 2)
    project = parts[0] if len(parts) == 3 else None
    dataset, name = parts[-2], parts[-1]
    if (project is not None and not _PROJECT.match(project)) or not _DATASET.match(dataset) \
            or not _valid_table_name(name):
        raise InputError(f"{what}: {text!r} is not a BigQuery table name "
                         "([project.]dataset.table)", column=what)
    return exp.Table(this=exp.to_identifier("__TABLES__", quoted=True),
                     db=exp.to_identifier(dataset, quoted=True),
                     catalog=exp.to_identifier(project, quoted=True) if project else None)


def bigquery_script(wf: Workflow, sched: Schedule, loc: Location) -> list[Statement]:
    bq = "bigquery"
    runs = bigquery_object(loc, RUN_LOG_TABLE)
    name = exp.Literal.string(wf.name)
    out = [
        _stmt(sqlglot.parse_one("DECLARE run_id STRING DEFAULT FORMAT_TIMESTAMP("
                                "'%Y%m%dT%H%M%E6SZ', CURRENT_TIMESTAMP()) || '-' || SUBSTR("
                                "TO_HEX(MD5(GENERATE_UUID())), 1, 8)", read=bq), bq),
        _stmt(sqlglot.parse_one("DECLARE started_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP()",
                                read=bq), bq),
    ]
    if sched.on_change:
        out += [_stmt(sqlglot.parse_one("DECLARE last_run TIMESTAMP", read=bq), bq),
                _stmt(sqlglot.parse_one("DECLARE changed_at TIMESTAMP", read=bq), bq)]
        out.append(_stmt(_tree(
            "SET last_run = (SELECT MAX(started_at) FROM :runs WHERE workflow = :wf AND "
            "step = :step AND status = 'succeeded')", bq, runs=runs, wf=name,
            step=exp.Literal.string(WORKFLOW_STEP)), bq,
            "data-refresh trigger: the start of the last successful run ..."))
        parts, binds = [], {}
        for i, src in enumerate(sched.on_change):
            text = bigquery_table_text(table_text(wf, src), loc)
            binds[f"m{i}"] = _bq_source(text, f"source '{src}'")
            binds[f"t{i}"] = exp.Literal.string(text.rsplit(".", 1)[-1])
            parts.append(f"SELECT last_modified_time FROM :m{i} WHERE table_id = :t{i}")
        out.append(_stmt(_tree(
            "SET changed_at = (SELECT TIMESTAMP_MILLIS(MAX(last_modified_time)) FROM ("
            + " UNION ALL ".join(parts) + ") AS sources)", bq, **binds), bq,
            "... against the last change of the on_change sources (__TABLES__ metadata)"))
        skip = _tree("SELECT :msg AS terraplan, last_run, changed_at", bq,
                     msg=exp.Literal.string(f"{wf.name}: skipped, no source changed since "
                                            "the last run"))
        condition = sqlglot.parse_one("last_run IS NOT NULL AND (changed_at IS NULL OR "
                                      "changed_at <= last_run)", read=bq)
        out.append(Statement(f"IF {condition.sql(dialect=bq)} THEN\n  {skip.sql(dialect=bq)};"
                             "\n  RETURN;\nEND IF", None, "nothing changed: stop here"))
    bq_adapter = adapter("bigquery")
    for i, step in enumerate(wf.steps, 1):  # a rebalanced step joins today's alignment first
        out += bq_adapter.compile_step(wf, step, i, loc)
    outputs = {s.name: s.outputs for s in wf.steps}
    trigger = {"schedule": sched.cron.text if sched.cron else None,
               "timezone": sched.timezone, "on_change": list(sched.on_change)}
    out.append(_stmt(_tree(
        "INSERT INTO :runs (run_id, workflow, step, component, status, started_at, "
        "finished_at, params, report, error, outputs) VALUES (run_id, :wf, :step, "
        "'terraplan_workflow', 'succeeded', started_at, CURRENT_TIMESTAMP(), NULL, :trigger, "
        "NULL, :outputs)", bq, runs=runs, wf=name, step=exp.Literal.string(WORKFLOW_STEP),
        trigger=exp.Literal.string(json.dumps(trigger)),
        outputs=exp.Literal.string(json.dumps(outputs))), bq,
        "the whole run succeeded: the next data-refresh check starts from here"))
    return out


@dataclass(frozen=True)
class Transfer:
    """A BigQuery scheduled query: the bq command, its params JSON and the script."""

    schedule: str
    display_name: str
    params: dict[str, str]
    argv: list[str]
    script: str


def bigquery_transfer(wf: Workflow, sched: Schedule, loc: Location,
                      location: str | None = None, poll: str = DEFAULT_POLL) -> Transfer:
    project, _, _ = bigquery_location(loc)
    schedule = bigquery_schedule(sched.cron, sched.timezone) if sched.cron else poll
    header = [f"terraplan workflow {comment_text(wf.name)}: scheduled query script; "
              "generated by 'terraplan schedule', do not edit.",
              f"schedule: {schedule} (UTC)"
              + (f"; from cron {sched.cron.text!r} {sched.timezone}" if sched.cron else ""),
              *([f"runs only when {', '.join(sched.on_change)} changed since the last "
                 "successful run"] if sched.on_change else []),
              *(["note: BigQuery can fire a schedule exactly on the hour more than once; an "
                 "off-the-hour minute (e.g. 06:03) avoids it"]
                if sched.cron and 0 in sched.cron.values[0] else [])]
    script = render(bigquery_script(wf, sched, loc), header)
    display = f"terraplan {wf.name}"
    params = {"query": script}
    argv = ["bq", "mk", "--transfer_config", *([f"--project_id={project}"] if project else []),
            *([f"--location={location}"] if location else []),
            "--data_source=scheduled_query", f"--display_name={display}",
            f"--schedule={schedule}", f"--params={json.dumps(params)}"]
    return Transfer(schedule, display, params, argv, script)


def bigquery_text(transfer: Transfer, wf: Workflow) -> str:
    return "\n".join([
        f"# terraplan workflow {comment_text(wf.name)}: BigQuery scheduled query "
        f"({transfer.schedule}, UTC)",
        "# ---- create it (Google Cloud SDK) ----",
        shlex.join(transfer.argv),
        "# ---- its --params JSON ----",
        json.dumps(transfer.params, indent=2),
        "# ---- the script it runs (GoogleSQL) ----",
        transfer.script.rstrip("\n"),
    ]) + "\n"


# -- duckdb crontab ---------------------------------------------------------------------------

def crontab_block(wf: Workflow, sched: Schedule, command: str = "terraplan",
                  workdir: str | Path | None = None) -> str:
    """Crontab lines for the local runner, between markers so they can be replaced.

    They run in ``workdir`` (default: the current directory), because the workflow's
    ``database`` and ``exports`` paths are relative to the working directory, as they
    are when you type ``terraplan run`` there.
    """
    slug = re.sub(r"[^A-Za-z0-9_.-]", "_", wf.name)
    folder = Path(workdir or Path.cwd()).resolve()
    try:
        target = wf.path.relative_to(folder).as_posix()
    except ValueError:
        target = str(wf.path)
    cd = f"cd {shlex.quote(str(folder))}"
    file, log = shlex.quote(target), shlex.quote(f"terraplan-{slug}.cron.log")
    exe = shlex.join(shlex.split(command))
    lines = [f"# >>> terraplan {slug} >>>",
             f"# workflow {comment_text(wf.name)}: generated by 'terraplan schedule', "
             "do not edit (rerun it to change)"]
    if sched.cron:
        lines += [f"CRON_TZ={sched.timezone}",
                  f"{sched.cron.text} {cd} && {exe} run {file} >> {log} 2>&1"]
    if sched.on_change:
        lines += [f"# on_change {', '.join(sched.on_change)}: 'terraplan watch' reruns the "
                  "workflow when a source's content changes; started with the machine:",
                  f"@reboot {cd} && {exe} watch {file} >> {log} 2>&1"]
        if sched.cron:
            lines.append("# note: the cron line runs at its times whether or not the data "
                         "changed (same data and seed give the same alignment)")
    lines.append(f"# <<< terraplan {slug} <<<")
    return "\n".join(lines) + "\n"


def install_crontab(block: str, run: Callable[..., Any] = subprocess.run) -> str:
    """Replace this workflow's block in the user's crontab (or append it)."""
    first, last = block.splitlines()[0], block.rstrip("\n").splitlines()[-1]
    current = run(["crontab", "-l"], capture_output=True, text=True, check=False)
    text = current.stdout if current.returncode == 0 else ""
    kept, skipping = [], False
    for line in text.splitlines():
        if line == first:
            skipping = True
        if not skipping:
            kept.append(line)
        if line == last:
            skipping = False
    new = "\n".join([*kept, block.rstrip("\n")]) + "\n"
    run(["crontab", "-"], input=new, text=True, check=True)
    return new


# -- entry point ------------------------------------------------------------------------------

def schedule_objects(workflow: Workflow | str | Path, warehouse: str, *, dry_run: bool = True,
                     database: str | None = None, schema: str | None = None,
                     data_database: str | None = None, data_schema: str | None = None,
                     project: str | None = None, dataset: str | None = None,
                     data_dataset: str | None = None, task_warehouse: str | None = None,
                     location: str | None = None, poll: str = DEFAULT_POLL,
                     command: str = "terraplan", workdir: str | Path | None = None,
                     connection: str | None = None, catalog: str | None = None,
                     session: Any = None, echo: Callable[[str], None] = print,
                     **adapter_options: Any) -> str:
    """The warehouse's scheduler objects for a workflow (see the module docstring).

    Returns the text ``--dry-run`` prints. Without ``dry_run``: Snowflake runs every
    statement through ``session`` (default: a Snowpark session from the user's
    connection settings), DuckDB installs the crontab block, BigQuery runs ``bq``.
    """
    wf = as_workflow(workflow)
    check_warehouse(warehouse)
    sched = workflow_schedule(wf)
    loc = Location(database, schema, data_database, data_schema, project, dataset, data_dataset,
                   catalog)
    # an adapter with its own scheduler form (Databricks' Asset Bundle, Redshift's
    # EventBridge schedule) answers first
    own = adapter(warehouse).schedule(wf, sched, loc, dry_run=dry_run, **adapter_options)
    if own is not None:
        return own
    if warehouse == "snowflake":
        statements = snowflake_objects(wf, sched, loc, task_warehouse)
        header = [f"terraplan workflow {comment_text(wf.name)}: Snowflake task graph; "
                  "generated by 'terraplan schedule', do not edit.",
                  f"{len(wf.steps)} step task(s) after the root; needs 'terraplan deploy "
                  "snowflake'. Tasks run as their owner: grant it USAGE on the procedures,",
                  "the tables' privileges and EXECUTE TASK (plus EXECUTE MANAGED TASK when "
                  "serverless). Refresh on_change tables with DML, not CREATE OR REPLACE,",
                  "or their streams go stale."]
        text = render(statements, header)
        if not dry_run:
            _run_snowflake(statements, session, connection, echo)
        return text
    if warehouse == "bigquery":
        transfer = bigquery_transfer(wf, sched, loc, location, poll)
        text = bigquery_text(transfer, wf)
        if not dry_run:
            if not shutil.which("bq"):
                raise InputError("'bq' (Google Cloud SDK) is not on PATH: install it, or run "
                                 "the command printed by --dry-run where it is")
            subprocess.run(transfer.argv, check=True)
        return text
    block = crontab_block(wf, sched, command, workdir)
    if not dry_run:
        install_crontab(block)
        echo(f"installed the crontab entry for workflow {wf.name!r} (crontab -l shows it)")
    return block


def snowflake_credentials(connection: str | None = None,
                          environ: dict[str, str] | None = None) -> bool:
    """Whether the user has Snowflake connection settings (the adapter decides)."""
    # imported here: the Snowflake adapter loads Snowpark, too slow for every CLI start
    from udfs.snowflake.deploy import has_connection_settings

    return has_connection_settings(connection, environ)


def _run_snowflake(statements: Sequence[Statement], session: Any, connection: str | None,
                   echo: Callable[[str], None]) -> None:
    if session is None:
        from udfs.snowflake.deploy import session_from_settings

        session = session_from_settings(connection, "--dry-run prints the statements instead")
    for statement in statements:
        session.sql(statement.sql).collect()
        echo(statement.sql.splitlines()[0])


# -- CLI --------------------------------------------------------------------------------------

def _location_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("where things are (snowflake / bigquery)")
    group.add_argument("--database", metavar="DB",
                       help="snowflake: database of the terraplan procedures")
    group.add_argument("--schema", metavar="S",
                       help="snowflake: schema of the terraplan procedures (default TERRAPLAN)")
    group.add_argument("--data-database", metavar="DB",
                       help="snowflake: database of the workflow's tables")
    group.add_argument("--data-schema", metavar="S",
                       help="snowflake: schema of the workflow's tables (qualifies bare names; "
                            "required by schedule, which creates its tasks there)")
    group.add_argument("--project", help="bigquery: project of the procedures and run log")
    group.add_argument("--dataset", metavar="D",
                       help="bigquery: dataset of the procedures and run log (default "
                            "terraplan)")
    group.add_argument("--data-dataset", metavar="D",
                       help="bigquery: dataset of bare table names (default: --dataset)")
    group.add_argument("--catalog", metavar="C",
                       help="databricks: Unity Catalog catalog of the workflow's tables "
                            "(with --data-schema)")


def register(sub: argparse._SubParsersAction, groups: dict | None = None) -> None:
    """Add ``terraplan compile`` and ``terraplan schedule`` to the CLI."""
    p = sub.add_parser(
        "compile", help="a workflow as one SQL script for a warehouse",
        description="Print (or write) the SQL script that runs the workflow's steps in order "
                    "inside the warehouse, calling what 'terraplan deploy' installed.")
    p.add_argument("workflow", metavar="WORKFLOW", help="workflow YAML file")
    p.add_argument("--warehouse", choices=WAREHOUSES,
                   help="target warehouse (default: the workflow's 'warehouse', else duckdb)")
    p.add_argument("--out", metavar="FILE", help="write the script to FILE instead of stdout")
    _location_args(p)
    p.set_defaults(handler=_compile_command)

    s = sub.add_parser(
        "schedule", help="schedule and data-refresh triggers in the warehouse",
        description="Create (or with --dry-run print) the scheduler objects for the "
                    "workflow's 'schedule' block: a Snowflake task graph with streams, a "
                    "BigQuery scheduled query, or crontab lines for DuckDB.")
    s.add_argument("workflow", metavar="WORKFLOW", help="workflow YAML file")
    s.add_argument("--warehouse", choices=WAREHOUSES,
                   help="target warehouse (default: the workflow's 'warehouse', else duckdb)")
    s.add_argument("--dry-run", action="store_true", help="print the objects; change nothing")
    _location_args(s)
    s.add_argument("--task-warehouse", metavar="WH",
                   help="snowflake: warehouse the tasks run on (default: serverless tasks)")
    s.add_argument("--iam-role", metavar="ARN",
                   help="redshift: role EventBridge Scheduler assumes to call the Redshift "
                        "Data API")
    s.add_argument("--workgroup", metavar="NAME",
                   help="redshift: Redshift Serverless workgroup the query runs in")
    s.add_argument("--connection", metavar="NAME",
                   help="snowflake: connection name in connections.toml (default: SNOWFLAKE_* "
                        "environment, else the default connection)")
    s.add_argument("--location", help="bigquery: location of the scheduled query, e.g. US")
    s.add_argument("--poll", default=DEFAULT_POLL,
                   help=f"bigquery: how often an on_change-only workflow checks its sources "
                        f"(default: '{DEFAULT_POLL}')")
    s.add_argument("--command", default="terraplan",
                   help="duckdb: the terraplan executable cron runs (default: terraplan; cron's "
                        "PATH is short, so an absolute path is safer)")
    s.set_defaults(handler=_schedule_command)


def _location(args: argparse.Namespace) -> dict[str, Any]:
    return {k: getattr(args, k) for k in ("database", "schema", "data_database", "data_schema",
                                          "project", "dataset", "data_dataset", "catalog")}


def _compile_command(args: argparse.Namespace) -> int:
    wf = as_workflow(args.workflow)
    text = compile_workflow(wf, args.warehouse or wf.warehouse, **_location(args))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out} ({len(wf.steps)} step(s), {args.warehouse or wf.warehouse})")
    else:
        print(text, end="")
    return 0


def _schedule_command(args: argparse.Namespace) -> int:
    wf = as_workflow(args.workflow)
    warehouse = args.warehouse or wf.warehouse
    if warehouse == "snowflake" and not args.dry_run \
            and not snowflake_credentials(args.connection):
        print("terraplan: error: no Snowflake connection settings (SNOWFLAKE_ACCOUNT, ... or "
              "connections.toml); nothing was created. Use --dry-run to print the statements.",
              file=sys.stderr)
        return EXIT_INPUT
    text = schedule_objects(wf, warehouse, dry_run=args.dry_run, **_location(args),
                            task_warehouse=args.task_warehouse, location=args.location,
                            poll=args.poll, command=args.command, connection=args.connection,
                            role=args.iam_role, workgroup=args.workgroup)
    if args.dry_run:
        print(text, end="")
    return 0

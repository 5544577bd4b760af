"""``terraplan schedule --warehouse bigquery``: a scheduled query and the script it runs.

The scheduled query (``bq mk --transfer_config --data_source=scheduled_query``) fires on
the cron in BigQuery's schedule syntax (UTC; see :func:`bigquery_schedule`) and runs the
steps' CALLs, then one ``terraplan_runs`` row for the workflow run. With ``on_change``
the script first compares the sources' ``last_modified_time`` (the dataset's
``__TABLES__`` metadata, free to query) with the start of the last successful run and
returns early when no source changed; without ``cron`` it polls (default every 15
minutes). A failed run writes no workflow row, so the next poll tries again.
"""

from __future__ import annotations

import itertools
import json
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlglot
from sqlglot import exp

from components.errors import InputError
from udfs.base import (
    RUN_LOG_TABLE,
    Location,
    Statement,
    WarehouseAdapter,
    comment_text,
    render,
    table_text,
)
from udfs.bigquery.calls import bigquery_location, bigquery_object, bigquery_table_text
from udfs.bigquery.tables import _DATASET, _PROJECT, _valid_table_name

DIALECT = "bigquery"
DEFAULT_POLL = "every 15 minutes"
WORKFLOW_STEP = "__workflow__"  # the run-log row of a whole scheduled run
# BigQuery's schedule syntax names months and weekdays in lower case
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _tree(template: str, **bindings: exp.Expr) -> exp.Expr:
    """A statement from a constant template with ``:name`` placeholders."""
    return exp.replace_placeholders(sqlglot.parse_one(template, read=DIALECT), **bindings)


def _stmt(tree: exp.Expr, comment: str = "") -> Statement:
    # sqlglot types its trees as Expr; every node it builds is an Expression
    return Statement(tree.sql(dialect=DIALECT),
                     tree if isinstance(tree, exp.Expression) else None, comment)


# -- BigQuery's schedule syntax ---------------------------------------------------------------

def _offsets(tz: str) -> list[int]:
    """The UTC offsets (minutes) a zone uses over a year, sampled twice a month."""
    zone = ZoneInfo(tz)
    found = {int((datetime(2025, month, day, 12, tzinfo=zone).utcoffset() or timedelta(0))
                 // timedelta(minutes=1)) for month in range(1, 13) for day in (1, 15)}
    return sorted(found)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def bigquery_schedule(cron: Any, tz: str = "UTC") -> str:
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
    at, day_shift = (local - offsets[0]) % 1440, (local - offsets[0]) // 1440
    months = ",".join(MONTHS[m - 1] for m in cron.values[3])
    if day_shift and (dom_r or month_r):
        raise InputError(f"{explain}: {_hhmm(local)} {tz} is {_hhmm(at)} UTC on "
                         f"{'the previous' if day_shift < 0 else 'the next'} day, which moves "
                         "the days of month/months; use timezone UTC", column="schedule.cron")
    if dow_r:
        days = ",".join(DAYS[(d + day_shift) % 7] for d in cron.values[4])
        return f"every {days}{f' of {months}' if month_r else ''} {_hhmm(at)}"
    if dom_r:
        days = ",".join(str(d) for d in cron.values[2])
        return f"{days} of {months if month_r else 'month'} {_hhmm(at)}"
    return f"every day of {months} {_hhmm(at)}"


def _dst_error(explain: str, tz: str, local: int, offsets: list[int]) -> InputError:
    utcs = " or ".join(sorted({_hhmm((local - off) % 1440) for off in offsets}))
    return InputError(f"{explain}: {tz} changes its UTC offset during the year (daylight "
                      f"saving time) and BigQuery schedules run on UTC times, so "
                      f"{_hhmm(local)} {tz} would be {utcs} UTC depending on the season. Use "
                      "timezone: UTC with the hour you want, or Cloud Scheduler (which has "
                      "time zones).", column="schedule.timezone")


# -- the scheduled query -------------------------------------------------------------------

def _bq_source(text: str, what: str) -> exp.Table:
    """``[project.]dataset.__TABLES__`` for a source table name, checked."""
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


def bigquery_script(adapter: WarehouseAdapter, wf: Any, sched: Any,
                    loc: Location) -> list[Statement]:
    """The scheduled query's script: the on_change check, the steps, the run row."""
    bq = DIALECT
    runs = bigquery_object(loc, RUN_LOG_TABLE)
    name = exp.Literal.string(wf.name)
    out = [
        _stmt(sqlglot.parse_one("DECLARE run_id STRING DEFAULT FORMAT_TIMESTAMP("
                                "'%Y%m%dT%H%M%E6SZ', CURRENT_TIMESTAMP()) || '-' || SUBSTR("
                                "TO_HEX(MD5(GENERATE_UUID())), 1, 8)", read=bq)),
        _stmt(sqlglot.parse_one("DECLARE started_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP()",
                                read=bq)),
    ]
    if sched.on_change:
        out += [_stmt(sqlglot.parse_one("DECLARE last_run TIMESTAMP", read=bq)),
                _stmt(sqlglot.parse_one("DECLARE changed_at TIMESTAMP", read=bq))]
        out.append(_stmt(_tree(
            "SET last_run = (SELECT MAX(started_at) FROM :runs WHERE workflow = :wf AND "
            "step = :step AND status = 'succeeded')", runs=runs, wf=name,
            step=exp.Literal.string(WORKFLOW_STEP)),
            "data-refresh trigger: the start of the last successful run ..."))
        parts: list[str] = []
        binds: dict[str, exp.Expr] = {}
        for i, src in enumerate(sched.on_change):
            text = bigquery_table_text(table_text(wf, src), loc)
            binds[f"m{i}"] = _bq_source(text, f"source '{src}'")
            binds[f"t{i}"] = exp.Literal.string(text.rsplit(".", 1)[-1])
            parts.append(f"SELECT last_modified_time FROM :m{i} WHERE table_id = :t{i}")
        out.append(_stmt(_tree(
            "SET changed_at = (SELECT TIMESTAMP_MILLIS(MAX(last_modified_time)) FROM ("
            + " UNION ALL ".join(parts) + ") AS sources)", **binds),
            "... against the last change of the on_change sources (__TABLES__ metadata)"))
        skip = _tree("SELECT :msg AS terraplan, last_run, changed_at",
                     msg=exp.Literal.string(f"{wf.name}: skipped, no source changed since "
                                            "the last run"))
        condition = sqlglot.parse_one("last_run IS NOT NULL AND (changed_at IS NULL OR "
                                      "changed_at <= last_run)", read=bq)
        out.append(Statement(f"IF {condition.sql(dialect=bq)} THEN\n  {skip.sql(dialect=bq)};"
                             "\n  RETURN;\nEND IF", None, "nothing changed: stop here"))
    for i, step in enumerate(wf.steps, 1):  # a rebalanced step joins today's alignment first
        out += adapter.compile_step(wf, step, i, loc)
    outputs = {s.name: s.outputs for s in wf.steps}
    trigger = {"schedule": sched.cron.text if sched.cron else None,
               "timezone": sched.timezone, "on_change": list(sched.on_change)}
    out.append(_stmt(_tree(
        "INSERT INTO :runs (run_id, workflow, step, component, status, started_at, "
        "finished_at, params, report, error, outputs) VALUES (run_id, :wf, :step, "
        "'terraplan_workflow', 'succeeded', started_at, CURRENT_TIMESTAMP(), NULL, :trigger, "
        "NULL, :outputs)", runs=runs, wf=name, step=exp.Literal.string(WORKFLOW_STEP),
        trigger=exp.Literal.string(json.dumps(trigger)),
        outputs=exp.Literal.string(json.dumps(outputs))),
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


def bigquery_transfer(adapter: WarehouseAdapter, wf: Any, sched: Any, loc: Location,
                      location: str | None = None, poll: str | None = None) -> Transfer:
    project, _, _ = bigquery_location(loc)
    schedule = (bigquery_schedule(sched.cron, sched.timezone) if sched.cron
                else poll or DEFAULT_POLL)
    header = [f"terraplan workflow {comment_text(wf.name)}: scheduled query script; "
              "generated by 'terraplan schedule', do not edit.",
              f"schedule: {schedule} (UTC)"
              + (f"; from cron {sched.cron.text!r} {sched.timezone}" if sched.cron else ""),
              *([f"runs only when {', '.join(sched.on_change)} changed since the last "
                 "successful run"] if sched.on_change else []),
              *(["note: BigQuery can fire a schedule exactly on the hour more than once; an "
                 "off-the-hour minute (e.g. 06:03) avoids it"]
                if sched.cron and 0 in sched.cron.values[0] else [])]
    script = render(bigquery_script(adapter, wf, sched, loc), header)
    display = f"terraplan {wf.name}"
    params = {"query": script}
    argv = ["bq", "mk", "--transfer_config", *([f"--project_id={project}"] if project else []),
            *([f"--location={location}"] if location else []),
            "--data_source=scheduled_query", f"--display_name={display}",
            f"--schedule={schedule}", f"--params={json.dumps(params)}"]
    return Transfer(schedule, display, params, argv, script)


def bigquery_text(transfer: Transfer, wf: Any) -> str:
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


def schedule_text(adapter: WarehouseAdapter, wf: Any, sched: Any, loc: Location, *,
                  dry_run: bool = True, location: str | None = None,
                  poll: str | None = None) -> str:
    """The scheduled query as text; without ``dry_run`` ``bq`` also creates it."""
    transfer = bigquery_transfer(adapter, wf, sched, loc, location, poll)
    text = bigquery_text(transfer, wf)
    if not dry_run:
        if not shutil.which("bq"):
            raise InputError("'bq' (Google Cloud SDK) is not on PATH: install it, or run "
                             "the command printed by --dry-run where it is")
        subprocess.run(transfer.argv, check=True)
    return text

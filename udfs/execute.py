"""One component call in a warehouse: read, profile, run, stage, record.

Every place that runs a component next to warehouse tables does the same five things:
the DuckDB workflow runner (:mod:`workflows.runner`), the Snowflake stored procedures
(:mod:`udfs.snowflake.procedures`), the BigQuery service in tables mode
(:mod:`udfs.bigquery.handler`) and the Databricks step task (:mod:`udfs.spark.tables`).
:func:`execute_component` does them once, in this order, and each warehouse gives only
what differs as :class:`Hooks`:

1. **read** every wired input into a DataFrame;
2. **prepare** the parameters against the frames (Snowflake's column-name rules, the
   runner's rebalance join) -- optional;
3. **profile** the SCU input in SQL (:mod:`components.profile`) -- optional; a hook
   raises on an empty table with that warehouse's naming of it;
4. **run** the component (HiGHS in-process in a warehouse handler: no forked children);
5. **stage** the outputs (each warehouse's atomic write), then **record** the
   :class:`~udfs.base.RunRecord` -- ``succeeded``, or ``failed`` with the one-line
   message (a traceback only for a bug), and the error raised again.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from components import highs, registry
from components.errors import TerraplanError
from components.result import ComponentResult, jsonable

Frames = dict[str, pd.DataFrame]


def utc_now() -> datetime:
    """Naive UTC, the run log's timestamp type in every warehouse."""
    return datetime.now(UTC).replace(tzinfo=None)


def error_text(err: BaseException) -> str:
    """What the run log says: the message of a terraplan error, the traceback of a bug."""
    if isinstance(err, TerraplanError):
        return str(err)
    return "".join(traceback.format_exception(err))


@dataclass
class Hooks:
    """What one warehouse does around a component call (see the module docstring)."""

    read: Callable[[str], pd.DataFrame]          # input name -> its rows
    stage: Callable[[ComponentResult], Any]      # outputs written (not yet published)
    record: Callable[[Any], None] | None = None  # the RunRecord, succeeded or failed
    prepare: Callable[[Frames, dict[str, Any]], dict[str, Any]] | None = None
    profile: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
    finish: Callable[[ComponentResult], None] | None = None  # report additions
    in_process: bool = False                     # HiGHS in this process (handlers)
    now: Callable[[], datetime] = utc_now


def execute_component(name: str, inputs: Iterable[str], params: dict[str, Any], record: Any,
                      hooks: Hooks) -> tuple[ComponentResult, Any]:
    """Run component ``name`` on the wired ``inputs``; returns the result and what
    ``hooks.stage`` returned. ``record`` (a :class:`~udfs.base.RunRecord`) gets the
    parameters used (unless it has some), the status, the report or error and the
    finish time, and goes to ``hooks.record`` on success and on failure alike."""
    try:
        component = registry.get(name)
        first = component.spec.inputs[0].name
        frames = {role: hooks.read(role) for role in inputs}
        if hooks.prepare is not None:
            params = hooks.prepare(frames, params)
        if record.params is None:  # the runner logs the step's own parameters
            record.params = params
        profile: dict[str, Any] = {}
        if hooks.profile is not None and first == "scus" and first in frames:
            profile = hooks.profile(first, params)
        main = frames.pop(first)
        with highs.in_process() if hooks.in_process else contextlib.nullcontext():
            result = component.run(main, **frames, **params)
        if profile:
            result.report["input_profile"] = profile
        if hooks.finish is not None:
            hooks.finish(result)
        staged = hooks.stage(result)
    except Exception as err:
        record.status, record.error, record.finished_at = "failed", error_text(err), hooks.now()
        if hooks.record is not None:
            hooks.record(record)
        raise
    # a copy as JSON values: the report may change after this (a row written later)
    record.status, record.report = "succeeded", jsonable(result.report)
    record.finished_at = hooks.now()
    if hooks.record is not None:
        hooks.record(record)
    return result, staged

"""Run a workflow on the embedded DuckDB warehouse, as one unit.

A run writes a row ``running`` to ``terraplan_runs`` first. File sources are read
and staged (never replacing the loaded table yet); each step profiles its SCU input
in SQL (``sql/scu/profile``), runs the component next to the data and stages its
outputs, stamped with the run id. Exports are written to a hidden folder. Then one
transaction swaps in every staged source and output of every step, appends the
outputs to ``<table>__history`` (growing it by new columns), writes the step rows
and sets the run row to ``succeeded``; only then the export folder is swapped in
whole. A failure, SIGINT or SIGTERM before that commit publishes nothing and sets
the run row to ``failed`` or ``interrupted``; a run killed outright stays
``running`` and is shown (and later recorded) as ``crashed``.

``on_infeasible`` (workflow or step): a step whose answer misses a bound
(``tolerance_not_met``...) is published (``publish``), fails the run (``fail``) or,
by default, leaves the previous run current (``keep_previous``, run row
``kept_previous``).

Rebalance on refresh: when the workflow has a ``rebalance`` block and its alignment
table exists, the step named there gets today's alignment as its ``current``
column and a disruption weight, so it moves as few units as the new balance
requires; the report lists what moved and why (new unit, or rebalance).

Scenarios: a ``scenarios`` block runs one step once per parameter set and writes a
side-by-side comparison table ``<workflow>_scenarios``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from components.errors import InfeasibleError, InputError, TerraplanError
from components.result import ComponentResult, jsonable
from components.sqlgen import table
from udfs.base import RUN_LOG_TABLE, RunRecord, new_run_id
from udfs.duckdb import DEFAULT_WAIT, DuckDBWarehouse, now
from workflows.exports import export
from workflows.history import workflow_tables
from workflows.io import discard, read_input, swap_in, text_columns
from workflows.phases import checkpoint
from workflows.spec import WORKFLOW_NAME, Workflow, load_workflow
from workflows.steps import indent, run_scenarios, run_step, step_summary

DEFAULT_DATABASE = "out/terraplan.duckdb"
RUN_STEP = "(run)"  # the run's own row in the run log, beside one row per step
INFEASIBLE_STATUSES = ("tolerance_not_met", "constraint_violated", "infeasible")


@dataclass
class StepResult:
    name: str
    component: str
    report: dict[str, Any]
    outputs: dict[str, str]
    seconds: float


@dataclass
class RunSummary:
    workflow: str
    run_id: str
    database: str
    trigger: str = "manual"
    steps: list[StepResult] = field(default_factory=list)
    scenarios: pd.DataFrame | None = None
    out_dir: str | None = None
    seconds: float = 0.0
    published: bool = False
    infeasible: list[str] = field(default_factory=list)  # "step: status" per step
    kept_run: str | None = None  # on_infeasible keep_previous: the run still current


class RunInterrupted(TerraplanError):
    """SIGINT or SIGTERM stopped a run; nothing of it was published."""

    def __init__(self, message: str, *, signum: int) -> None:
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + signum


def _on_sigterm(signum: int, _frame: Any) -> None:
    raise RunInterrupted("terminated (SIGTERM)", signum=signum)


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, TypeError, ValueError):
        return False
    return True


def _mark_crashed(wh: DuckDBWarehouse) -> None:
    """Runs left 'running' by a process that no longer exists: say they crashed."""
    runs = wh.runs()
    if runs.empty:
        return
    for r in runs[(runs["step"] == RUN_STEP) & (runs["status"] == "running")].itertuples():
        pid = _json(r.params).get("pid")
        if pid == os.getpid() or _alive(pid):
            continue
        wh.update_run(str(r.run_id), RUN_STEP, status="crashed",
                      error="the process running it died before it finished; nothing of it "
                            "was published")


def _json(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) and text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def run_workflow(path: str | Path, *, database: str | None = None, out: str | None = None,
                 echo: Callable[[str], None] | None = None, trigger: str = "manual",
                 fresh: bool = False, wait: float = DEFAULT_WAIT) -> RunSummary:
    """Run every step of a workflow file on DuckDB as one unit; see the module docstring.

    ``fresh`` ignores the rebalance block (a new alignment from scratch); ``wait`` is how
    long to wait for another process holding the database.
    """
    started = time.monotonic()
    say = echo or (lambda _msg: None)
    wf: Workflow = load_workflow(path)
    if not re.fullmatch(WORKFLOW_NAME["pattern"], wf.name):
        raise InputError(f"workflow name {wf.name!r} cannot name tables and files: use "
                         "letters, digits, '_' and '-' only (no path parts)", column="name")
    db = database or wf.database or DEFAULT_DATABASE
    out_dir = out or wf.exports.get("dir")
    run_id = new_run_id()
    summary = RunSummary(workflow=wf.name, run_id=run_id, database=str(db), trigger=trigger)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        wh = DuckDBWarehouse.open(db, wait=wait, say=say)
        try:
            _run(wh, wf, summary, say, fresh=fresh, out_dir=out_dir)
        finally:
            wh.close()
    except (KeyboardInterrupt, RunInterrupted) as err:
        signum = getattr(err, "signum", signal.SIGINT)
        what = "interrupted (SIGINT)" if signum == signal.SIGINT else "terminated (SIGTERM)"
        if summary.published:  # the commit was done: say so, the export folder was not
            raise RunInterrupted(f"{what} after run {run_id} was published; the export "
                                 "folder was not updated (the next run rewrites it)",
                                 signum=signum) from None
        raise RunInterrupted(f"{what}: nothing of run {run_id} was published; the previous "
                             "outputs are current", signum=signum) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    summary.seconds = time.monotonic() - started
    return summary


def _run(wh: DuckDBWarehouse, wf: Workflow, summary: RunSummary, say: Callable[[str], None],
         *, fresh: bool, out_dir: str | None) -> None:
    run_id, trigger = summary.run_id, summary.trigger
    wh.drop_stale_stages()
    _mark_crashed(wh)
    wh.record_run(RunRecord(
        run_id=run_id, workflow=wf.name, step=RUN_STEP, component="workflow",
        status="running", started_at=now(), finished_at=None,
        params=json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                           "workflow_file": str(wf.path)}),
        report="{}", error="", outputs="{}", trigger=trigger))
    staged: dict[str, str] = {}  # sources and every output of this run, published together
    pending: list[RunRecord] = []  # step rows, written with the publish (or the failure)
    stage_dir: Path | None = None
    try:
        checkpoint("started")
        sources = _stage_sources(wh, wf, say, staged)
        checkpoint("sources")
        results: dict[str, ComponentResult] = {}
        for i, step in enumerate(wf.steps, 1):
            say(f"[{i}/{len(wf.steps)}] {step.name} ({step.uses}) ...")
            result = run_step(wh, wf, step, dict(step.params), run_id, trigger,
                              rebalance=not fresh, outputs=step.outputs, staged=staged,
                              pending=pending)
            results[step.name] = result
            report = jsonable(result.report)
            summary.steps.append(StepResult(step.name, step.uses, report, step.outputs,
                                            float(report.get("wall_seconds", 0.0))))
            say(indent(step_summary(report)))
            checkpoint(f"step:{step.name}")
        if wf.scenarios:
            summary.scenarios = run_scenarios(wh, wf, run_id, trigger, say, staged, pending)
        outputs = {t: s for t, s in staged.items() if t not in sources}
        if _keep_previous(wh, wf, summary, outputs, say):
            _finish(wh, run_id, pending, status="kept_previous", step_status="not_published",
                    report={"status": "kept_previous", "infeasible": summary.infeasible,
                            "kept_run": summary.kept_run})
            return
        if out_dir:
            stage_dir = export(wh, wf, results, summary, Path(out_dir), staged)
            checkpoint("exports")
        columns = {t: [c for c in wh.columns(s)] for t, s in outputs.items()}
        # a step or output dropped from the workflow: its old table is not left current
        # beside this run's (its versions stay in __history; rollback restores them)
        gone = sorted(t for t in workflow_tables(wh, wf.name) - set(outputs) - sources
                      if wh.table_exists(t))
        say(f"[publish] {len(outputs)} table(s) and {len(sources)} source(s) ..."
            + (f"; dropping {', '.join(gone)} (no longer an output)" if gone else ""))

        def settle() -> None:  # inside the publish transaction: logged only if committed
            _finish(wh, run_id, pending, status="succeeded", step_status="succeeded",
                    report={"status": "published", "infeasible": summary.infeasible},
                    outputs=columns)
            checkpoint("publish")

        wh.publish(staged, history=set(outputs), then=settle, drop=gone)
        staged.clear()
        checkpoint("published")
        summary.published = True
        say(f"[publish] run {run_id} is current: {', '.join(outputs)}")
        if stage_dir is not None and out_dir:
            summary.out_dir = str(swap_in(stage_dir, out_dir))
            stage_dir = None
            checkpoint("exported")
            say(f"[export] tables, report.json and map written to {summary.out_dir}")
    except BaseException as err:
        interrupted = isinstance(err, RunInterrupted | KeyboardInterrupt)
        status = "interrupted" if interrupted else "failed"
        if isinstance(err, TerraplanError):
            error = str(err)
        elif interrupted:
            error = "interrupted (SIGINT)"
        else:
            error = traceback.format_exc()
        _record_failure(wh, run_id, pending, status, error)
        raise
    finally:
        discard(stage_dir)
        wh.drop_staged(staged)  # a failed run publishes nothing


def _record_failure(wh: DuckDBWarehouse, run_id: str, pending: list[RunRecord], status: str,
                    error: str) -> None:
    """Say why in the run log, unless the publish had already committed."""
    try:
        row = wh.con.execute(f"SELECT status FROM {table(RUN_LOG_TABLE).sql('duckdb')} "
                             "WHERE run_id = ? AND step = ?", [run_id, RUN_STEP]).fetchall()
        if row and row[0][0] == "succeeded":
            return  # interrupted after the commit: the run is published and logged
        _finish(wh, run_id, pending, status=status, step_status="not_published",
                report={"status": status}, error=error)
    except Exception:  # the original error is the one to report
        pass


def _finish(wh: DuckDBWarehouse, run_id: str, pending: list[RunRecord], *, status: str,
            step_status: str, report: dict[str, Any], error: str = "",
            outputs: dict[str, list[str]] | None = None) -> None:
    """Write the step rows and settle the run's own row (inside the publish, if any)."""
    for rec in pending:
        if rec.status == "succeeded":
            rec.status = step_status
        wh.record_run(rec)
    pending.clear()
    values: dict[str, Any] = {"status": status, "finished_at": now(),
                              "report": json.dumps(jsonable(report)), "error": error}
    if outputs is not None:
        values["outputs"] = json.dumps(outputs)
    wh.update_run(run_id, RUN_STEP, **values)


def _keep_previous(wh: DuckDBWarehouse, wf: Workflow, summary: RunSummary,
                   outputs: dict[str, str], say: Callable[[str], None]) -> bool:
    """Apply ``on_infeasible`` to steps whose answer misses a bound; True: publish nothing."""
    policies: list[str] = []
    for res in summary.steps:
        status = res.report.get("status")
        if status not in INFEASIBLE_STATUSES:
            continue
        step = next(s for s in wf.steps if s.name == res.name)
        policy = step.on_infeasible or wf.on_infeasible
        summary.infeasible.append(f"{res.name}: {status}")
        policies.append(policy)
        if policy == "fail":
            raise InfeasibleError(f"step '{res.name}': the answer is {status} and on_infeasible "
                                  "is 'fail': nothing was published, the previous outputs "
                                  "are current")
    if "keep_previous" not in policies:
        if policies:
            say(f"[publish] publishing {', '.join(summary.infeasible)} (on_infeasible: publish)")
        return False
    current = [t for t in outputs if wh.table_exists(t)]
    if not current:
        say(f"[publish] {', '.join(summary.infeasible)}: no previous outputs to keep, "
            "publishing this answer")
        return False
    rows = wh.con.execute(f"SELECT DISTINCT run_id FROM {table(current[0]).sql('duckdb')}"
                          ).fetchall()
    summary.kept_run = str(rows[0][0]) if rows else None
    say(f"[publish] nothing published: {', '.join(summary.infeasible)}; kept run "
        f"{summary.kept_run} as current (on_infeasible: keep_previous)")
    return True


def _stage_sources(wh: DuckDBWarehouse, wf: Workflow, say: Callable[[str], None],
                   staged: dict[str, str]) -> set[str]:
    """Read and stage every file source; the loaded table is replaced only by the publish."""
    names: set[str] = set()
    for name, src in wf.sources.items():
        if "path" in src:
            df = read_input(str(wf.source_path(name)), id_columns=_source_text_columns(wf, name))
            staged.update(wh.stage_tables({name: df}, None))
            names.add(name)
            say(f"[load] {name}: {len(df)} rows from {src['path']}")
            checkpoint(f"source:{name}")
        elif not wh.table_exists(src["table"]):
            raise InputError(f"source '{name}': table '{src['table']}' not found in the "
                             "database", column=name)
    return names


def _source_text_columns(wf: Workflow, name: str) -> list[str]:
    """YAML id_columns plus every key/label column a step reading this source names."""
    cols = list(wf.sources[name].get("id_columns", ()))
    for step in wf.steps:
        if name in step.inputs.values():
            cols += text_columns(step.params)
    return cols

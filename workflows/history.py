"""Every past alignment: list runs, diff two of them, make an earlier one current.

Each published output table ``T`` has ``T__history`` with every version ever
published, keyed by ``run_id`` (new columns are added as they appear, older rows
NULL; columns a later run dropped are kept). The run log ``terraplan_runs`` has
one row per run (step ``(run)``: status, and the tables and columns it published)
and one per step (its outputs by key). A rollback makes every table one run
published current again, in one transaction, and is itself recorded as a run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from components.errors import InputError
from components.sqlgen import table
from udfs.base import RUN_ID_COLUMN, RUN_LOG_TABLE, RunRecord, new_run_id
from udfs.duckdb import DuckDBWarehouse, history_table, now

RUN_STEP = "(run)"  # the run's own row (the runner writes it first, settles it last)
UNASSIGNED = "(unassigned)"


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) and text else {}
    except ValueError:
        return {}


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, TypeError, ValueError):
        return False
    return True


def run_status(status: str, params: Any) -> str:
    """A run still 'running' whose process is gone crashed: say so."""
    if status == "running" and not _alive(_json(params).get("pid")):
        return "crashed"
    return status


def list_runs(wh: DuckDBWarehouse, workflow: str | None = None, *,
              steps: bool = False) -> pd.DataFrame:
    """One row per run (``steps``: per step run), oldest first, with headline figures.

    Status is the run's: running, succeeded, failed, interrupted, kept_previous, or
    crashed (left running by a process that died). A log written before runs had
    their own row lists its step rows.
    """
    runs = wh.runs()
    if workflow is not None:
        runs = runs[runs["workflow"] == workflow]
    own = runs[runs["step"] == RUN_STEP]
    step_rows = runs[runs["step"] != RUN_STEP]
    rows = []
    if steps or own.empty:
        for r in step_rows.itertuples():
            rows.append(_row(r, str(r.step), str(r.status), _json(r.report)))
        return pd.DataFrame(rows)
    for r in own.itertuples():
        mine = step_rows[step_rows["run_id"] == r.run_id]
        report: dict[str, Any] = {}
        for text in mine["report"]:  # headline figures: the last step that has them
            rep = _json(text)
            if rep.get("objective") is not None or not report:
                report = rep
        label = ",".join(mine["step"]) if not mine.empty else str(r.component)
        row = _row(r, label, run_status(str(r.status), r.params), report)
        if r.status in ("failed", "interrupted", "kept_previous") and not row["error"]:
            row["error"] = str(_json(r.report).get("status") or "")
        rows.append(row)
    return pd.DataFrame(rows)


def _row(r: Any, step: str, status: str, report: dict[str, Any]) -> dict[str, Any]:
    return {"run_id": r.run_id, "workflow": r.workflow, "step": step,
            "trigger": getattr(r, "trigger", None), "status": status,
            "started_at": r.started_at, "result": report.get("status"),
            "objective": report.get("objective"), "gap": report.get("gap"),
            "moved_units": report.get("moved_units"),
            "error": (r.error or "").strip().splitlines()[-1][:100] if r.error else ""}


def _recent(runs: pd.DataFrame) -> str:
    known = runs.loc[runs["step"] == RUN_STEP, "run_id"].tail(5).tolist() or \
        runs["run_id"].drop_duplicates().tail(5).tolist()
    return ", ".join(known) or "(none)"


def published_tables(wh: DuckDBWarehouse, run_id: str) -> dict[str, list[str] | None]:
    """Every table run ``run_id`` published, with the columns it had (None: not recorded).

    Raises a one-line InputError when the run is unknown or did not publish.
    """
    runs = wh.runs()
    own = runs[(runs["run_id"] == run_id) & (runs["step"] == RUN_STEP)]
    if not own.empty:
        r = own.iloc[0]
        if r["status"] != "succeeded":
            status = run_status(r["status"], r["params"])
            raise InputError(f"run '{run_id}' is {status}: it published nothing; pick a "
                             f"succeeded run (terraplan history); recent runs: "
                             f"{_recent(runs)}", column="RUN")
        return {t: list(c) if isinstance(c, list) else None
                for t, c in _json(r["outputs"]).items()}
    mine = runs[(runs["run_id"] == run_id) & (runs["status"] == "succeeded")]
    if mine.empty:  # a log older than run rows: the steps say what they wrote
        raise InputError(f"no successful run '{run_id}' in {RUN_LOG_TABLE}; recent runs: "
                         f"{_recent(runs)}", column="RUN")
    out: dict[str, list[str] | None] = {}
    for text in mine["outputs"]:
        out.update({t: None for t in _json(text).values()})
    return out


def step_outputs(wh: DuckDBWarehouse, run_id: str) -> dict[str, dict[str, str]]:
    """step -> output key -> table, for a run that published."""
    published_tables(wh, run_id)  # the run must exist and have published
    runs = wh.runs()
    mine = runs[(runs["run_id"] == run_id) & (runs["step"] != RUN_STEP)
                & (runs["status"] == "succeeded")]
    return {str(r.step): dict(_json(r.outputs)) for r in mine.itertuples()}


def _version(wh: DuckDBWarehouse, name: str, run_id: str,
             columns: list[str] | None = None) -> pd.DataFrame:
    hist = history_table(name)
    if not wh.table_exists(hist):
        raise InputError(f"no history kept for table '{name}'", column=name)
    sql = f"SELECT * FROM {table(hist).sql(wh.dialect)} WHERE run_id = ?"
    df = wh.con.execute(sql, [run_id]).df()
    if columns is not None:  # the columns this run had: later additions are not its own
        df = df[[c for c in columns if c in df.columns]]
    return df


@dataclass
class Diff:
    table: str
    changes: pd.DataFrame  # key, <label>_a, <label>_b, change
    summary: dict


def _pick(wh: DuckDBWarehouse, run_id: str, output: str, step: str | None) -> tuple[str, str]:
    """(step, table) of ``output`` in a run; an output key or a table name."""
    outs = step_outputs(wh, run_id)
    if step is not None:
        if step not in outs:
            raise InputError(f"run {run_id} has no step '{step}'; its steps: "
                             f"{', '.join(outs) or '(none)'}", column="--step")
        outs = {step: outs[step]}
    found = [(s, t) for s, o in outs.items() for k, t in o.items() if output in (k, t)]
    if not found:
        have = ", ".join(f"{s}.{k}" for s, o in outs.items() for k in o) or "(none)"
        raise InputError(f"run {run_id} has no output '{output}'"
                         + (f" in step '{step}'" if step else "") + f"; it has {have}: pass "
                         "--step NAME and --output KEY", column="--output")
    if len(found) > 1:
        raise InputError(f"run {run_id}: output '{output}' comes from steps "
                         f"{', '.join(s for s, _ in found)}: pass --step NAME",
                         column="--step")
    return found[0]


def diff_runs(wh: DuckDBWarehouse, run_a: str, run_b: str, output: str = "assignments",
              step: str | None = None) -> Diff:
    """What differs between two runs' ``output`` (of ``step``, when several have it).

    Rows are matched on the table's key (``id``, else ``territory``/``facility``): a row
    only in B is ``added``, only in A ``removed``, in both with another label ``moved``
    (assignments) or other values ``changed``; an unassigned unit is a label, not a gap.
    """
    step_a, table_a = _pick(wh, run_a, output, step)
    _, table_b = _pick(wh, run_b, output, step or step_a)
    a = _version(wh, table_a, run_a).drop(columns=[RUN_ID_COLUMN])
    b = _version(wh, table_b, run_b).drop(columns=[RUN_ID_COLUMN])
    key = next((c for c in ("id", "territory", "facility") if c in a.columns and c in b.columns),
               None)
    if key is None:
        raise InputError(f"table '{table_b}' has no id, territory or facility column to match "
                         "rows on", column=output)
    label = next((c for c in ("territory", "facility") if c != key and c in a.columns
                  and c in b.columns), None)
    values = [label] if label else [c for c in a.columns if c in b.columns and c != key
                                    and a[c].notna().any() | b[c].notna().any()]
    a, b = _keyed(a, key), _keyed(b, key)
    merged = a[[key, *values]].merge(b[[key, *values]], on=key, how="outer",
                                     suffixes=("_a", "_b"), indicator=True)
    merged["change"] = "same"
    merged.loc[merged["_merge"] == "right_only", "change"] = "added"
    merged.loc[merged["_merge"] == "left_only", "change"] = "removed"
    both = merged["_merge"] == "both"
    if label:
        for side in ("_a", "_b"):
            col = label + side
            merged[col] = merged[col].astype(object).where(merged[col].notna(), UNASSIGNED)
            merged.loc[~both & (merged["_merge"] != ("left_only" if side == "_a"
                                                      else "right_only")), col] = None
        differs = merged[f"{label}_a"].astype(str) != merged[f"{label}_b"].astype(str)
        merged.loc[both & differs, "change"] = "moved"
    else:
        differs = pd.Series(False, index=merged.index)
        for c in values:
            x, y = merged[f"{c}_a"], merged[f"{c}_b"]
            differs |= ~((x.isna() & y.isna()) | (x.astype(str) == y.astype(str)))
        merged.loc[both & differs, "change"] = "changed"
    merged = merged.drop(columns="_merge")
    changes = merged[merged["change"] != "same"].sort_values(["change", key])
    counts = merged["change"].value_counts().to_dict()
    flows: list[dict[str, Any]] = []
    if label:
        moved = changes[changes["change"] == "moved"]
        grouped = moved.groupby([f"{label}_a", f"{label}_b"]).size().sort_values(
            ascending=False)
        top = grouped.head(20)
        flows = [{"from": f, "to": t, "units": int(n)}
                 for (f, t), n in zip(top.index.tolist(), top.tolist(), strict=True)]
    summary = {"run_a": run_a, "run_b": run_b, "table": table_b, "step": step_a,
               "output": output, "key": key, "units": len(merged),
               **{k: int(v) for k, v in counts.items()}, "flows": flows}
    return Diff(table_b, changes.reset_index(drop=True), summary)


def _keyed(df: pd.DataFrame, key: str) -> pd.DataFrame:
    out = df.copy()
    out[key] = out[key].astype(str)
    return out


def workflow_tables(wh: DuckDBWarehouse, workflow: str) -> set[str]:
    """Every table any published run of ``workflow`` wrote (from the run rows)."""
    runs = wh.runs()
    own = runs[(runs["workflow"] == workflow) & (runs["step"] == RUN_STEP)
               & (runs["status"] == "succeeded")]
    return {t for text in own["outputs"] for t in _json(text)}


def rollback(wh: DuckDBWarehouse, run_id: str, workflow: str | None = None,
             say: Callable[[str], None] | None = None) -> list[str]:
    """Make exactly the tables run ``run_id`` published current again, in one transaction.

    Each table gets that run's rows and columns back from its history, stamped with
    a new run id (recorded as a ``rollback`` run, and appended to the history too).
    Tables other runs of the workflow published and this run did not (a step added
    later) are dropped in the same transaction; their versions stay in ``__history``.
    """
    tables = published_tables(wh, run_id)
    restored: dict[str, pd.DataFrame] = {}
    for name, columns in tables.items():
        version = _version(wh, name, run_id, columns)
        if version.empty and not wh.table_exists(history_table(name)):
            raise InputError(f"run {run_id} left no rows in {history_table(name)}",
                             column=name)
        restored[name] = version.drop(columns=[RUN_ID_COLUMN])
    runs = wh.runs()
    source = runs.loc[runs["run_id"] == run_id, "workflow"]
    name = workflow or (str(source.iloc[0]) if not source.empty else "rollback")
    new_id = new_run_id()
    started = now()
    later = sorted(t for t in workflow_tables(wh, name) - set(restored) if wh.table_exists(t))
    staged = wh.stage_tables(restored, new_id)
    published = {t: list(wh.columns(s)) for t, s in staged.items()}
    report = {"status": "restored", "restored_run": run_id, "tables": list(restored),
              "dropped": later}

    steps = runs[(runs["run_id"] == run_id) & (runs["step"] != RUN_STEP)
                 & (runs["status"] == "succeeded")]

    def log() -> None:
        # the run row, then the restored run's step rows again: diff and a later rollback
        # see this run exactly as the one it restored
        wh.record_run(RunRecord(
            run_id=new_id, workflow=name, step=RUN_STEP, component="rollback",
            status="succeeded", started_at=started, finished_at=now(),
            params=json.dumps({"restored_run": run_id, "pid": os.getpid()}),
            report=json.dumps(report), error="", outputs=json.dumps(published),
            trigger="rollback"))
        for r in steps.to_dict("records"):  # the log's text columns, as they were written
            wh.record_run(RunRecord(
                run_id=new_id, workflow=name, step=r["step"], component=r["component"],
                status="succeeded", started_at=started, finished_at=now(), params=r["params"],
                report=json.dumps({**_json(r["report"]), "restored_run": run_id}), error="",
                outputs=r["outputs"], trigger="rollback", fingerprint=r["fingerprint"] or ""))

    try:
        wh.publish(staged, history=True, then=log, drop=later)
    finally:
        wh.drop_staged(staged)
    if later and say is not None:
        say(f"dropped {', '.join(later)}: run {run_id} did not publish them (their versions "
            "stay in <table>__history)")
    return list(restored)

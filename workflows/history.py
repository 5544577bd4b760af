"""Every past alignment: list runs, diff two of them, make an earlier one current.

Each published output table ``T`` has ``T__history`` with every version ever
published, keyed by ``run_id``; the run log ``terraplan_runs`` says which step
wrote what. A rollback copies one run's rows back into ``T`` atomically and is
itself recorded as a run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from components.errors import InputError
from components.sqlgen import table
from udfs.base import RUN_LOG_TABLE, RunRecord, new_run_id
from udfs.duckdb import DuckDBWarehouse, history_table, now


def list_runs(wh: DuckDBWarehouse, workflow: str | None = None) -> pd.DataFrame:
    """One row per recorded step run, newest last, with its headline figures."""
    runs = wh.runs()
    if workflow is not None:
        runs = runs[runs["workflow"] == workflow]
    rows = []
    for r in runs.itertuples():
        report = json.loads(r.report) if isinstance(r.report, str) and r.report else {}
        rows.append({"run_id": r.run_id, "workflow": r.workflow, "step": r.step,
                     "trigger": getattr(r, "trigger", None), "status": r.status,
                     "started_at": r.started_at, "result": report.get("status"),
                     "objective": report.get("objective"), "gap": report.get("gap"),
                     "moved_units": report.get("moved_units"),
                     "error": (r.error or "")[:80]})
    return pd.DataFrame(rows)


def _outputs_of(wh: DuckDBWarehouse, run_id: str) -> dict[str, str]:
    runs = wh.runs()
    mine = runs[(runs["run_id"] == run_id) & (runs["status"] == "succeeded")]
    if mine.empty:
        known = runs["run_id"].drop_duplicates().tail(5).tolist()
        raise InputError(f"no successful run '{run_id}' in {RUN_LOG_TABLE}; recent runs: "
                         f"{', '.join(known) or '(none)'}", column="RUN")
    outputs: dict[str, str] = {}
    for text in mine["outputs"]:
        outputs.update(json.loads(text))
    return outputs


def _version(wh: DuckDBWarehouse, name: str, run_id: str) -> pd.DataFrame:
    hist = history_table(name)
    if not wh.table_exists(hist):
        raise InputError(f"no history kept for table '{name}'", column=name)
    sql = f"SELECT * FROM {table(hist).sql('duckdb')} WHERE run_id = ?"
    return wh.con.execute(sql, [run_id]).df()


@dataclass
class Diff:
    table: str
    changes: pd.DataFrame  # id, territory_a, territory_b, change
    summary: dict


def diff_runs(wh: DuckDBWarehouse, run_a: str, run_b: str, output: str = "assignments") -> Diff:
    """Units whose territory differs between two runs' ``output`` tables."""
    outs_a, outs_b = _outputs_of(wh, run_a), _outputs_of(wh, run_b)
    if output not in outs_a or output not in outs_b:
        raise InputError(f"both runs need an '{output}' output; run {run_a} has "
                         f"{', '.join(outs_a)}, run {run_b} has {', '.join(outs_b)}",
                         column=output)
    a = _version(wh, outs_a[output], run_a)
    b = _version(wh, outs_b[output], run_b)
    label = "territory" if "territory" in a.columns else "facility"
    merged = a[["id", label]].merge(b[["id", label]], on="id", how="outer",
                                    suffixes=("_a", "_b"))
    merged["change"] = "same"
    merged.loc[merged[f"{label}_a"].isna(), "change"] = "added"
    merged.loc[merged[f"{label}_b"].isna(), "change"] = "removed"
    moved = merged[f"{label}_a"].notna() & merged[f"{label}_b"].notna() & (
        merged[f"{label}_a"].astype(str) != merged[f"{label}_b"].astype(str))
    merged.loc[moved, "change"] = "moved"
    changes = merged[merged["change"] != "same"].sort_values(["change", "id"])
    counts = merged["change"].value_counts().to_dict()
    flows = (changes[changes["change"] == "moved"]
             .groupby([f"{label}_a", f"{label}_b"]).size().sort_values(ascending=False))
    summary = {"run_a": run_a, "run_b": run_b, "table": outs_b[output],
               "units": len(merged), **{k: int(v) for k, v in counts.items()},
               "flows": [{"from": f, "to": t, "units": int(n)} for (f, t), n in
                         flows.head(20).items()]}
    return Diff(outs_b[output], changes.reset_index(drop=True), summary)


def rollback(wh: DuckDBWarehouse, run_id: str, workflow: str = "rollback") -> list[str]:
    """Make run ``run_id``'s outputs current again (all of them, in one transaction)."""
    outputs = _outputs_of(wh, run_id)
    restored = {}
    for name in outputs.values():
        version = _version(wh, name, run_id)
        if version.empty:
            raise InputError(f"run {run_id} left no rows in {history_table(name)}", column=name)
        restored[name] = version.drop(columns=["run_id"])
    new_id = new_run_id()
    started = now()
    wh.write_tables(restored, new_id, history=True)
    wh.record_run(RunRecord(run_id=new_id, workflow=workflow, step="rollback",
                            component="rollback", status="succeeded", started_at=started,
                            finished_at=now(), params=json.dumps({"restored_run": run_id}),
                            report=json.dumps({"status": "restored", "restored_run": run_id,
                                               "tables": list(restored)}),
                            error="", outputs=json.dumps({t: t for t in restored}),
                            trigger="rollback"))
    return list(restored)

"""Run a workflow on the embedded DuckDB warehouse.

For each step: profile the SCU input in SQL (rendered from ``sql/scu/profile``),
read the inputs, run the component next to the data, and write every output of
the step atomically, stamped with the run id. Every step is recorded in the
``terraplan_runs`` table, failed ones included; a failed step leaves the
previous outputs untouched.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from components import registry
from components.errors import EmptyTableError, InputError, TerraplanError
from components.result import ComponentResult, jsonable
from components.scu import SCUColumns
from components.sqlgen import Ident, ident, render, table
from udfs.base import RunRecord, new_run_id
from udfs.duckdb import DuckDBWarehouse, now
from workflows.io import read_input, write_outputs
from workflows.spec import Step, Workflow, load_workflow

DEFAULT_DATABASE = "out/terraplan.duckdb"


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
    steps: list[StepResult] = field(default_factory=list)
    out_dir: str | None = None
    seconds: float = 0.0


def profile_scus(wh: DuckDBWarehouse, table_name: str, params: dict[str, Any]) -> dict[str, int]:
    """Data-quality counts computed in the warehouse, before the data moves."""
    columns = list(wh.execute(f"SELECT * FROM {table(table_name).sql('duckdb')} LIMIT 0"))
    cols = SCUColumns(id=params.get("id") or "id", x=params.get("x"), y=params.get("y"),
                      lon=params.get("lon"), lat=params.get("lat"),
                      metrics=tuple(params.get("metrics") or ())).resolve(columns)
    missing = [c for c in (cols.id, *cols.coordinate_columns, *cols.metrics)
               if c not in columns]
    if missing:  # the component's own validation gives the full message
        return {}
    lonlat = cols.coordinate_kind == "lonlat"
    big = 1e308
    sql = render(
        "scu/profile", wh.dialect, source=table(table_name), id=ident(cols.id),
        x=ident(cols.coordinate_columns[0]), y=ident(cols.coordinate_columns[1]),
        x_min=-180 if lonlat else -big, x_max=180 if lonlat else big,
        y_min=-90 if lonlat else -big, y_max=90 if lonlat else big,
        metric=[Ident(m, alias=f"null__{m}") for m in cols.metrics],
        metric_neg=[Ident(m, alias=f"negative__{m}") for m in cols.metrics],
    )
    row = wh.execute(sql).iloc[0]
    return {str(k): int(0 if pd.isna(v) else v) for k, v in row.items()}


def _run_step(wh: DuckDBWarehouse, step: Step) -> tuple[ComponentResult, dict[str, Any]]:
    component = registry.get(step.uses)
    inputs = {name: wh.read_table(tbl) for name, tbl in step.inputs.items()}
    first = component.spec.inputs[0].name
    profile: dict[str, Any] = {}
    if first == "scus":
        profile = profile_scus(wh, step.inputs[first], step.params)
        if profile.get("n_rows") == 0:
            raise EmptyTableError(f"step '{step.name}': table '{step.inputs[first]}' is empty")
    main = inputs.pop(first)
    result = component.run(main, **inputs, **step.params)
    return result, profile


def run_workflow(path: str | Path, *, database: str | None = None, out: str | None = None,
                 echo: Callable[[str], None] | None = None) -> RunSummary:
    """Run every step of a workflow file on DuckDB; see the module docstring."""
    started = time.monotonic()
    say = echo or (lambda _msg: None)
    wf: Workflow = load_workflow(path)
    db = database or wf.database or DEFAULT_DATABASE
    run_id = new_run_id()
    summary = RunSummary(workflow=wf.name, run_id=run_id, database=str(db))
    wh = DuckDBWarehouse(db)
    try:
        for name, src in wf.sources.items():
            df = read_input(str(wf.source_path(name)), id_columns=src.get("id_columns", ()))
            wh.load_dataframe(name, df)
            say(f"[load] {name}: {len(df)} rows from {src['path']}")
        results: dict[str, ComponentResult] = {}
        for i, step in enumerate(wf.steps, 1):
            say(f"[{i}/{len(wf.steps)}] {step.name} ({step.uses}) ...")
            t0, begun = time.monotonic(), now()
            record = dict(run_id=run_id, workflow=wf.name, step=step.name,
                          component=step.uses, started_at=begun,
                          params=json.dumps(jsonable(step.params)),
                          outputs=json.dumps(step.outputs))
            try:
                result, profile = _run_step(wh, step)
                result.report["input_profile"] = profile
                wh.write_tables({step.outputs[k]: df for k, df in result.tables.items()
                                 if k in step.outputs}, run_id)
            except Exception as err:
                detail = str(err) if isinstance(err, TerraplanError) else traceback.format_exc()
                wh.record_run(RunRecord(status="failed", finished_at=now(), report="{}",
                                        error=detail, **record))
                if isinstance(err, TerraplanError):
                    raise type(err)(f"step '{step.name}': {err}") from err
                raise
            report = jsonable(result.report)
            wh.record_run(RunRecord(status="succeeded", finished_at=now(), error="",
                                    report=json.dumps(report), **record))
            results[step.name] = result
            seconds = time.monotonic() - t0
            summary.steps.append(StepResult(step.name, step.uses, report, step.outputs, seconds))
            say(_indent(_step_summary(report)))
        out_dir = out or wf.exports.get("dir")
        if out_dir:
            summary.out_dir = str(_export(wh, wf, results, summary, Path(out_dir)))
            say(f"[export] tables, report.json and map written to {summary.out_dir}")
    finally:
        wh.close()
    summary.seconds = time.monotonic() - started
    return summary


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _step_summary(report: dict[str, Any]) -> str:
    from workflows.cli import summary_text

    return summary_text(report)


def _export(wh: DuckDBWarehouse, wf: Workflow, results: dict[str, ComponentResult],
            summary: RunSummary, out_dir: Path) -> Path:
    tables: dict[str, pd.DataFrame] = {}
    for step in wf.steps:
        for key, target in step.outputs.items():
            tables[target] = results[step.name].tables[key]
    report = jsonable({"workflow": wf.name, "run_id": summary.run_id,
                       "database": summary.database,
                       "steps": {s.name: s.report for s in summary.steps}})
    extra: dict[str, str] = {}
    spec = wf.exports.get("map")
    if spec:
        extra["map.html"] = _map_html(wh, wf, results[spec["step"]], spec, report)
    return write_outputs(out_dir, tables, report, extra)


def _map_html(wh: DuckDBWarehouse, wf: Workflow, result: ComponentResult,
              spec: dict[str, Any], report: dict[str, Any]) -> str:
    from components.report import render_map

    step = next(s for s in wf.steps if s.name == spec["step"])
    units = wh.read_table(spec["units"])
    id_col = spec.get("id") or step.params.get("id") or "id"
    lon, lat = step.params.get("lon"), step.params.get("lat")
    x, y = step.params.get("x"), step.params.get("y")
    coords = "lonlat" if (lon or "lon" in units.columns) and not x else "planar"
    c1, c2 = (lon or "lon", lat or "lat") if coords == "lonlat" else (x or "x", y or "y")
    keep = {id_col: "id", c1: "lon" if coords == "lonlat" else "x",
            c2: "lat" if coords == "lonlat" else "y"}
    if spec.get("wkt"):
        keep[spec["wkt"]] = "wkt"
    missing = [c for c in keep if c not in units.columns]
    if missing:
        raise InputError(f"exports.map: table '{spec['units']}' has no column(s) "
                         f"{', '.join(missing)}", column=missing[0])
    frame = units[list(keep)].rename(columns=keep)
    frame["id"] = frame["id"].astype(str)
    assign = result.tables["assignments"][["id", "territory"]].astype({"id": str})
    frame = frame.merge(assign, on="id", how="inner")
    centers = frame[frame["id"].isin(result.tables["territories"]["center"].astype(str))]
    centers = centers.assign(id=centers["territory"])
    edges = wh.read_table(spec["edges"]) if spec.get("edges") else None
    step_report = report["steps"][step.name]
    summary = {"status": step_report.get("status"), "gap": _pct(step_report.get("gap")),
               "contiguous": step_report.get("contiguous"),
               "seconds": f"{step_report.get('seconds', 0):.2f}"}
    for name, b in (step_report.get("balance") or {}).items():
        summary[f"{name} range"] = f"{b['min_ratio']:.3f}-{b['max_ratio']:.3f}"
    return render_map(frame, centers=centers[["id", *frame.columns[1:3]]],
                      territories=result.tables["territories"], edges=edges,
                      title=spec.get("title") or f"{wf.name}: {step.name}",
                      summary=summary, coords=coords)


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * float(value):.2f}%"

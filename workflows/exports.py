"""A run's export folder: its tables as CSV, report.json and the map, written whole under
a staging name before the publish commits (the runner swaps it in after), with the GIS
files of ``exports.gis``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from components.errors import InputError
from components.result import ComponentResult, jsonable
from udfs.duckdb import DuckDBWarehouse
from workflows.formats import stage_gis
from workflows.io import discard, stage_outputs
from workflows.spec import Workflow

if TYPE_CHECKING:
    from workflows.runner import RunSummary


def input_table(wf: Workflow, name: str, staged: dict[str, str] | None = None) -> str:
    """The table a step input reads: a source, an earlier step's staged output, or a table."""
    if staged and name in staged:
        return staged[name]
    return wf.source_table(name) if name in wf.sources else name


def export(wh: DuckDBWarehouse, wf: Workflow, results: dict[str, ComponentResult],
            summary: RunSummary, out_dir: Path, staged: dict[str, str]) -> Path:
    """Write the whole export folder under a staging name (swapped in after the publish)."""
    tables: dict[str, pd.DataFrame] = {}
    for step in wf.steps:
        for key, target in step.outputs.items():
            if key in results[step.name].tables:
                tables[target] = results[step.name].tables[key]
            else:  # computed in SQL: its rows only exist in the warehouse
                tables[target] = wh.read_table(staged.get(target, target)).drop(
                    columns=["run_id"])
    if summary.scenarios is not None:
        tables[f"{wf.name}_scenarios"] = summary.scenarios
    report = jsonable({"workflow": wf.name, "run_id": summary.run_id,
                       "database": summary.database, "trigger": summary.trigger,
                       "steps": {s.name: s.report for s in summary.steps}})
    extra: dict[str, str] = {}
    spec = wf.exports.get("map")
    if spec:
        extra["map.html"] = _map_html(wh, wf, results[spec["step"]], spec, report, staged)
    stage = stage_outputs(out_dir, tables, report, extra)
    if wf.exports.get("gis"):
        try:
            stage_gis(stage, tables, wf.exports["gis"])
        except BaseException:
            discard(stage)
            raise
    return stage


def _map_html(wh: DuckDBWarehouse, wf: Workflow, result: ComponentResult,
              spec: dict[str, Any], report: dict[str, Any], staged: dict[str, str]) -> str:
    """The step's static map (components.report): territories or catchments, centers,
    hover details, the balance chart and the units moved from the current alignment."""
    from components.report import render_map, result_map_inputs

    step = next(s for s in wf.steps if s.name == spec["step"])
    units = wh.read_table(input_table(wf, spec["units"], staged))
    params = {**step.params, "id": spec.get("id") or step.params.get("id") or "id"}
    edges = wh.read_table(input_table(wf, spec["edges"], staged)) if spec.get("edges") \
        else None
    step_report = report["steps"][step.name]
    try:
        kwargs = result_map_inputs(step.uses, units, result.tables, step_report, params,
                                   {"edges": edges} if edges is not None else {},
                                   wkt=spec.get("wkt"))
    except InputError as err:
        raise InputError(f"exports.map: table '{spec['units']}': {err}",
                         column=err.column) from None
    kwargs["summary"]["seconds"] = f"{step_report.get('seconds', 0):.2f}"
    kwargs["title"] = spec.get("title") or f"{wf.name}: {step.name}"
    return render_map(**kwargs)

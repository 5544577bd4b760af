"""A run's export folder: its tables as CSV, report.json and the map, written whole under
a staging name before the publish commits (the runner swaps it in after)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from components.errors import InputError
from components.result import ComponentResult, jsonable
from udfs.duckdb import DuckDBWarehouse
from workflows.io import stage_outputs
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
    return stage_outputs(out_dir, tables, report, extra)


def _map_html(wh: DuckDBWarehouse, wf: Workflow, result: ComponentResult,
              spec: dict[str, Any], report: dict[str, Any], staged: dict[str, str]) -> str:
    from components.report import render_map

    step = next(s for s in wf.steps if s.name == spec["step"])
    units = wh.read_table(input_table(wf, spec["units"], staged))
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
    assign = result.tables["assignments"]
    label = "territory" if "territory" in assign.columns else "facility"
    assign = assign[["id", label]].rename(columns={label: "territory"}).astype({"id": str})
    frame = frame.merge(assign, on="id", how="inner")
    centers_col = "center" if "center" in result.tables.get("territories", pd.DataFrame()) \
        else None
    if centers_col:
        centers = frame[frame["id"].isin(result.tables["territories"]["center"].astype(str))]
        territories = result.tables["territories"]
    else:
        centers = frame[frame["id"].isin(frame["territory"].astype(str))]
        territories = None
    centers = centers.assign(id=centers["territory"])
    edges = wh.read_table(input_table(wf, spec["edges"], staged)) if spec.get("edges") \
        else None
    step_report = report["steps"][step.name]
    summary = {"status": step_report.get("status"), "gap": _pct(step_report.get("gap")),
               "contiguous": step_report.get("contiguous"),
               "seconds": f"{step_report.get('seconds', 0):.2f}"}
    for name, b in (step_report.get("balance") or {}).items():
        summary[f"{name} range"] = f"{b['min_ratio']:.3f}-{b['max_ratio']:.3f}"
    summary = {k: v for k, v in summary.items() if v is not None}
    return render_map(frame, centers=centers[["id", *frame.columns[1:3]]],
                      territories=territories, edges=edges,
                      title=spec.get("title") or f"{wf.name}: {step.name}",
                      summary=summary, coords=coords)


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * float(value):.2f}%"

"""Run a workflow on the embedded DuckDB warehouse.

For each step: profile the SCU input in SQL (rendered from ``sql/scu/profile``),
read the inputs, run the component next to the data, and publish every output of
the step atomically, stamped with the run id, appending the same rows to
``<table>__history`` in that transaction. Every step is recorded in
``terraplan_runs`` (failed ones too) with its parameters, the fingerprint of its
inputs and its quality report; a failed step leaves the current outputs untouched.

Rebalance on refresh: when the workflow has a ``rebalance`` block and its alignment
table exists, the step named there gets today's alignment as its ``current``
column and a disruption weight, so it moves as few units as the new balance
requires; the report lists what moved and why (new unit, or rebalance).

Scenarios: a ``scenarios`` block runs one step once per parameter set and writes a
side-by-side comparison table ``<workflow>_scenarios``.
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
from components.errors import EmptyTableError, InfeasibleError, InputError, TerraplanError
from components.result import ComponentResult, jsonable
from components.scu import SCUColumns
from components.sqlgen import Ident, ident, render, table
from udfs.base import RunRecord, new_run_id
from udfs.duckdb import DuckDBWarehouse, now
from workflows.io import read_input, write_outputs
from workflows.spec import Step, Workflow, load_workflow

DEFAULT_DATABASE = "out/terraplan.duckdb"
CURRENT_COLUMN = "__terraplan_current"
NEW_UNIT = "(new)"
REBALANCE_DISRUPTION = 10.0  # default weight: moving a unit costs ~10x its typical distance


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


def _input_table(wf: Workflow, name: str, staged: dict[str, str] | None = None) -> str:
    """The table a step input reads: a source, an earlier step's staged output, or a table."""
    if staged and name in staged:
        return staged[name]
    return wf.source_table(name) if name in wf.sources else name


def _rebalance_inputs(wh: DuckDBWarehouse, wf: Workflow, step: Step, main: pd.DataFrame,
                      params: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any], dict]:
    """Join today's alignment onto the SCUs and ask the step to keep it where it can."""
    cfg = wf.rebalance
    alignment = cfg.get("alignment")
    if not alignment or cfg.get("step") != step.name or not wh.table_exists(alignment):
        return main, params, {}
    current = wh.read_table(alignment)
    if not {"id", "territory"} <= set(current.columns):
        raise InputError(f"rebalance.alignment table '{alignment}' needs columns id, territory; "
                         f"it has {', '.join(map(str, current.columns))}", column=alignment)
    id_col = params.get("id") or "id"
    lookup = dict(zip(current["id"].astype(str), current["territory"].astype(str), strict=True))
    main = main.copy()
    main[CURRENT_COLUMN] = [lookup.get(str(v), NEW_UNIT) for v in main[id_col]]
    # the rebalance block wins over the step, the step over the default weight
    params = {"disruption_weight": REBALANCE_DISRUPTION, **params, "current": CURRENT_COLUMN,
              **{k: cfg[k] for k in ("disruption_weight", "max_moved") if k in cfg}}
    info = {"alignment": alignment, "new_units": int((main[CURRENT_COLUMN] == NEW_UNIT).sum()),
            "disruption_weight": params["disruption_weight"]}
    return main, params, info


def _explain_moves(result: ComponentResult, info: dict) -> None:
    """What moved and why: new units, and units moved to restore balance."""
    assign = result.tables.get("assignments")
    if assign is None or "moved" not in assign:
        return
    moved = assign[assign["moved"]]
    new = moved["previous_territory"].astype(str) == NEW_UNIT
    result.report["rebalance"] = {
        **info,
        "moved_units": len(moved),
        "why": {"new_unit": int(new.sum()), "rebalance": int((~new).sum())},
        "moves": [{"id": r.id, "from": r.previous_territory, "to": r.territory,
                   "why": "new unit" if r.previous_territory == NEW_UNIT else "rebalance"}
                  for r in moved.head(200).itertuples()],
    }


def _run_step(wh: DuckDBWarehouse, wf: Workflow, step: Step, params: dict[str, Any],
              rebalance: bool, staged: dict[str, str]) -> tuple[ComponentResult, dict, str]:
    component = registry.get(step.uses)
    tables = {name: _input_table(wf, tbl, staged) for name, tbl in step.inputs.items()}
    inputs = {name: wh.read_table(tbl) for name, tbl in tables.items()}
    fingerprint = ";".join(f"{n}={wh.fingerprint(t)}" for n, t in sorted(tables.items()))
    first = component.spec.inputs[0].name
    profile: dict[str, Any] = {}
    if first == "scus":
        profile = profile_scus(wh, tables[first], params)
        if profile.get("n_rows") == 0:
            raise EmptyTableError(f"table '{tables[first]}' is empty")
    main = inputs.pop(first)
    info: dict[str, Any] = {}
    if rebalance:
        main, params, info = _rebalance_inputs(wh, wf, step, main, params)
    result = component.run(main, **inputs, **params)
    if info:
        _explain_moves(result, info)
        assign = result.tables.get("assignments")
        if assign is not None and "previous_territory" in assign:
            assign["previous_territory"] = assign["previous_territory"].replace(NEW_UNIT, None)
    result.report["input_profile"] = profile
    return result, profile, fingerprint


def run_workflow(path: str | Path, *, database: str | None = None, out: str | None = None,
                 echo: Callable[[str], None] | None = None, trigger: str = "manual",
                 fresh: bool = False) -> RunSummary:
    """Run every step of a workflow file on DuckDB; see the module docstring.

    ``fresh`` ignores the rebalance block (a new alignment from scratch).
    """
    started = time.monotonic()
    say = echo or (lambda _msg: None)
    wf: Workflow = load_workflow(path)
    db = database or wf.database or DEFAULT_DATABASE
    run_id = new_run_id()
    summary = RunSummary(workflow=wf.name, run_id=run_id, database=str(db), trigger=trigger)
    wh = DuckDBWarehouse(db)
    staged: dict[str, str] = {}  # every output of this run, published together at the end
    try:
        _load_sources(wh, wf, say)
        results: dict[str, ComponentResult] = {}
        for i, step in enumerate(wf.steps, 1):
            say(f"[{i}/{len(wf.steps)}] {step.name} ({step.uses}) ...")
            result = _execute(wh, wf, step, dict(step.params), run_id, trigger,
                              rebalance=not fresh, outputs=step.outputs, staged=staged)
            results[step.name] = result
            report = jsonable(result.report)
            summary.steps.append(StepResult(step.name, step.uses, report, step.outputs,
                                            float(report.get("wall_seconds", 0.0))))
            say(_indent(_step_summary(report)))
        if wf.scenarios:
            summary.scenarios = _run_scenarios(wh, wf, run_id, trigger, say, staged)
        wh.publish(staged, history=True)
        staged.clear()
        out_dir = out or wf.exports.get("dir")
        if out_dir:
            summary.out_dir = str(_export(wh, wf, results, summary, Path(out_dir)))
            say(f"[export] tables, report.json and map written to {summary.out_dir}")
    finally:
        wh.drop_staged(staged)  # a failed run publishes nothing
        wh.close()
    summary.seconds = time.monotonic() - started
    return summary


def _load_sources(wh: DuckDBWarehouse, wf: Workflow, say: Callable[[str], None]) -> None:
    for name, src in wf.sources.items():
        if "path" in src:
            df = read_input(str(wf.source_path(name)), id_columns=src.get("id_columns", ()))
            wh.load_dataframe(name, df)
            say(f"[load] {name}: {len(df)} rows from {src['path']}")
        elif not wh.table_exists(src["table"]):
            raise InputError(f"source '{name}': table '{src['table']}' not found in "
                             f"{wh.con}", column=name)


def _execute(wh: DuckDBWarehouse, wf: Workflow, step: Step, params: dict[str, Any],
             run_id: str, trigger: str, *, rebalance: bool, outputs: dict[str, str],
             staged: dict[str, str], label: str | None = None) -> ComponentResult:
    """Run one step and stage its outputs; record the step run either way. The run log
    says 'succeeded' for a step whose outputs are staged; if a later step fails, the run's
    outputs are never published and that later step's row says why."""
    t0, begun = time.monotonic(), now()
    record = dict(run_id=run_id, workflow=wf.name, step=label or step.name,
                  component=step.uses, started_at=begun, params=json.dumps(jsonable(params)),
                  outputs=json.dumps(outputs), trigger=trigger)
    fingerprint = ""
    component = registry.get(step.uses)
    try:
        if component.to_sql is not None:
            result = _run_sql_step(wh, wf, step, params, run_id, outputs, staged, component)
        else:
            result, _, fingerprint = _run_step(wh, wf, step, params, rebalance, staged)
        result.report["wall_seconds"] = time.monotonic() - t0
        if result.tables:
            staged.update(wh.stage_tables({outputs[k]: df for k, df in result.tables.items()
                                           if k in outputs}, run_id))
    except Exception as err:
        detail = str(err) if isinstance(err, TerraplanError) else traceback.format_exc()
        wh.record_run(RunRecord(status="failed", finished_at=now(), report="{}", error=detail,
                                fingerprint=fingerprint, **record))
        if isinstance(err, TerraplanError):
            raise type(err)(f"step '{label or step.name}': {err}") from err
        raise
    wh.record_run(RunRecord(status="succeeded", finished_at=now(), error="",
                            report=json.dumps(jsonable(result.report)),
                            fingerprint=fingerprint, **record))
    return result


def _run_sql_step(wh: DuckDBWarehouse, wf: Workflow, step: Step, params: dict[str, Any],
                  run_id: str, outputs: dict[str, str], staged: dict[str, str],
                  component) -> ComponentResult:
    """A SQL-native step: render its template and run it inside DuckDB (no rows move);
    the output is staged like any other and its rows stay in the warehouse."""
    t0 = time.monotonic()
    (input_name,) = step.inputs.values()
    source = _input_table(wf, input_name, staged)
    columns = list(wh.execute(f"SELECT * FROM {table(source).sql('duckdb')} LIMIT 0"))
    sql = component.to_sql(columns, table(source), params, wh.dialect)
    (output_key,) = [t.name for t in component.spec.outputs]
    if output_key in outputs:
        staged.update(wh.stage_query(outputs[output_key], sql, run_id))
        rows = wh.con.execute(f"SELECT COUNT(*) FROM "
                              f"{table(staged[outputs[output_key]]).sql('duckdb')}"
                              ).fetchall()[0][0]
    else:
        rows = wh.con.execute(f"SELECT COUNT(*) FROM ({sql.strip().rstrip(';')})").fetchall()[0][0]
    report: dict[str, Any] = {"component": component.spec.name, "status": "ok"}
    if component.sql_report is not None:
        report = component.sql_report(columns, table(source), params,
                                      lambda q: wh.con.execute(q).fetchall(), int(rows),
                                      wh.dialect)
    report.update(engine="sql", rows=int(rows), seconds=time.monotonic() - t0)
    return ComponentResult(tables={}, report=report)


def _run_scenarios(wh: DuckDBWarehouse, wf: Workflow, run_id: str, trigger: str,
                   say: Callable[[str], None], staged: dict[str, str]) -> pd.DataFrame:
    """Run the scenario step once per parameter set; one comparison row each."""
    step = next(s for s in wf.steps if s.name == wf.scenarios["step"])
    rows = []
    for name, overrides in wf.scenarios["runs"].items():
        say(f"[scenario] {name}: {json.dumps(overrides)}")
        outputs = {k: f"{v}__{name}" for k, v in step.outputs.items()}
        try:
            result = _execute(wh, wf, step, {**step.params, **overrides}, run_id, trigger,
                              rebalance=False, outputs=outputs, staged=staged,
                              label=f"{step.name}:{name}")
        except (InfeasibleError, InputError) as err:
            # one impossible scenario is an answer too: say why, compare the rest
            kind = "infeasible" if isinstance(err, InfeasibleError) else "invalid"
            rows.append({"scenario": name, "parameters": json.dumps(overrides),
                         "territories": overrides.get("territories",
                                                      step.params.get("territories")),
                         "status": kind, "note": str(err)})
            say(f"    {kind}: {err}")
            continue
        rep = result.report
        row: dict[str, Any] = {"scenario": name, "parameters": json.dumps(overrides),
                               "territories": rep.get("n_territories"),
                               "status": rep.get("status"), "objective": rep.get("objective"),
                               "gap": rep.get("gap"), "contiguous": rep.get("contiguous"),
                               "moved_units": rep.get("moved_units"),
                               "seconds": rep.get("seconds")}
        for metric, b in (rep.get("balance") or {}).items():
            row[f"{metric}_min_ratio"] = b["min_ratio"]
            row[f"{metric}_max_ratio"] = b["max_ratio"]
            row[f"{metric}_std"] = b["std"]
        rows.append(row)
        say(_indent(_step_summary(jsonable(rep))))
    table_df = pd.DataFrame(rows)
    staged.update(wh.stage_tables({f"{wf.name}_scenarios": table_df}, run_id))
    return table_df


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _step_summary(report: dict[str, Any]) -> str:
    from workflows.cli import summary_text

    text = summary_text(report)
    reb = report.get("rebalance")
    if reb:
        text += (f"\nrebalance against '{reb['alignment']}': {reb['moved_units']} unit(s) moved "
                 f"({reb['why']['new_unit']} new, {reb['why']['rebalance']} to restore balance)")
    return text


def _export(wh: DuckDBWarehouse, wf: Workflow, results: dict[str, ComponentResult],
            summary: RunSummary, out_dir: Path) -> Path:
    tables: dict[str, pd.DataFrame] = {}
    for step in wf.steps:
        for key, target in step.outputs.items():
            if key in results[step.name].tables:
                tables[target] = results[step.name].tables[key]
            else:  # computed in SQL: its rows only exist in the warehouse
                tables[target] = wh.read_table(target).drop(columns=["run_id"])
    if summary.scenarios is not None:
        tables[f"{wf.name}_scenarios"] = summary.scenarios
    report = jsonable({"workflow": wf.name, "run_id": summary.run_id,
                       "database": summary.database, "trigger": summary.trigger,
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
    units = wh.read_table(_input_table(wf, spec["units"]))
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
    edges = wh.read_table(_input_table(wf, spec["edges"])) if spec.get("edges") else None
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

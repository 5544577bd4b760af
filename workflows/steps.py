"""One workflow step on DuckDB: as SQL where the data lives, or through the component.

:func:`run_step` is what :mod:`workflows.runner` calls per step (and
:func:`run_scenarios` per scenario).
A component with a SQL template for the step (its ``to_sql``, when its ``sql_ready``
check passes) runs as one query inside DuckDB and no row moves into Python; any other
step goes through :func:`udfs.execute.execute_component` (read, profile the SCUs in SQL,
rebalance against today's alignment, run, stage) like every warehouse handler. Either
way the step's :class:`~udfs.base.RunRecord` is added to ``pending``: the runner writes
those rows with the publish, or with the run's failure.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from components import registry
from components.errors import EmptyTableError, InfeasibleError, InputError, TerraplanError
from components.profile import counts, profile_sql
from components.registry import Component
from components.result import ComponentResult, jsonable
from components.sqlgen import table
from udfs.base import RunRecord
from udfs.duckdb import DuckDBWarehouse, now
from udfs.execute import Hooks, error_text, execute_component
from udfs.rebalance import CURRENT_COLUMN, NEW_UNIT, Rebalance, join_alignment, rebalance_params
from workflows.exports import input_table
from workflows.spec import Step, Workflow


def profile_scus(wh: DuckDBWarehouse, table_name: str, params: dict[str, Any]) -> dict[str, int]:
    """Data-quality counts computed in the warehouse (:mod:`components.profile`), before
    the data moves; {} when a named column is missing (the component says which)."""
    sql = profile_sql(table(table_name), wh_columns(wh, table_name), params, wh.dialect)
    if sql is None:
        return {}
    return counts({str(k): v for k, v in wh.execute(sql).iloc[0].items()})


def wh_columns(wh: DuckDBWarehouse, name: str) -> list[str]:
    return [str(c) for c in wh.execute(f"SELECT * FROM {table(name).sql(wh.dialect)} LIMIT 0")]


def execute_step(wh: DuckDBWarehouse, wf: Workflow, step: Step, params: dict[str, Any],
                 record: RunRecord, *, rebalance: bool, outputs: dict[str, str],
                 staged: dict[str, str], pending: list[RunRecord]) -> ComponentResult:
    """Run one step and stage its outputs; its record goes to ``pending`` either way."""
    t0 = time.monotonic()
    component = registry.get(step.uses)
    tables = {name: input_table(wf, tbl, staged) for name, tbl in step.inputs.items()}
    record.inputs = tables
    sql = _step_sql(wh, component, tables, params)
    if sql is not None:
        try:
            result = _run_sql_step(wh, component, tables, params, sql, record.run_id, outputs,
                                   staged)
        except Exception as err:
            record.status, record.error, record.finished_at = "failed", error_text(err), now()
            pending.append(record)
            raise
        record.status, record.finished_at = "succeeded", now()
        record.report = jsonable(result.report)
        pending.append(record)
        return result
    record.fingerprint = ";".join(f"{n}={wh.fingerprint(t)}" for n, t in sorted(tables.items()))
    info: dict[str, Any] = {}

    def prepare(frames: dict[str, pd.DataFrame], p: dict[str, Any]) -> dict[str, Any]:
        if not rebalance:
            return p
        first = component.spec.inputs[0].name
        frames[first], p, found = _rebalance_inputs(wh, wf, step, frames[first], p)
        info.update(found)
        return p

    def profile(role: str, p: dict[str, Any]) -> dict[str, Any]:
        found = profile_scus(wh, tables[role], p)
        if found.get("n_rows") == 0:
            raise EmptyTableError(f"table '{tables[role]}' is empty")
        return found

    def finish(result: ComponentResult) -> None:
        result.report.setdefault("input_profile", {})
        if info:
            _explain_moves(result, info)
            assign = result.tables.get("assignments")
            if assign is not None and "previous_territory" in assign:
                assign["previous_territory"] = assign["previous_territory"].replace(NEW_UNIT,
                                                                                    None)
        result.report["wall_seconds"] = time.monotonic() - t0

    def stage(result: ComponentResult) -> None:
        if result.tables:
            staged.update(wh.stage_tables({outputs[k]: df for k, df in result.tables.items()
                                           if k in outputs}, record.run_id))

    hooks = Hooks(read=lambda role: wh.read_table(tables[role]), stage=stage,
                  record=pending.append, prepare=prepare, profile=profile, finish=finish,
                  now=now)
    result, _ = execute_component(step.uses, list(tables), params, record, hooks)
    return result


def _step_sql(wh: DuckDBWarehouse, component: Component, tables: dict[str, str],
              params: dict[str, Any]) -> str | None:
    """The step as one query when its component has a template for it, else None."""
    if component.to_sql is None:
        return None
    first = component.spec.inputs[0].name
    columns = {name: wh_columns(wh, tbl) for name, tbl in tables.items()}
    if component.sql_ready is not None and not component.sql_ready(
            columns, {n: table(t) for n, t in tables.items()}, params,
            lambda q: wh.con.execute(q).fetchall(), wh.dialect):
        return None
    others = {n: (table(t), columns[n]) for n, t in tables.items() if n != first}
    return component.to_sql(columns[first], table(tables[first]), params, wh.dialect, **others)


def _run_sql_step(wh: DuckDBWarehouse, component: Component, tables: dict[str, str],
                  params: dict[str, Any], sql: str, run_id: str, outputs: dict[str, str],
                  staged: dict[str, str]) -> ComponentResult:
    """Run the step's query inside DuckDB (no rows move) and stage its output like any
    other; the report comes from counts taken in SQL."""
    t0 = time.monotonic()
    first = component.spec.inputs[0].name
    (output_key,) = [t.name for t in component.spec.outputs]
    if output_key in outputs:
        staged.update(wh.stage_query(outputs[output_key], sql, run_id))
        rows = wh.con.execute(f"SELECT COUNT(*) FROM "
                              f"{table(staged[outputs[output_key]]).sql(wh.dialect)}"
                              ).fetchall()[0][0]
    else:
        rows = wh.con.execute(f"SELECT COUNT(*) FROM ({sql.strip().rstrip(';')})").fetchall()[0][0]
    report: dict[str, Any] = {"component": component.spec.name, "status": "ok"}
    if component.sql_report is not None:
        others = {n: (table(t), wh_columns(wh, t)) for n, t in tables.items() if n != first}
        report = component.sql_report(wh_columns(wh, tables[first]), table(tables[first]),
                                      params, lambda q: wh.con.execute(q).fetchall(),
                                      int(rows), wh.dialect, **others)
    report.update(engine="sql", rows=int(rows), seconds=time.monotonic() - t0)
    report["wall_seconds"] = report["seconds"]
    return ComponentResult(tables={}, report=report)


def _rebalance_inputs(wh: DuckDBWarehouse, wf: Workflow, step: Step, main: pd.DataFrame,
                      params: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any], dict]:
    """Join today's alignment onto the SCUs and ask the step to keep it where it can
    (the same join and parameters every warehouse's schedule uses: udfs.rebalance)."""
    rb = Rebalance.of(wf)
    if rb is None or not rb.applies_to(step) or not wh.table_exists(rb.alignment):
        return main, params, {}
    main = join_alignment(main, wh.read_table(rb.alignment), params.get("id") or "id",
                          rb.alignment)
    params = rebalance_params(rb, params)
    info = {"alignment": rb.alignment, "new_units": int((main[CURRENT_COLUMN] == NEW_UNIT).sum()),
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


def step_record(wf: Workflow, step: Step, params: dict[str, Any], run_id: str, trigger: str,
                outputs: dict[str, str], label: str | None = None) -> RunRecord:
    """The step's run-log row, before it runs."""
    return RunRecord(run_id=run_id, workflow=wf.name, step=label or step.name,
                     component=step.uses, status="running", started_at=now(),
                     params=json.dumps(jsonable(params)), outputs=json.dumps(outputs),
                     trigger=trigger, report="{}", error="", fingerprint="")


def reraise(err: Exception, label: str) -> None:
    """A terraplan error names the step; anything else (a bug) keeps its traceback."""
    if isinstance(err, TerraplanError):
        raise type(err)(f"step '{label}': {err}") from err


def run_step(wh: DuckDBWarehouse, wf: Workflow, step: Step, params: dict[str, Any],
             run_id: str, trigger: str, *, rebalance: bool, outputs: dict[str, str],
             staged: dict[str, str], pending: list[RunRecord],
             label: str | None = None) -> ComponentResult:
    """Run one step (:func:`workflows.steps.execute_step`) and stage its outputs; its
    run-log row is written with the publish ('succeeded') or with the run's failure
    ('failed' / 'not_published')."""
    record = step_record(wf, step, params, run_id, trigger, outputs, label)
    try:
        return execute_step(wh, wf, step, params, record, rebalance=rebalance,
                            outputs=outputs, staged=staged, pending=pending)
    except Exception as err:
        reraise(err, label or step.name)
        raise


def run_scenarios(wh: DuckDBWarehouse, wf: Workflow, run_id: str, trigger: str,
                   say: Callable[[str], None], staged: dict[str, str],
                   pending: list[RunRecord]) -> pd.DataFrame:
    """Run the scenario step once per parameter set; one comparison row each."""
    step = next(s for s in wf.steps if s.name == wf.scenarios["step"])
    rows = []
    for name, overrides in wf.scenarios["runs"].items():
        say(f"[scenario] {name}: {json.dumps(overrides)}")
        outputs = {k: f"{v}__{name}" for k, v in step.outputs.items()}
        try:
            result = run_step(wh, wf, step, {**step.params, **overrides}, run_id, trigger,
                              rebalance=False, outputs=outputs, staged=staged,
                              pending=pending, label=f"{step.name}:{name}")
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
        say(indent(step_summary(jsonable(rep))))
    table_df = pd.DataFrame(rows)
    staged.update(wh.stage_tables({f"{wf.name}_scenarios": table_df}, run_id))
    return table_df


def indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def step_summary(report: dict[str, Any]) -> str:
    from workflows.summary import summary_text

    text = summary_text(report)
    reb = report.get("rebalance")
    if reb:
        text += (f"\nrebalance against '{reb['alignment']}': {reb['moved_units']} unit(s) moved "
                 f"({reb['why']['new_unit']} new, {reb['why']['rebalance']} to restore balance)")
    return text

"""Snowpark stored-procedure handlers, one per discovered component.

``udfs.snowflake.procedures.<component>(session, <input tables...>, <output tables...>,
params)`` is the HANDLER of ``<schema>.<COMPONENT>``, e.g.::

    CALL TERRAPLAN.TERRITORY_BALANCING(
        'GA_COUNTIES', NULL, 'GA_EDGES',            -- inputs: scus, centers, edges
        'GA_ASSIGNMENTS', 'GA_TERRITORIES',          -- outputs (NULL: not written)
        {'territories': 10, 'metrics': ['POPULATION'], 'id': 'SCU_ID'});

It reads the inputs with Snowpark (``session.table`` on quoted identifiers), runs the
component, writes every output stamped with ``RUN_ID`` (see :mod:`.publish` for what
is atomic on which path), logs the call in ``TERRAPLAN_RUNS`` next to the first output,
and returns a summary (status, run id, output tables and row counts, report
highlights). A failed call is logged too, leaves the previous outputs as they were,
and raises, so a task or script running the CALL stops.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

# Snowpark local testing imports a handler's module once per process but unloads the modules
# first imported *during* a call; loading a scipy extension module again then fails with
# "cannot load module more than once per process". Importing the components (and the scipy
# submodules they use) here, at module top, keeps them loaded across calls.
import scipy.optimize
import scipy.sparse
import scipy.sparse.csgraph
import scipy.spatial
import scipy.spatial.distance  # noqa: F401
from snowflake.snowpark import Session

from components import registry
from components.errors import InputError, TerraplanError
from components.result import jsonable
from components.sqlgen import table
from udfs.base import RUN_ID_COLUMN, RunRecord, new_run_id
from udfs.execute import Hooks, error_text, execute_component
from udfs.protocol import parse_params
from udfs.snowflake import publish
from udfs.snowflake.frames import read_table
from udfs.snowflake.names import (
    parse_table,
    resolve_column_params,
    sibling,
    sql,
    to_component_columns,
    to_warehouse_columns,
)
from udfs.snowflake.profile import profile_scus
from udfs.snowflake.runlog import RUN_LOG_NAME, record_dataframe, record_sql

COMPONENTS = registry.components()  # every component package imported now, not in a call
HIGHLIGHT_LIMIT = 400  # characters of JSON: larger report entries stay in the run log only


def runs_sql(session: Session) -> bool:
    """False in Snowpark local testing, which cannot run ``session.sql``."""
    try:
        from snowflake.snowpark.mock._connection import MockServerConnection
    except ImportError:  # pragma: no cover - the localtest extra is not installed
        return True
    return not isinstance(getattr(session, "_conn", None), MockServerConnection)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def highlights(report: dict[str, Any]) -> dict[str, Any]:
    """The report's small entries (status, objective, gap, ...); the rest is in the log."""
    out = {}
    for key, value in jsonable(report).items():
        if len(json.dumps(value)) <= HIGHLIGHT_LIMIT:
            out[key] = value
    return out


def run_procedure(component_name: str, session: Session, *args: Any) -> dict[str, Any]:
    """The generic handler: ``args`` are the input table names, output table names, params.

    The call itself is :func:`udfs.execute.execute_component` (read, profile, run, stage,
    record), as in every warehouse; here it gets Snowflake's reads, names and writes."""
    spec = registry.get(component_name).spec
    n_in, n_out = len(spec.inputs), len(spec.outputs)
    if len(args) != n_in + n_out + 1:
        raise InputError(f"{spec.name.upper()} takes {n_in + n_out + 1} arguments "
                         f"({', '.join(procedure_arguments(component_name))}); "
                         f"got {len(args)}")
    input_names, output_names, raw_params = args[:n_in], args[n_in:n_in + n_out], args[-1]
    run_id, t0 = new_run_id(), time.monotonic()
    sql_ok = runs_sql(session)
    log = [table(RUN_LOG_NAME)]  # until the first output's schema is known
    row = RunRecord(run_id=run_id, component=spec.name, status="running", started_at=_now(),
                    params=_params_text(raw_params), trigger=None,
                    inputs=dict(zip([t.name for t in spec.inputs], input_names, strict=True)),
                    outputs=dict(zip([t.name for t in spec.outputs], output_names,
                                     strict=True)))
    logged: dict[str, str] = {}

    def record(rec: RunRecord) -> None:
        try:
            (record_sql if sql_ok else record_dataframe)(session, log[0], rec)
            logged["where"] = f"logged in {sql(log[0])}"
        except Exception as log_err:  # the run's own error is the one the caller must see
            if rec.status == "succeeded":
                raise
            logged["where"] = f"NOT logged in {sql(log[0])}: {log_err}"

    try:
        targets = {t.name: (parse_table(n, t.name) if n is not None else None)
                   for t, n in zip(spec.outputs, output_names, strict=True)}
        first_target = next((t for t in targets.values() if t is not None), None)
        if first_target is None:
            raise InputError("every output table name is NULL; name at least one output, "
                             f"e.g. {spec.outputs[0].name.upper()}_OUT => 'MY_TABLE'",
                             column=spec.outputs[0].name)
        log[0] = sibling(first_target, RUN_LOG_NAME)
        summary = _run(spec.name, session, input_names, targets, raw_params, sql_ok, row,
                       record)
    except Exception as err:
        if "where" not in logged:  # it failed before the component ran: log it here
            row.status, row.error, row.finished_at = "failed", error_text(err), _now()
            record(row)
        where = logged["where"]
        if where.startswith("NOT"):
            err.add_note(f"terraplan run {run_id}: {where}")
        if isinstance(err, TerraplanError):
            raise type(err)(f"{err} (terraplan run {run_id}, {where})") from err
        raise
    summary.update(run_log=sql(log[0]), seconds=round(time.monotonic() - t0, 3))
    return summary


def _params_text(raw: Any) -> str | None:
    """The call's parameters as JSON text for the log, whatever arrived."""
    if raw is None or not isinstance(raw, (str, bytes)):
        return None if raw is None else json.dumps(jsonable(raw))
    try:
        json.loads(raw)
    except ValueError:
        return json.dumps(raw if isinstance(raw, str) else raw.decode(errors="replace"))
    return raw if isinstance(raw, str) else raw.decode()


def _run(name: str, session: Session, input_names: Sequence[Any],
         targets: dict[str, Any], raw_params: Any, sql_ok: bool, row: RunRecord,
         record: Callable[[RunRecord], None]) -> dict[str, Any]:
    spec = registry.get(name).spec
    params = parse_params(raw_params)
    sources = {}
    for table_spec, text in zip(spec.inputs, input_names, strict=True):
        if text is None:
            if table_spec.required:
                raise InputError(f"the {table_spec.name} table name is NULL; it is required "
                                 f"({table_spec.help})", column=table_spec.name)
            continue
        sources[table_spec.name] = parse_table(text, table_spec.name)

    def prepare(frames: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        row.params = resolve_column_params(spec, p, frames.values())  # Snowflake's case rules
        return dict(row.params)

    def profile(role: str, p: dict[str, Any]) -> dict[str, Any]:
        found = profile_scus(session, sources[role], p)
        if found.get("n_rows") == 0:
            raise InputError(f"the scus table {sql(sources[role])} is empty", column=role)
        return found

    outputs: list[publish.Output] = []

    def stage(result: Any) -> str:
        for out_name, target in targets.items():
            if target is None:
                continue
            frame = to_warehouse_columns(result.tables[out_name].copy())
            frame.insert(0, RUN_ID_COLUMN.upper(), row.run_id)
            outputs.append(publish.Output(out_name, target, frame))
        return (publish.write_account(session, outputs, row.run_id) if sql_ok
                else publish.write_local(session, outputs))

    hooks = Hooks(read=lambda n: to_component_columns(read_table(session, sources[n], n)),
                  stage=stage, record=record, prepare=prepare,
                  profile=profile if sql_ok else None, in_process=True, now=_now)
    result, method = execute_component(name, list(sources), params, row, hooks)
    return {
        "status": "succeeded", "run_id": row.run_id, "component": name,
        "outputs": {o.name: {"table": sql(o.target), "rows": len(o.frame)} for o in outputs},
        "write": method, "report": highlights(result.report),
    }


def procedure_arguments(component_name: str) -> list[str]:
    """Argument names of the procedure, in order: inputs, ``<output>_OUT``, ``PARAMS``."""
    spec = registry.get(component_name).spec
    return ([t.name.upper() for t in spec.inputs]
            + [f"{t.name.upper()}_OUT" for t in spec.outputs] + ["PARAMS"])


def _handler(component_name: str) -> Callable[..., dict[str, Any]]:
    # No hints beyond Session: Snowpark reads them at registration and rejects Any.
    def handler(session: Session, *args):
        return run_procedure(component_name, session, *args)

    handler.__name__ = handler.__qualname__ = component_name
    handler.__doc__ = (f"Stored procedure handler of {component_name}: "
                       f"({', '.join(procedure_arguments(component_name))}) -> VARIANT.")
    return handler


HANDLERS: dict[str, Callable[..., dict[str, Any]]] = {n: _handler(n) for n in COMPONENTS}
globals().update(HANDLERS)  # HANDLER = 'udfs.snowflake.procedures.<component>'

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
import traceback
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

from components import highs, registry
from components.errors import InputError, TerraplanError
from components.result import jsonable
from components.sqlgen import table
from udfs.base import RUN_ID_COLUMN, new_run_id
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
from udfs.snowflake.runlog import RUN_LOG_NAME, RunRow, record_dataframe, record_sql

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
    """The generic handler: ``args`` are the input table names, output table names, params."""
    spec = registry.get(component_name).spec
    n_in, n_out = len(spec.inputs), len(spec.outputs)
    if len(args) != n_in + n_out + 1:
        raise InputError(f"{spec.name.upper()} takes {n_in + n_out + 1} arguments "
                         f"({', '.join(procedure_arguments(component_name))}); "
                         f"got {len(args)}")
    input_names, output_names, raw_params = args[:n_in], args[n_in:n_in + n_out], args[-1]
    run_id, started, t0 = new_run_id(), _now(), time.monotonic()
    sql_ok = runs_sql(session)

    log = table(RUN_LOG_NAME)  # until the first output's schema is known
    row = RunRow(run_id=run_id, component=spec.name, status="failed", params=raw_params,
                 inputs=dict(zip([t.name for t in spec.inputs], input_names, strict=True)),
                 outputs=dict(zip([t.name for t in spec.outputs], output_names, strict=True)),
                 report=None, error=None, started_at=started, finished_at=started)
    try:
        targets = {t.name: (parse_table(n, t.name) if n is not None else None)
                   for t, n in zip(spec.outputs, output_names, strict=True)}
        first_target = next((t for t in targets.values() if t is not None), None)
        if first_target is None:
            raise InputError("every output table name is NULL; name at least one output, "
                             f"e.g. {spec.outputs[0].name.upper()}_OUT => 'MY_TABLE'",
                             column=spec.outputs[0].name)
        log = sibling(first_target, RUN_LOG_NAME)
        summary = _run(spec.name, session, input_names, targets, raw_params, run_id, sql_ok, row)
    except Exception as err:
        detail = str(err) if isinstance(err, TerraplanError) else traceback.format_exc()
        row.status, row.error, row.finished_at = "failed", detail, _now()
        where = f"logged in {sql(log)}"
        try:
            (record_sql if sql_ok else record_dataframe)(session, log, row)
        except Exception as log_err:  # the run's own error is the one the caller must see
            where = f"NOT logged in {sql(log)}: {log_err}"
            err.add_note(f"terraplan run {run_id}: {where}")
        if isinstance(err, TerraplanError):
            raise type(err)(f"{err} (terraplan run {run_id}, {where})") from err
        raise
    row.status, row.finished_at = "succeeded", _now()
    (record_sql if sql_ok else record_dataframe)(session, log, row)
    summary.update(run_log=sql(log), seconds=round(time.monotonic() - t0, 3))
    return summary


def _run(name: str, session: Session, input_names: Sequence[Any],
         targets: dict[str, Any], raw_params: Any, run_id: str, sql_ok: bool,
         row: RunRow) -> dict[str, Any]:
    component = registry.get(name)
    spec = component.spec
    params = parse_params(raw_params)
    sources = {}
    for table_spec, text in zip(spec.inputs, input_names, strict=True):
        if text is None:
            if table_spec.required:
                raise InputError(f"the {table_spec.name} table name is NULL; it is required "
                                 f"({table_spec.help})", column=table_spec.name)
            continue
        sources[table_spec.name] = parse_table(text, table_spec.name)

    profile: dict[str, Any] = {}
    first = spec.inputs[0].name
    frames = {n: to_component_columns(read_table(session, t, n)) for n, t in sources.items()}
    params = resolve_column_params(spec, params, frames.values())
    row.params = params
    if sql_ok and first == "scus":
        profile = profile_scus(session, sources[first], params)
        if profile.get("n_rows") == 0:
            raise InputError(f"the scus table {sql(sources[first])} is empty", column=first)

    main = frames.pop(first)
    with highs.in_process():  # no fork in a warehouse handler (Snowflake advises against)
        result = component.run(main, **frames, **params)
    if profile:
        result.report["input_profile"] = profile
    outputs = []
    for out_name, target in targets.items():
        if target is None:
            continue
        frame = to_warehouse_columns(result.tables[out_name].copy())
        frame.insert(0, RUN_ID_COLUMN.upper(), run_id)
        outputs.append(publish.Output(out_name, target, frame))
    method = (publish.write_account(session, outputs, run_id) if sql_ok
              else publish.write_local(session, outputs))
    row.report = jsonable(result.report)
    return {
        "status": "succeeded", "run_id": run_id, "component": name,
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
    def handler(session: Session, *args):  # type: ignore[no-untyped-def]
        return run_procedure(component_name, session, *args)

    handler.__name__ = handler.__qualname__ = component_name
    handler.__doc__ = (f"Stored procedure handler of {component_name}: "
                       f"({', '.join(procedure_arguments(component_name))}) -> VARIANT.")
    return handler


HANDLERS: dict[str, Callable[..., dict[str, Any]]] = {n: _handler(n) for n in COMPONENTS}
globals().update(HANDLERS)  # HANDLER = 'udfs.snowflake.procedures.<component>'

"""The Lambda handler behind Redshift's ``terraplan_<component>`` external functions.

Redshift invokes the Lambda with one JSON event per batch of rows::

    {"request_id": "23FF1F97-...", "cluster": "arn:aws:redshift:...", "user": "admin",
     "database": "dev", "external_function": "terraplan.f_territory_balancing",
     "query_id": 5678234, "num_records": 2,
     "arguments": [[scus_json, centers_json, edges_json, params_json], [...]]}

and expects a JSON *string* back: ``{"success": true, "num_records": n, "results":
[...]}`` with exactly one result per row, in order, or ``{"success": false,
"error_msg": "..."}``, which fails the whole query. So one row's bad input is that
row's result (``{"error": ..., "kind": ...}``, the packed contract of
:mod:`udfs.protocol`), and only a malformed event fails the batch.

Limits: a Redshift ``VARCHAR`` (the type of every argument and of the result) holds at
most 65,535 bytes, and a synchronous Lambda invocation's request and response at most
6 MB (6,291,456 bytes). A row whose answer would not fit a VARCHAR gets an error
result naming the size; a batch whose reply would pass 6 MB fails with ``error_msg``
(set ``MAX_BATCH_ROWS`` lower in the external function).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from components import registry
from components.errors import TerraplanError
from udfs.protocol import error_document, result_document, run_packed

MAX_VARCHAR_BYTES = 65_535          # Redshift VARCHAR(MAX)
MAX_LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024  # synchronous invocation, request and response
COMPACT = (",", ":")                # the answer's JSON separators (see logical_columns)
FUNCTION_PREFIX = "f_"              # Redshift reserves f_ for user-defined functions


class EventError(Exception):
    """The batch fails: answered as ``{"success": false, "error_msg": ...}``."""


def component_of(external_function: Any, default: str | None = None) -> str:
    """``schema.f_territory_balancing`` -> ``territory_balancing``."""
    if not isinstance(external_function, str) or not external_function:
        if default:
            return default
        raise EventError("event has no 'external_function' naming the terraplan function")
    name = external_function.rsplit(".", 1)[-1].strip('"').lower()
    name = name[len(FUNCTION_PREFIX):] if name.startswith(FUNCTION_PREFIX) else name
    if name not in registry.components():
        raise EventError(f"external function {external_function!r} is not a terraplan "
                         f"function (f_<component>, components: "
                         f"{', '.join(registry.components())})")
    return name


def parse_event(event: Any) -> tuple[str, list[list[Any] | None]]:
    if isinstance(event, (str, bytes)):
        if len(event) > MAX_LAMBDA_PAYLOAD_BYTES:
            raise EventError(f"event is {len(event):,} bytes, over Lambda's "
                             f"{MAX_LAMBDA_PAYLOAD_BYTES:,}")
        try:
            event = json.loads(event)
        except json.JSONDecodeError as err:
            raise EventError(f"event is not JSON (parse error at {err.pos})") from None
    if not isinstance(event, dict):
        raise EventError(f"event must be Redshift's JSON object with 'arguments'; got a "
                         f"{type(event).__name__}")
    if "arguments" not in event:
        raise EventError("event is not a Redshift Lambda UDF event: missing 'arguments'")
    rows = event["arguments"]
    if not isinstance(rows, list) or not all(r is None or isinstance(r, list) for r in rows):
        raise EventError("'arguments' must be an array with one array of arguments per row")
    n = event.get("num_records", len(rows))
    if not isinstance(n, int) or n != len(rows):
        raise EventError(f"'num_records' is {n!r} but 'arguments' has {len(rows)} rows")
    return component_of(event.get("external_function")), rows


def answer_row(component: str, row: list[Any] | None) -> str | None:
    """One row's result: the packed answer, or its error document (NULL row -> NULL)."""
    if row is None:
        return None
    n_inputs = len(registry.get(component).spec.inputs)
    if not row:
        return json.dumps({"error": f"f_{component} takes {n_inputs} table arguments and "
                                    "the parameters; got none", "kind": "input"})
    *tables, params = row
    try:
        result = run_packed(component, [canonical_rows(t) for t in tables], params)
    except (TerraplanError, json.JSONDecodeError) as err:
        return json.dumps(error_document(err))
    doc = result_document(result)
    doc["columns"] = {name: logical_columns(df) for name, df in result.tables.items()}
    text = json.dumps(doc, separators=COMPACT)
    size = len(text.encode())
    if size > MAX_VARCHAR_BYTES:
        return json.dumps({"error": f"the answer is {size:,} bytes, over Redshift's VARCHAR "
                                    f"limit of {MAX_VARCHAR_BYTES:,}; split the problem "
                                    "(e.g. one call per region) or use "
                                    "'udfs.spark' / DuckDB for this size",
                           "kind": "input"})
    return text


def canonical_rows(packed: Any) -> Any:
    """A packed table with its rows in one fixed order. Redshift's ``LISTAGG`` (without
    ``WITHIN GROUP``, which the procedure cannot use portably) joins rows in no fixed
    order, and a solver breaks ties by position: sorting the rows makes the answer
    depend on the table's content only. Anything that is not a JSON array of objects is
    passed on for :mod:`udfs.protocol` to reject with its message."""
    if not isinstance(packed, (str, bytes)):
        return packed
    try:
        rows = json.loads(packed)
    except json.JSONDecodeError:
        return packed
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return packed
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))


def logical_columns(df: pd.DataFrame) -> list[list[str]]:
    """``[[column, logical type, JSON key], ...]`` of an output as answered, so the
    procedure builds the table the call produced (per-metric columns included) with typed
    columns. The JSON key is the column name as it appears in the compact answer text
    (``"name"``); the procedure finds a JSON ``null`` as ``{"name":null`` or
    ``,"name":null``, which cannot occur inside a string value, where a quote is
    always escaped, so an empty string and NULL stay apart."""
    out = []
    for name, dtype in df.dtypes.items():
        if dtype == object:  # noqa: E721  (nullable columns: judge by the values)
            values = df[name].dropna()
            if len(values) and all(isinstance(v, bool) for v in values):
                dtype = pd.BooleanDtype()
        if pd.api.types.is_bool_dtype(dtype):
            kind = "boolean"
        elif pd.api.types.is_integer_dtype(dtype):
            kind = "bigint"
        elif pd.api.types.is_float_dtype(dtype):
            kind = "double"
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            kind = "timestamp"
        else:
            kind = "string"
        out.append([str(name), kind, json.dumps(str(name))])
    return out


def handle(event: Any) -> dict[str, Any]:
    """The reply as a dict (the Lambda returns its JSON text)."""
    try:
        component, rows = parse_event(event)
        results = [answer_row(component, row) for row in rows]
    except EventError as err:
        return {"success": False, "error_msg": str(err)}
    reply = {"success": True, "num_records": len(results), "results": results}
    size = len(json.dumps(reply).encode())
    if size > MAX_LAMBDA_PAYLOAD_BYTES:
        return {"success": False,
                "error_msg": f"the batch's reply is {size:,} bytes, over Lambda's "
                             f"{MAX_LAMBDA_PAYLOAD_BYTES:,}; set MAX_BATCH_ROWS 1 on the "
                             "external function (terraplan deploy redshift does)"}
    return reply


def lambda_handler(event: Any, context: Any = None) -> str:
    """The Lambda entry point (``udfs.redshift.handler.lambda_handler``)."""
    return json.dumps(handle(event))

"""The packed-JSON contract shared by SQL-callable functions on every warehouse.

A call passes each input table as a JSON array of row objects (e.g. DuckDB's
``to_json(list(t))`` or BigQuery's ``TO_JSON_STRING(ARRAY_AGG(t))``) plus a JSON
object of parameters, and gets back one JSON document::

    {"tables": {"<output>": [row, ...], ...}, "report": {...}}
    {"error": "<readable message>"}            # bad input: the call fails alone

Tables are positional in the order of the component spec's ``inputs``; a NULL
(``None``) table means "not given".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from components import registry
from components.errors import InputError, TerraplanError
from components.result import ComponentResult, jsonable


def rows_to_frame(payload: Any, name: str) -> pd.DataFrame | None:
    """A JSON array of row objects (text or parsed) as a DataFrame; None stays None."""
    if payload is None:
        return None
    data = json.loads(payload) if isinstance(payload, (str, bytes)) else payload
    if data is None:
        return None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InputError(f"table argument '{name}' must be a JSON array of row objects, e.g. "
                         "(SELECT to_json(list(t)) FROM t AS t)", column=name)
    return pd.DataFrame.from_records(data)


def parse_params(payload: Any) -> dict[str, Any]:
    if payload is None or payload == "":
        return {}
    options = json.loads(payload) if isinstance(payload, (str, bytes)) else payload
    if not isinstance(options, dict):
        raise InputError("the parameters argument must be a JSON object, e.g. "
                         "'{\"territories\": 8, \"metrics\": [\"population\"]}'",
                         column="params")
    return options


def run_packed(component_name: str, tables: Sequence[Any], params: Any) -> ComponentResult:
    """Run a component on packed tables and parameters (raises on bad input)."""
    component = registry.get(component_name)
    names = [t.name for t in component.spec.inputs]
    if len(tables) > len(names):
        raise InputError(f"component '{component_name}' takes at most {len(names)} tables "
                         f"({', '.join(names)}); got {len(tables)}")
    frames = {n: rows_to_frame(t, n) for n, t in zip(names, tables, strict=False)}
    main = frames.pop(names[0], None)
    if main is None:
        raise InputError(f"the {names[0]} table argument is NULL", column=names[0])
    extra = {k: v for k, v in frames.items() if v is not None}
    return component.run(main, **extra, **parse_params(params))


def result_document(result: ComponentResult) -> dict[str, Any]:
    tables = {name: jsonable(df.to_dict("records")) for name, df in result.tables.items()}
    return {"tables": tables, "report": jsonable(result.report)}


def call_packed(component_name: str, tables: Sequence[Any], params: Any) -> str:
    """Like :func:`run_packed`, but errors come back as ``{"error": ...}`` text."""
    try:
        result = run_packed(component_name, tables, params)
    except (TerraplanError, json.JSONDecodeError) as err:
        return json.dumps(error_document(err))
    except Exception as err:  # one bad group must not abort a whole GROUP BY query
        return json.dumps({"error": f"{component_name} failed: {type(err).__name__}: {err}",
                           "kind": "failed"})
    return json.dumps(result_document(result))


def error_document(err: Exception) -> dict[str, str]:
    """``{"error": text, "kind": "input"|"infeasible"|"failed"}``: the kind is what the CLI
    tells apart by exit status (2, 3, 1)."""
    from components.errors import InfeasibleError

    kind = ("infeasible" if isinstance(err, InfeasibleError) else
            "input" if isinstance(err, (InputError, json.JSONDecodeError)) else "failed")
    return {"error": str(err), "kind": kind}

"""The compiled ``CALL`` per workflow step on Snowflake, and the names it uses.

``CALL <db>.<schema>.<COMPONENT>(<input tables>, <output tables>, <params object
constant>)``; table names are string arguments in canonical quoted form
(``'"SALES"."GA_COUNTIES"'``), NULL for an optional input or output not wired.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlglot import exp

from components.sqlgen import table
from udfs.base import Location, Statement, call_text, params_of, spec_args, table_text


def snowflake_table(text: str, loc: Location) -> exp.Table:
    """A table name the way Snowflake resolves it, qualified by the data schema if bare."""
    from udfs.snowflake.names import split_name

    parts = split_name(text, "table")
    if len(parts) == 1 and loc.data_schema:
        from udfs.snowflake.ddl import Target

        data = Target.parse(loc.data_database, loc.data_schema)
        parts = [*([data.database] if data.database else []), data.schema, parts[0]]
    return table(*parts)


def snowflake_constant(value: Any) -> str:
    """A Snowflake object/array constant (``{'k': v}``, ``[...]``) from JSON values; every
    string is a sqlglot string literal, every number a sqlglot number literal."""
    if isinstance(value, Mapping):
        items = [f"{exp.Literal.string(str(k)).sql('snowflake')}: {snowflake_constant(v)}"
                 for k, v in value.items() if v is not None]
        return "{" + ", ".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(snowflake_constant(v) for v in value) + "]"
    return exp.convert(value).sql(dialect="snowflake")


def snowflake_call(wf: Any, step: Any, loc: Location) -> Statement:
    from udfs.snowflake.ddl import Target, procedure_name

    spec, ins, outs = spec_args(step)
    target = Target.parse(loc.database, loc.schema)
    name = target.object(procedure_name(spec))
    args = [exp.Literal.string(snowflake_table(table_text(wf, t), loc).sql("snowflake"))
            .sql("snowflake") if t else "NULL" for t in [*ins, *outs]]
    args.append(snowflake_constant(params_of(step)))
    return Statement(call_text(name, args, "snowflake"), None,
                     f"step {step.name}: {step.uses}")

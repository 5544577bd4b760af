"""The Snowflake adapter: metadata and the compiled ``CALL`` per workflow step.

A thin class over :mod:`udfs.snowflake.ddl` and :mod:`udfs.snowflake.names` (no Snowpark
import): ``CALL <db>.<schema>.<COMPONENT>(<input tables>, <output tables>, <params
object constant>)``; table names are string arguments in canonical quoted form
(``'"SALES"."GA_COUNTIES"'``), NULL for an optional input or output not wired.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from sqlglot import exp

from components.sqlgen import table
from udfs.base import (
    Capabilities,
    Location,
    NameRules,
    Statement,
    WarehouseAdapter,
    call_text,
    params_of,
    spec_args,
    table_text,
)
from udfs.snowflake.types import JSON_RUN_LOG, SNOWFLAKE_TYPES


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


class SnowflakeAdapter(WarehouseAdapter):
    name = "snowflake"
    dialect = "snowflake"
    type_map: ClassVar[Mapping[str, str]] = SNOWFLAKE_TYPES
    names = NameRules(max_length=255, folds="upper")
    capabilities = Capabilities(transactional_ddl=False, python_udfs=True, swap_tables=True,
                                partitioned=True)
    cli_module = "udfs.snowflake.cli"
    json_run_log = JSON_RUN_LOG

    carries_rebalance = True  # compile and schedule join today's alignment in (udfs.rebalance)

    def compile_step(self, wf: Any, step: Any, index: int, loc: Location) -> list[Statement]:
        from udfs.rebalance import compile_rebalance

        pre, step = compile_rebalance(
            wf, step, lambda name: snowflake_table(table_text(wf, name), loc), "snowflake",
            fold=str.upper)
        return [*pre, snowflake_call(wf, step, loc)]


ADAPTER = SnowflakeAdapter()

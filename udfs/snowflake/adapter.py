"""The Snowflake adapter: metadata and the compiled ``CALL`` per workflow step.

A thin class over :mod:`udfs.snowflake.calls` (the ``CALL`` per step) and
:mod:`udfs.snowflake.schedule` (the task graph); no Snowpark import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from udfs.base import (
    Capabilities,
    Location,
    NameRules,
    Statement,
    WarehouseAdapter,
    table_text,
)
from udfs.options import CliOption
from udfs.snowflake.calls import snowflake_call, snowflake_constant, snowflake_table
from udfs.snowflake.types import JSON_RUN_LOG, SNOWFLAKE_TYPES

__all__ = ["ADAPTER", "SnowflakeAdapter", "snowflake_call", "snowflake_constant",
           "snowflake_table"]


class SnowflakeAdapter(WarehouseAdapter):
    name = "snowflake"
    dialect = "snowflake"
    type_map: ClassVar[Mapping[str, str]] = SNOWFLAKE_TYPES
    names = NameRules(max_length=255, folds="upper")
    capabilities = Capabilities(transactional_ddl=False, python_udfs=True, swap_tables=True,
                                partitioned=True)
    cli_module = "udfs.snowflake.cli"
    cli_options: ClassVar[tuple[CliOption, ...]] = (
        CliOption("--database", "database of the terraplan procedures", metavar="DB"),
        CliOption("--schema", "schema of the terraplan procedures (default TERRAPLAN)",
                  metavar="S"),
        CliOption("--data-database", "database of the workflow's tables", metavar="DB"),
        CliOption("--data-schema", "schema of the workflow's tables (qualifies bare names; "
                  "required by schedule, which creates its tasks there)", metavar="S"),
        CliOption("--task-warehouse", "warehouse the tasks run on (default: serverless tasks)",
                  ("schedule",), metavar="WH"),
        CliOption("--connection", "connection name in connections.toml (default: SNOWFLAKE_* "
                  "environment, else the default connection)", ("schedule", "run"),
                  metavar="NAME"),
        # run's --database is the local runner's file: the procedures' database is --sf-...
        CliOption("--sf-database", "database of the terraplan procedures", ("run",),
                  metavar="DB", keyword="database"),
        CliOption("--sf-schema", "their schema (TERRAPLAN)", ("run",), metavar="S",
                  keyword="schema"),
    )
    json_run_log = JSON_RUN_LOG

    carries_rebalance = True  # compile and schedule join today's alignment in (udfs.rebalance)

    def compile_step(self, wf: Any, step: Any, index: int, loc: Location) -> list[Statement]:
        from udfs.rebalance import compile_rebalance

        pre, step = compile_rebalance(
            wf, step, lambda name: snowflake_table(table_text(wf, name), loc), "snowflake",
            fold=str.upper)
        return [*pre, snowflake_call(wf, step, loc)]

    runs_statements = True

    def executor(self, loc: Location, *, connection: str | None = None, session: Any = None,
                 **options: Any) -> Callable[[str], Any]:
        """Run one statement through ``session`` (default: a Snowpark session from the
        user's connection settings): ``terraplan run --warehouse snowflake``."""
        if session is None:
            from udfs.snowflake.deploy import session_from_settings

            session = session_from_settings(
                connection, "'terraplan compile WORKFLOW --warehouse snowflake' prints the script")
        return lambda sql: session.sql(sql).collect()

    def schedule(self, wf: Any, sched: Any, loc: Location, *, dry_run: bool = True,
                 **options: Any) -> str | None:
        from udfs.snowflake.schedule import schedule_text

        return schedule_text(self, wf, sched, loc, dry_run=dry_run,
                             task_warehouse=options.get("task_warehouse"),
                             session=options.get("session"),
                             connection=options.get("connection"),
                             echo=options.get("echo") or print)


ADAPTER = SnowflakeAdapter()

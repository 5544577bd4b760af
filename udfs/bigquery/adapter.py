"""The BigQuery adapter: metadata, the ``CALL`` per workflow step (:mod:`udfs.bigquery.calls`)
and the scheduled query (:mod:`udfs.bigquery.schedule`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from udfs.base import (
    Capabilities,
    Location,
    NameRules,
    Statement,
    WarehouseAdapter,
    table_text,
)
from udfs.bigquery.calls import (
    DEFAULT_BQ_DATASET,
    _bq_table,
    bigquery_call,
    bigquery_location,
    bigquery_object,
    bigquery_table_text,
    scratch_name,
)
from udfs.options import CliOption

__all__ = ["ADAPTER", "DEFAULT_BQ_DATASET", "BigQueryAdapter", "bigquery_call",
           "bigquery_location", "bigquery_object", "bigquery_table_text", "scratch_name"]

class BigQueryAdapter(WarehouseAdapter):
    name = "bigquery"
    dialect = "bigquery"
    type_map: ClassVar[Mapping[str, str]] = {
        "string": "STRING", "double": "FLOAT64", "bigint": "INT64", "boolean": "BOOL",
                "timestamp": "TIMESTAMP", "json": "JSON"}
    names = NameRules(max_length=1024, folds="none")
    capabilities = Capabilities(transactional_ddl=True, python_udfs=False, partitioned=True,
                                max_packed_bytes=5 * 1024 * 1024)
    cli_module = "udfs.bigquery.cli"
    cli_options: ClassVar[tuple[CliOption, ...]] = (
        CliOption("--project", "project of the procedures and run log"),
        CliOption("--dataset", "dataset of the procedures and run log (default terraplan)",
                  metavar="D"),
        CliOption("--data-dataset", "dataset of bare table names (default: --dataset)",
                  metavar="D"),
        CliOption("--location", "location of the scheduled query, e.g. US", ("schedule",)),
        CliOption("--poll", "how often an on_change-only workflow checks its sources "
                  "(default: 'every 15 minutes')", ("schedule",)),
    )

    carries_rebalance = True  # compile and schedule join today's alignment in (udfs.rebalance)

    def compile_step(self, wf: Any, step: Any, index: int, loc: Location) -> list[Statement]:
        from udfs.rebalance import compile_rebalance

        pre, step = compile_rebalance(
            wf, step, lambda name: _bq_table(bigquery_table_text(table_text(wf, name), loc)),
            "bigquery")
        return [*pre, bigquery_call(wf, step, loc)]

    def schedule(self, wf: Any, sched: Any, loc: Location, *, dry_run: bool = True,
                 **options: Any) -> str | None:
        from udfs.bigquery.schedule import schedule_text

        return schedule_text(self, wf, sched, loc, dry_run=dry_run,
                             location=options.get("location"),
                             poll=options.get("poll"))


ADAPTER = BigQueryAdapter()

"""The BigQuery adapter: metadata, the ``CALL`` per workflow step (:mod:`udfs.bigquery.calls`)
and the scheduled query (:mod:`udfs.bigquery.schedule`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from components.errors import InputError
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

def has_credentials(environ: dict[str, str] | None = None) -> bool:
    """Whether Application Default Credentials are set up (a key file or gcloud's)."""
    env = os.environ if environ is None else environ
    adc = Path(env.get("CLOUDSDK_CONFIG") or Path.home() / ".config" / "gcloud") / \
        "application_default_credentials.json"
    return bool(env.get("GOOGLE_APPLICATION_CREDENTIALS")) or adc.is_file()


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
        CliOption("--project", "project of the procedures and run log",
                  ("compile", "schedule", "run"), metavar="P"),
        CliOption("--dataset", "dataset of the procedures and run log (default terraplan)",
                  ("compile", "schedule", "run"), metavar="D"),
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

    runs_statements = True

    def executor(self, loc: Location, *, client: Any = None,
                 **options: Any) -> Callable[[str], Any]:
        """Run one statement through ``client`` (default: a BigQuery client from Application
        Default Credentials): ``terraplan run --warehouse bigquery``."""
        if client is None:
            if not has_credentials():
                raise InputError(
                    "no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS or run 'gcloud "
                    "auth application-default login'; 'terraplan compile WORKFLOW --warehouse "
                    "bigquery' prints the script", column="--warehouse")
            from google.cloud import bigquery

            client = bigquery.Client(project=loc.project)
        return lambda sql: list(client.query(sql).result())

    def schedule(self, wf: Any, sched: Any, loc: Location, *, dry_run: bool = True,
                 **options: Any) -> str | None:
        from udfs.bigquery.schedule import schedule_text

        return schedule_text(self, wf, sched, loc, dry_run=dry_run,
                             location=options.get("location"),
                             poll=options.get("poll"))


ADAPTER = BigQueryAdapter()

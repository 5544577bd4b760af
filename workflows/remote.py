"""``terraplan run WORKFLOW --warehouse snowflake|bigquery``: run a workflow in a warehouse.

The workflow is compiled (:mod:`workflows.compile`) to calls of the deployed
procedures, and the statements are executed in order through the user's own
session: Snowpark from connections.toml / ``SNOWFLAKE_*``, or the BigQuery
client from Application Default Credentials. The procedures themselves write
the outputs atomically and log every run in the warehouse's ``terraplan_runs``.
Nothing is opened without settings: the command stops with exit status 2 and
says what to set.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from components.errors import InputError
from workflows.compile import Location, compile_statements
from workflows.spec import load_workflow


def _bigquery_credentials(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    adc = Path(env.get("CLOUDSDK_CONFIG") or Path.home() / ".config" / "gcloud") / \
        "application_default_credentials.json"
    return bool(env.get("GOOGLE_APPLICATION_CREDENTIALS")) or adc.is_file()


def run_in_warehouse(path: str | Path, warehouse: str, *, location: Location | None = None,
                     connection: str | None = None, session: Any = None, client: Any = None,
                     echo: Callable[[str], None] = print) -> int:
    """Execute the compiled workflow statement by statement; returns the step count."""
    wf = load_workflow(path)
    statements = compile_statements(wf, warehouse, location or Location())
    if warehouse == "snowflake":
        if session is None:
            from udfs.snowflake.deploy import session_from_settings

            session = session_from_settings(
                connection, "'terraplan compile WORKFLOW --warehouse snowflake' prints the script")

        def execute(sql: str) -> Any:
            return session.sql(sql).collect()
    elif warehouse == "bigquery":
        if client is None:
            if not _bigquery_credentials():
                raise InputError(
                    "no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS or run 'gcloud "
                    "auth application-default login'; 'terraplan compile WORKFLOW --warehouse "
                    "bigquery' prints the script", column="--warehouse")
            from google.cloud import bigquery

            loc = location or Location()
            client = bigquery.Client(project=loc.project)

        def execute(sql: str) -> Any:
            return list(client.query(sql).result())
    else:
        raise InputError(f"run --warehouse {warehouse}: use duckdb, snowflake or bigquery",
                         column="--warehouse")
    steps = [s for s in statements if s.comment.startswith("step ")] or statements
    total, done = len(steps), 0
    for statement in statements:
        t0 = time.monotonic()
        if statement.comment:
            echo(f"[{done + 1}/{total}] {statement.comment} ...")
        rows = execute(statement.sql)
        if statement in steps:
            done += 1
            summary = f" -> {rows[0]}" if rows else ""
            echo(f"    done in {time.monotonic() - t0:.1f}s{summary}")
    return done

"""``terraplan run WORKFLOW --warehouse W``: run a workflow in a warehouse.

The workflow is compiled (:mod:`workflows.compile`) to calls of the deployed
procedures, and the statements are executed in order through the user's own
session, which the warehouse's adapter opens (its ``executor``: e.g. Snowpark from
connections.toml, a client from Application Default Credentials). The procedures
themselves write the outputs atomically and log every run in the warehouse's
``terraplan_runs``. Nothing is opened without settings: the command stops with exit
status 2 and says what to set.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from components.errors import InputError
from udfs.base import adapter, adapters
from workflows.compile import Location, compile_statements
from workflows.spec import load_workflow


def remote_warehouses() -> tuple[str, ...]:
    """The warehouses ``terraplan run --warehouse`` can drive statement by statement."""
    return tuple(name for name, a in adapters().items() if a.runs_statements)


def run_in_warehouse(path: str | Path, warehouse: str, *, location: Location | None = None,
                     echo: Callable[[str], None] = print, **options: Any) -> int:
    """Execute the compiled workflow statement by statement; returns the step count.

    ``options`` go to the adapter's executor (a session or client, a connection name).
    """
    wf = load_workflow(path)
    loc = location or Location()
    statements = compile_statements(wf, warehouse, loc)
    chosen = adapter(warehouse)
    if not chosen.runs_statements:
        raise InputError(f"run --warehouse {warehouse}: terraplan runs statements itself only "
                         f"in {', '.join(remote_warehouses())}; use 'terraplan compile' or "
                         "'terraplan schedule' for it", column="--warehouse")
    execute: Callable[[str], Any] = chosen.executor(loc, **options)
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

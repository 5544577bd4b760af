"""Every read and write the planner makes to the DuckDB warehouse, in one place.

The planner goes through the same adapter (:mod:`udfs.duckdb`) and the same history
functions (:mod:`workflows.history`) as the CLI; nothing here takes SQL from the page.
A connection is opened per call and closed after it, so ``terraplan history`` and
``terraplan run`` in another process can use the file between two clicks.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from components.errors import InputError
from components.result import jsonable
from udfs.base import RUN_ID_COLUMN, RUN_LOG_TABLE, RunRecord, new_run_id
from udfs.duckdb import DuckDBWarehouse, history_table, now
from workflows import history

BALANCING = "territory_balancing"
LOCATING = "location_allocation"


@dataclass
class PublishedRun:
    """The newest successful run of a component and where its outputs live."""

    run_id: str
    workflow: str
    step: str
    params: dict[str, Any]
    report: dict[str, Any]
    outputs: dict[str, str]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


class Store:
    """The planner's view of one DuckDB file."""

    def __init__(self, database: str | Path) -> None:
        self.database = Path(database)
        if not self.database.is_file():
            raise InputError(f"database file '{database}' not found; run `make demo` (or "
                             "`terraplan run WORKFLOW`) first, or pass --database FILE",
                             column="--database")
        self._lock = threading.Lock()

    @contextmanager
    def warehouse(self) -> Iterator[DuckDBWarehouse]:
        with self._lock:
            wh = DuckDBWarehouse(self.database)
            try:
                yield wh
            finally:
                wh.close()

    # -- reading ------------------------------------------------------------------------

    def tables(self) -> dict[str, list[str]]:
        """Every table and its columns (history tables, staging and the run log left out)."""
        with self.warehouse() as wh:
            names = [t for t in wh.tables() if not t.endswith("__history")
                     and not t.startswith("__terraplan") and t != RUN_LOG_TABLE]
            return {t: list(wh.read_table(t).columns) for t in names}

    def read(self, name: str) -> pd.DataFrame:
        with self.warehouse() as wh:
            df = wh.read_table(name)
        return df.drop(columns=[RUN_ID_COLUMN], errors="ignore")

    def latest(self, component: str, step: str | None = None) -> PublishedRun | None:
        """The newest succeeded run of ``component`` (of one ``step`` when given) with
        its current output tables."""
        with self.warehouse() as wh:
            runs = wh.runs()
            if runs.empty:
                return None
            mine = runs[(runs["component"] == component) & (runs["status"] == "succeeded")]
            if step is not None:
                mine = mine[mine["step"] == step]
            if mine.empty:
                return None
            row = mine.iloc[-1]
            outputs = json.loads(row["outputs"] or "{}")
            tables = {key: wh.read_table(name).drop(columns=[RUN_ID_COLUMN], errors="ignore")
                      for key, name in outputs.items() if wh.table_exists(name)}
            return PublishedRun(run_id=row["run_id"], workflow=row["workflow"],
                                step=row["step"], params=json.loads(row["params"] or "{}"),
                                report=json.loads(row["report"] or "{}"), outputs=outputs,
                                tables=tables)

    def latest_steps(self, component: str) -> list[PublishedRun]:
        """The newest succeeded run of every step that used ``component`` (e.g. a hub
        study's p-median and its coverage alternative), in step order."""
        with self.warehouse() as wh:
            runs = wh.runs()
        if runs.empty:
            return []
        mine = runs[(runs["component"] == component) & (runs["status"] == "succeeded")]
        steps = list(dict.fromkeys(mine["step"]))
        out = []
        for step in steps:
            run = self.latest(component, step=step)
            if run is not None:
                out.append(run)
        return out

    def runs(self) -> pd.DataFrame:
        with self.warehouse() as wh:
            return history.list_runs(wh)

    def diff(self, run_a: str, run_b: str, output: str = "assignments") -> history.Diff:
        with self.warehouse() as wh:
            return history.diff_runs(wh, run_a, run_b, output)

    def run_table(self, run_id: str, output: str = "assignments") -> pd.DataFrame:
        """Run ``run_id``'s version of its ``output`` table, from the history table."""
        with self.warehouse() as wh:
            runs = wh.runs()
            mine = runs[(runs["run_id"] == run_id) & (runs["status"] == "succeeded")]
            outputs: dict[str, str] = {}
            for text in mine["outputs"]:
                outputs.update(json.loads(text or "{}"))
            if output not in outputs:
                raise InputError(f"run '{run_id}' has no '{output}' output; it wrote "
                                 f"{', '.join(outputs) or 'nothing'}", column="run")
            hist = history_table(outputs[output])
            versions = wh.read_table(hist)
        found = versions[versions[RUN_ID_COLUMN] == run_id]
        return found.drop(columns=[RUN_ID_COLUMN]).reset_index(drop=True)

    # -- writing ------------------------------------------------------------------------

    def rollback(self, run_id: str, workflow: str) -> list[str]:
        with self.warehouse() as wh:
            return history.rollback(wh, run_id, workflow=workflow)

    def publish(self, base: PublishedRun, tables: dict[str, pd.DataFrame],
                report: dict[str, Any], params: dict[str, Any]) -> str:
        """Publish a plan as a new run of the base run's step, trigger ``manual``: the
        output tables and their history in one transaction, then the run-log row."""
        missing = [k for k in tables if k not in base.outputs]
        if missing:
            raise InputError(f"run {base.run_id} has no output '{missing[0]}' to publish to",
                             column=missing[0])
        run_id, started = new_run_id(), now()
        targets = {base.outputs[k]: df for k, df in tables.items()}
        with self.warehouse() as wh:
            wh.write_tables(targets, run_id, history=True)
            wh.record_run(RunRecord(
                run_id=run_id, workflow=base.workflow, step=base.step, component=BALANCING,
                status="succeeded", started_at=started, finished_at=now(),
                params=json.dumps(jsonable(params)), report=json.dumps(jsonable(report)),
                error="", outputs=json.dumps({k: base.outputs[k] for k in tables}),
                trigger="manual"))
            # the run's own row: what `terraplan history`, diff and rollback read
            wh.record_run(RunRecord(
                run_id=run_id, workflow=base.workflow, step=history.RUN_STEP,
                component="workflow", status="succeeded", started_at=started,
                finished_at=now(), params=json.dumps({"promoted_from": base.run_id}),
                report=json.dumps({"status": "succeeded", "tables": list(targets)}),
                error="", outputs=json.dumps({t: list(wh.columns(t)) for t in targets}),
                trigger="manual"))
        return run_id

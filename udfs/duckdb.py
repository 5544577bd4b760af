"""DuckDB, the embedded default warehouse.

Tables are written atomically: each output is staged under a temporary name,
then every target is dropped and the staged tables renamed inside one
transaction (DuckDB's DDL is transactional), so readers see either all of the
previous outputs or all of the new ones, and a failure leaves the previous ones.

:func:`register_functions` makes every component callable from DuckDB SQL as a
scalar function taking packed JSON (the same contract as the BigQuery remote
function), e.g.::

    SELECT terraplan_territory_balancing(
        (SELECT to_json(list(s)) FROM scus AS s), NULL, NULL,
        '{"territories": 8, "metrics": ["population"]}')
"""

from __future__ import annotations

import functools
import inspect
import re
import time
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
from sqlglot import exp

from components import registry
from components.errors import InputError, TerraplanError
from components.sqlgen import table
from udfs.base import RUN_ID_COLUMN, RUN_LOG_TABLE, Capabilities, RunRecord, Warehouse
from udfs.duckdb_adapter import ADAPTER
from udfs.protocol import call_packed

# The run log's columns in DuckDB types, from the one RunRecord (udfs.base.RUN_LOG_COLUMNS)
RUN_LOG_COLUMNS: dict[str, str] = dict(ADAPTER.run_log_columns())


STAGE_PREFIX = "__terraplan_stage_"
DEFAULT_WAIT = 30.0


class DatabaseLockedError(TerraplanError):
    """Another process holds the DuckDB file's lock for longer than we were asked to wait."""


def lock_holder(message: str) -> str:
    """'process 123 (terraplan run wf.yaml)' from DuckDB's lock message, when it says."""
    found = re.search(r"PID (\d+)", message)
    if not found:
        return "another process"
    pid = found.group(1)
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        cmd = ""
    return f"process {pid}" + (f" ({cmd})" if cmd else "")


def connect(database: str | Path, *, read_only: bool = False, wait: float = DEFAULT_WAIT,
            say: Callable[[str], None] | None = None) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file, waiting up to ``wait`` seconds for another process's lock.

    Says so once while waiting; a file that is not a DuckDB database is an InputError.
    """
    deadline = time.monotonic() + max(0.0, wait)
    waiting = False
    while True:
        try:
            return duckdb.connect(str(database), read_only=read_only)
        except duckdb.Error as err:
            message = str(err)
            if "lock" not in message.lower():
                first = message.strip().splitlines()[0] if message.strip() else type(err).__name__
                raise InputError(f"'{database}' cannot be opened as a DuckDB database "
                                 f"({first}): pass another --database file",
                                 column="--database") from None
            holder = lock_holder(message)
            left = deadline - time.monotonic()
            if left <= 0:
                raise DatabaseLockedError(
                    f"database '{database}' is in use by {holder}; gave up after waiting "
                    f"{wait:g}s: let it finish, or pass --wait SECONDS to wait longer"
                ) from None
            if not waiting and say is not None:
                say(f"[wait] database '{database}' is in use by {holder}; waiting up to "
                    f"{wait:g}s")
            waiting = True
            time.sleep(min(0.2, left))


def history_table(name: str) -> str:
    """Where every published version of output table ``name`` is kept."""
    return f"{name}__history"


def _q(name: str) -> str:
    """A user table name as quoted DuckDB SQL (through sqlglot, never pasted)."""
    return table(name).sql(dialect="duckdb")


class DuckDBWarehouse(Warehouse):
    name = "duckdb"
    dialect = "duckdb"
    capabilities = Capabilities(transactional_ddl=True, python_udfs=True)

    def __init__(self, database: str | Path = ":memory:",
                 connection: duckdb.DuckDBPyConnection | None = None) -> None:
        if connection is None and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        self.con = connection or duckdb.connect(str(database))
        self._staged: set[str] = set()
        self._stage_seq = 0

    @classmethod
    def open(cls, database: str | Path, *, read_only: bool = False,
             wait: float = DEFAULT_WAIT, say: Callable[[str], None] | None = None
             ) -> DuckDBWarehouse:
        """A warehouse on ``database``, waiting for another process's lock (see
        :func:`connect`); ``read_only`` for readers (history, diff, exports)."""
        if not read_only:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        return cls(database, connection=connect(database, read_only=read_only, wait=wait,
                                                say=say))

    def close(self) -> None:
        self.con.close()

    def columns(self, name: str) -> dict[str, str]:
        """Column name -> DuckDB type of a table, in table order."""
        rows = self.con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? ORDER BY ordinal_position", [name]).fetchall()
        return {r[0]: r[1] for r in rows}

    def drop_stale_stages(self) -> list[str]:
        """Staging tables left by a process that died before publishing: drop them."""
        stale = [t for t in self.tables() if t.startswith(STAGE_PREFIX)]
        for name in stale:
            self.con.execute(f"DROP TABLE IF EXISTS {_q(name)}")
        return stale

    def execute(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).df()

    def table_exists(self, name: str) -> bool:
        found = self.con.execute(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchall()
        return bool(found and found[0][0])

    def read_table(self, name: str) -> pd.DataFrame:
        if not self.table_exists(name):
            raise InputError(f"table '{name}' not found in the DuckDB database; tables: "
                             f"{', '.join(self.tables()) or '(none)'}", column=name)
        return self.con.execute(f"SELECT * FROM {_q(name)}").df()

    def tables(self) -> list[str]:
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables ORDER BY table_name").fetchall()
        return [r[0] for r in rows]

    def load_dataframe(self, name: str, df: pd.DataFrame) -> None:
        """Create or replace table ``name`` from a DataFrame (atomically)."""
        self.write_tables({name: df}, run_id=None)

    def write_tables(self, tables: Mapping[str, pd.DataFrame], run_id: str | None,
                     *, history: bool = False) -> None:
        """Replace every table in one transaction; with ``history``, also append the new
        rows to ``<table>__history`` (the versioned record every later diff and rollback
        reads) in that same transaction."""
        staged = self.stage_tables(tables, run_id)
        try:
            self.publish(staged, history=history)
        finally:
            self.drop_staged(staged)

    def stage_tables(self, tables: Mapping[str, pd.DataFrame],
                     run_id: str | None) -> dict[str, str]:
        """Write each table under a staging name (stamped with ``run_id``); target -> stage."""
        staged: dict[str, str] = {}
        try:
            for target, df in tables.items():
                out = df.copy()
                if run_id is not None:
                    out.insert(0, RUN_ID_COLUMN, run_id)
                stage = self._stage_name(run_id)
                view = f"__terraplan_df_{self._stage_seq}"
                self.con.register(view, out)
                try:
                    self.con.execute(f"CREATE OR REPLACE TABLE {_q(stage)} AS "
                                     f"SELECT * FROM {_q(view)}")
                finally:
                    self.con.unregister(view)
                staged[target] = stage
        except BaseException:
            self.drop_staged(staged)
            raise
        return staged

    def _stage_name(self, run_id: str | None) -> str:
        self._stage_seq += 1
        stage = f"{STAGE_PREFIX}{self._stage_seq}_{run_id or 'load'}"
        self._staged.add(stage)
        return stage

    def stage_query(self, target: str, sql: str, run_id: str) -> dict[str, str]:
        """Stage the result of a query (run inside DuckDB), stamped with ``run_id``."""
        stage = self._stage_name(run_id)
        body = sql.strip().rstrip(";")
        self.con.execute(f"CREATE OR REPLACE TABLE {_q(stage)} AS SELECT ? AS "
                         f"{exp.to_identifier(RUN_ID_COLUMN, quoted=True).sql('duckdb')}, q.* "
                         f"FROM ({body}) AS q", [run_id])
        return {target: stage}

    def publish(self, staged: Mapping[str, str], *, history: bool | Collection[str] = False,
                then: Callable[[], None] | None = None, drop: Collection[str] = ()) -> None:
        """Swap every staged table into place in one transaction (all or nothing).

        ``history`` (True for all, or the targets that keep one) also appends the rows to
        ``<target>__history``, growing it by any new column (older rows NULL; removed
        columns stay). ``then`` runs inside the same transaction before the commit (the
        run log says 'succeeded' only if the tables are in place). ``drop``: tables to drop
        in that same transaction (a rollback's tables that the restored run did not have)."""
        keep = set(staged) if history is True else set(history or ())
        self.con.execute("BEGIN TRANSACTION")
        try:
            for target, stage in staged.items():
                if target in keep:
                    self._append_history(target, stage)
                self.con.execute(f"DROP TABLE IF EXISTS {_q(target)}")
                new_name = exp.to_identifier(target, quoted=True).sql(dialect="duckdb")
                self.con.execute(f"ALTER TABLE {_q(stage)} RENAME TO {new_name}")
            for name in drop:
                self.con.execute(f"DROP TABLE IF EXISTS {_q(name)}")
            if then is not None:
                then()
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        for stage in staged.values():
            self._staged.discard(stage)

    def _append_history(self, target: str, stage: str) -> None:
        hist = history_table(target)
        if not self.table_exists(hist):
            self.con.execute(f"CREATE TABLE {_q(hist)} AS SELECT * FROM {_q(stage)} LIMIT 0")
        have, new = self.columns(hist), self.columns(stage)
        for col, kind in new.items():
            name = exp.to_identifier(col, quoted=True).sql("duckdb")
            if col not in have:
                self.con.execute(f"ALTER TABLE {_q(hist)} ADD COLUMN {name} {kind}")
                have[col] = kind
            elif have[col] != kind and have[col] != "VARCHAR":
                # one column, two types over time (ints, then codes): keep both as text
                self.con.execute(f"ALTER TABLE {_q(hist)} ALTER COLUMN {name} TYPE VARCHAR")
                have[col] = "VARCHAR"
        cols = [exp.to_identifier(c, quoted=True).sql("duckdb") for c in new]
        casts = [f"CAST({c} AS {have[k]})" for c, k in zip(cols, new, strict=True)]
        self.con.execute(f"INSERT INTO {_q(hist)} ({', '.join(cols)}) "
                         f"SELECT {', '.join(casts)} FROM {_q(stage)}")

    def drop_staged(self, staged: Mapping[str, str]) -> None:
        for stage in staged.values():
            self.con.execute(f"DROP TABLE IF EXISTS {_q(stage)}")
            self._staged.discard(stage)

    def update_run(self, run_id: str, step: str, **values: object) -> None:
        """Change one run-log row (the run's own row: status, finished_at, error...)."""
        sets = ", ".join(f"{exp.to_identifier(c, quoted=True).sql('duckdb')} = ?" for c in values)
        self.con.execute(f"UPDATE {_q(RUN_LOG_TABLE)} SET {sets} WHERE run_id = ? AND step = ?",
                         [*values.values(), run_id, step])

    def record_run(self, record: RunRecord) -> None:
        self.con.execute(run_log_ddl())
        for c, t in RUN_LOG_COLUMNS.items():  # logs written by older versions grow new columns
            self.con.execute(f"ALTER TABLE {_q(RUN_LOG_TABLE)} ADD COLUMN IF NOT EXISTS "
                             f"{exp.to_identifier(c, quoted=True).sql('duckdb')} {t}")
        values = record.values(list(RUN_LOG_COLUMNS))
        marks = ", ".join("?" for _ in values)
        names = ", ".join(exp.to_identifier(c, quoted=True).sql("duckdb") for c in RUN_LOG_COLUMNS)
        self.con.execute(f"INSERT INTO {_q(RUN_LOG_TABLE)} ({names}) VALUES ({marks})", values)

    def fingerprint(self, name: str) -> str:
        """Order-independent content hash of a table: row count and sum of row hashes."""
        n, h = self.con.execute(
            f"SELECT COUNT(*), SUM(hash(t)) FROM {_q(name)} AS t").fetchall()[0]
        return f"{n}:{h or 0}"

    def runs(self) -> pd.DataFrame:
        if not self.table_exists(RUN_LOG_TABLE):
            return pd.DataFrame(columns=list(RUN_LOG_COLUMNS))
        return self.con.execute(
            f"SELECT * FROM {_q(RUN_LOG_TABLE)} ORDER BY started_at, run_id").df()


def run_log_ddl() -> str:
    """``CREATE TABLE IF NOT EXISTS terraplan_runs`` in DuckDB types (the one run record)."""
    columns = ", ".join(f"{exp.to_identifier(c, quoted=True).sql('duckdb')} {t}"
                        for c, t in RUN_LOG_COLUMNS.items())
    return f"CREATE TABLE IF NOT EXISTS {_q(RUN_LOG_TABLE)} ({columns})"


# -- SQL-callable functions -----------------------------------------------------------------

def call_component(name: str, *args: str | None) -> str:
    """``terraplan_<name>(t1, t2, t3, params)``: packed JSON in, packed JSON out."""
    *tables, params = args
    return call_packed(name, tables, params)


def _fixed_arity(fn, name: str, params: list[str]):
    """A wrapper whose signature lists ``params``: DuckDB counts arguments from it."""

    def wrapper(*args: str | None) -> str:
        return fn(*args)

    wrapper.__name__ = name
    wrapper.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(p, inspect.Parameter.POSITIONAL_ONLY, annotation=str)
         for p in params], return_annotation=str)
    return wrapper


def register_functions(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Register ``terraplan_<component>(table_json, ..., params_json)`` for every component.

    One VARCHAR argument per input table of the component's spec, then the parameters.
    """
    names = []
    for cname, component in registry.components().items():
        fname = f"terraplan_{cname}"
        arity = len(component.spec.inputs) + 1
        fn = _fixed_arity(functools.partial(call_component, cname), fname,
                          [t.name for t in component.spec.inputs] + ["params"])
        con.create_function(fname, fn, ["VARCHAR"] * arity, "VARCHAR",  # type: ignore[call-overload]
                            null_handling="special", side_effects=True)
        names.append(fname)
    return names


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)

"""The Snowflake run log, ``TERRAPLAN_RUNS``: one row per procedure call, failed ones too.

It lives next to the call's first output table (same database and schema).
On an account the row goes in with one bound ``INSERT ... SELECT`` (VARIANT
values through ``PARSE_JSON``, which a ``VALUES`` list does not accept); in
Snowpark local testing, which runs no SQL, it is appended as a DataFrame.
"""

from __future__ import annotations

import json
from typing import Any

from snowflake.snowpark import Session
from snowflake.snowpark.types import (
    StringType,
    StructField,
    StructType,
    TimestampType,
    VariantType,
)
from sqlglot import exp

from udfs.base import RunRecord, run_log_columns
from udfs.snowflake.names import sql
from udfs.snowflake.types import JSON_RUN_LOG, SNOWFLAKE_TYPES

RUN_LOG_NAME = "TERRAPLAN_RUNS"
# column -> Snowflake type, from the one run record (udfs.base.RUN_LOG_COLUMNS) in this
# adapter's types; unquoted names fold to upper case here. VARIANT columns hold JSON.
COLUMNS: dict[str, str] = {c.upper(): t for c, t in run_log_columns(
    SNOWFLAKE_TYPES, json_documents=JSON_RUN_LOG)}
_SNOWPARK_TYPES = {"VARCHAR": StringType, "VARIANT": VariantType, "TIMESTAMP_NTZ": TimestampType}
RunRow = RunRecord  # the Snowflake log's rows are the one run record


def create_sql(log: exp.Table) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for the run log."""
    columns = [exp.ColumnDef(this=exp.to_identifier(c, quoted=True),
                             kind=exp.DataType.build(t, dialect="snowflake"))
               for c, t in COLUMNS.items()]
    node = exp.Create(this=exp.Schema(this=log.copy(), expressions=columns), kind="TABLE",
                      exists=True)
    return sql(node)


def grow_sql(log: exp.Table) -> list[str]:
    """``ALTER TABLE ... ADD COLUMN IF NOT EXISTS`` per column: a log written by an
    older version (10 columns) grows the new ones and stays readable."""
    return [sql(exp.Alter(this=log.copy(), kind="TABLE", actions=[exp.ColumnDef(
        this=exp.to_identifier(c, quoted=True), kind=exp.DataType.build(t, dialect="snowflake"),
        exists=True)])) for c, t in COLUMNS.items()]


def insert_sql(log: exp.Table) -> str:
    """One bound row (qmark ``?`` placeholders, in :data:`COLUMNS` order)."""
    values = [exp.func("PARSE_JSON", exp.Placeholder()) if t == "VARIANT" else exp.Placeholder()
              for t in COLUMNS.values()]
    node = exp.insert(exp.select(*values), log.copy(), columns=[
        exp.to_identifier(c, quoted=True) for c in COLUMNS])
    return sql(node)


def bind_values(row: RunRecord) -> list[Any]:
    """Values for :func:`insert_sql`: JSON text for VARIANT columns (NULL stays NULL)."""
    return row.values(list(COLUMNS))


def record_sql(session: Session, log: exp.Table, row: RunRecord) -> None:
    session.sql(create_sql(log)).collect()
    for statement in grow_sql(log):
        session.sql(statement).collect()
    session.sql(insert_sql(log), params=bind_values(row)).collect()


def record_dataframe(session: Session, log: exp.Table, row: RunRecord) -> None:
    schema = StructType([StructField(sql(exp.to_identifier(c, quoted=True)),
                                     _SNOWPARK_TYPES[t](), nullable=True)
                         for c, t in COLUMNS.items()])
    values = [v if t != "VARIANT" or v is None else json.loads(v)
              for v, t in zip(bind_values(row), COLUMNS.values(), strict=True)]
    frame = session.create_dataframe([values], schema=schema)
    frame.write.save_as_table(sql(log), mode="append")

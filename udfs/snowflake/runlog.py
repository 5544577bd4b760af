"""The Snowflake run log, ``TERRAPLAN_RUNS``: one row per procedure call, failed ones too.

It lives next to the call's first output table (same database and schema).
On an account the row goes in with one bound ``INSERT ... SELECT`` (VARIANT
values through ``PARSE_JSON``, which a ``VALUES`` list does not accept); in
Snowpark local testing, which runs no SQL, it is appended as a DataFrame.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
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

from components.result import jsonable
from udfs.snowflake.names import sql

RUN_LOG_NAME = "TERRAPLAN_RUNS"
# column -> Snowflake type; VARIANT columns hold JSON documents
COLUMNS: dict[str, str] = {
    "RUN_ID": "VARCHAR", "COMPONENT": "VARCHAR", "STATUS": "VARCHAR", "PARAMS": "VARIANT",
    "INPUTS": "VARIANT", "OUTPUTS": "VARIANT", "REPORT": "VARIANT", "ERROR": "VARCHAR",
    "STARTED_AT": "TIMESTAMP_NTZ", "FINISHED_AT": "TIMESTAMP_NTZ",
}
_SNOWPARK_TYPES = {"VARCHAR": StringType, "VARIANT": VariantType, "TIMESTAMP_NTZ": TimestampType}


@dataclass
class RunRow:
    run_id: str
    component: str
    status: str  # "succeeded" | "failed"
    params: Any
    inputs: Any
    outputs: Any
    report: Any
    error: str | None
    started_at: datetime
    finished_at: datetime

    def values(self) -> list[Any]:
        return [getattr(self, c.lower()) for c in COLUMNS]


def create_sql(log: exp.Table) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for the run log."""
    columns = [exp.ColumnDef(this=exp.to_identifier(c, quoted=True),
                             kind=exp.DataType.build(t, dialect="snowflake"))
               for c, t in COLUMNS.items()]
    node = exp.Create(this=exp.Schema(this=log.copy(), expressions=columns), kind="TABLE",
                      exists=True)
    return sql(node)


def insert_sql(log: exp.Table) -> str:
    """One bound row (qmark ``?`` placeholders, in :data:`COLUMNS` order)."""
    values = [exp.func("PARSE_JSON", exp.Placeholder()) if t == "VARIANT" else exp.Placeholder()
              for t in COLUMNS.values()]
    node = exp.insert(exp.select(*values), log.copy(), columns=[
        exp.to_identifier(c, quoted=True) for c in COLUMNS])
    return sql(node)


def bind_values(row: RunRow) -> list[Any]:
    """Values for :func:`insert_sql`: JSON text for VARIANT columns (NULL stays NULL)."""
    out = []
    for value, kind in zip(row.values(), COLUMNS.values(), strict=True):
        if kind == "VARIANT":
            value = None if value is None else json.dumps(jsonable(value))
        out.append(value)
    return out


def record_sql(session: Session, log: exp.Table, row: RunRow) -> None:
    session.sql(create_sql(log)).collect()
    session.sql(insert_sql(log), params=bind_values(row)).collect()


def record_dataframe(session: Session, log: exp.Table, row: RunRow) -> None:
    schema = StructType([StructField(sql(exp.to_identifier(c, quoted=True)),
                                     _SNOWPARK_TYPES[t](), nullable=True)
                         for c, t in COLUMNS.items()])
    values = [jsonable(v) if t == "VARIANT" else v
              for v, t in zip(row.values(), COLUMNS.values(), strict=True)]
    frame = session.create_dataframe([values], schema=schema)
    frame.write.save_as_table(sql(log), mode="append")

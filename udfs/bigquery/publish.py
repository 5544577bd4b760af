"""Publishing staged outputs over their targets: all in one transaction, table options kept.

``CREATE OR REPLACE TABLE target AS SELECT ...`` per output would publish one table at
a time (a failure between two leaves a mixed set) and drop the target's partitioning,
clustering, descriptions and labels. So both modes publish the same way:

1. before the transaction (DDL cannot run inside one): create a target that does not
   exist yet, empty, and add any new output column to one that does
   (``ADD COLUMN IF NOT EXISTS``: a run with another metric adds its columns);
2. ``BEGIN TRANSACTION``; per target ``DELETE ... WHERE TRUE`` and ``INSERT ... SELECT``
   from its staging table (the table itself, with its options, stays); the run-log row
   when the caller passes one; ``COMMIT TRANSACTION``. Any failure rolls every target
   back (the caller's EXCEPTION block, or BigQuery ending the script).

Table mode runs :func:`script` for concrete table ids; the wrapper procedure builds the
same statements at run time from the reply's schema (:func:`udfs.bigquery.ddl.procedure`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlglot import exp

DIALECT = "bigquery"


@dataclass(frozen=True)
class Output:
    target: str                         # project.dataset.table, already validated
    stage: str
    schema: Sequence[dict[str, str]]    # [{"name", "type"}], run_id first
    exists: bool | None = None          # None: not known, IF NOT EXISTS decides


def table(name: str) -> str:
    project, dataset, tbl = name.split(".", 2) if name.count(".") >= 2 else ("", *name.split("."))
    node = exp.Table(this=exp.to_identifier(tbl, quoted=True),
                     db=exp.to_identifier(dataset, quoted=True),
                     catalog=exp.to_identifier(project, quoted=True) if project else None)
    return node.sql(dialect=DIALECT)


def column(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect=DIALECT)


def prepare(out: Output) -> list[str]:
    """DDL before the transaction: the target exists and has every output column."""
    cols = [f"{column(f['name'])} {f['type']}" for f in out.schema]
    create = f"CREATE TABLE IF NOT EXISTS {table(out.target)} ({', '.join(cols)})"
    if out.exists is False:
        return [create]
    # one ALTER per column: BigQuery takes a list, the emulator only one
    alter = [f"ALTER TABLE {table(out.target)} ADD COLUMN IF NOT EXISTS {c}" for c in cols]
    return alter if out.exists else [create, *alter]


def replace(out: Output) -> list[str]:
    """DML inside the transaction: the target's rows become the staged rows."""
    cols = ", ".join(column(f["name"]) for f in out.schema)
    return [f"DELETE FROM {table(out.target)} WHERE TRUE",
            f"INSERT INTO {table(out.target)} ({cols}) SELECT {cols} FROM {table(out.stage)}"]


def script(outputs: Sequence[Output], extra_dml: Sequence[str] = ()) -> str:
    """The whole publish as one multi-statement query."""
    lines = [s for out in outputs for s in prepare(out)]
    lines.append("BEGIN TRANSACTION")
    lines += [s for out in outputs for s in replace(out)]
    lines += list(extra_dml)
    lines.append("COMMIT TRANSACTION")
    return ";\n".join(lines) + ";\n"

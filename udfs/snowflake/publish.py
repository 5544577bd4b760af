"""Writing a call's output tables, all computed before the first write.

Two paths, with different guarantees:

``write_local`` (Snowpark local testing, which runs no SQL)
    Every output is first built as a complete Snowpark DataFrame; only then is each
    saved with ``save_as_table(mode="overwrite")``. A failure while solving or
    building leaves every previous output untouched. The saves themselves are
    sequential, one atomic overwrite per table: there is no multi-table atomicity.

``write_account`` (a real account)
    Every output is first loaded with ``write_pandas`` into a TRANSIENT staging table
    named by the target's database and schema (nothing lands in the caller's current
    schema). Then:

    * every target exists with the staged columns (the usual re-run): one explicit
      transaction ``BEGIN; DELETE FROM t; INSERT INTO t (...) SELECT ... FROM stage;
      ... COMMIT``. Snowflake DML is transactional, so readers see all of the old
      outputs or all of the new ones, and grants and history stay with the tables.
    * otherwise (first run, or the columns changed): ``ALTER TABLE stage SWAP WITH
      target`` for existing targets and ``ALTER TABLE stage RENAME TO target`` for
      new ones. Each is atomic for its table, but Snowflake DDL commits on its own,
      so a reader may briefly see a new and an old table together; if a later swap
      fails the earlier ones are swapped (or renamed) back. SWAP also exchanges the
      grants on the two tables: re-grant after a schema change.

    Staging tables are dropped at the end, whatever happened. A drop that fails is
    never hidden: after a successful write it raises :class:`CleanupError` naming the
    tables left behind; after a failed one it is added to the error's notes.

Statements are expression trees whose rendering is checked (:func:`_checked`): a
sqlglot that drops a table name from a statement fails when the statement is built,
never on the account. The zip ships the sqlglot the tests ran (see :mod:`.deploy`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
import sqlglot
from snowflake.snowpark import Session
from snowflake.snowpark.exceptions import SnowparkSQLException
from sqlglot import exp

from components.errors import TerraplanError
from udfs.snowflake.frames import to_loadable, to_snowpark
from udfs.snowflake.names import sql, stage_for


class CleanupError(TerraplanError):
    """The outputs were written but a staging table could not be dropped."""


@dataclass
class Output:
    name: str          # the spec's output name
    target: exp.Table  # where it goes
    frame: pd.DataFrame  # warehouse column names, run id first


def write_local(session: Session, outputs: Sequence[Output]) -> str:
    frames = [to_snowpark(session, o.frame) for o in outputs]  # all built before any write
    for out, frame in zip(outputs, frames, strict=True):
        frame.write.save_as_table(sql(out.target), mode="overwrite")
    return "dataframe_overwrite"


# -- statements of the account path (also run on fakesnow in the tests) ---------------------

def _columns(names: Sequence[str]) -> list[exp.Identifier]:
    return [exp.to_identifier(n, quoted=True) for n in names]


def transaction_statements(pairs: Sequence[tuple[exp.Table, exp.Table, Sequence[str]]]
                           ) -> list[str]:
    """Replace each target's rows by its stage's, all in one transaction."""
    statements = ["BEGIN"]
    for target, stage, columns in pairs:
        statements.append(sql(exp.delete(target.copy())))
        select = exp.select(*[exp.column(c) for c in _columns(columns)]).from_(stage.copy())
        statements.append(sql(exp.insert(select, target.copy(), columns=_columns(columns))))
    statements.append("COMMIT")
    return statements


def _checked(statement: str, *tables: exp.Table) -> str:
    """``statement``, after checking that every table's quoted name is in it."""
    missing = [sql(t) for t in tables if sql(t) not in statement]
    if missing:
        raise RuntimeError(f"sqlglot rendered {statement!r} without {', '.join(missing)}; "
                           "terraplan needs the sqlglot it was tested with (bundled in "
                           "terraplan.zip)")
    return statement


def swap_sql(stage: exp.Table, target: exp.Table) -> str:
    node = exp.Alter(this=stage.copy(), kind="TABLE", actions=[exp.SwapTable(this=target.copy())])
    return _checked(sql(node), stage, target)


def rename_sql(table: exp.Table, new: exp.Table) -> str:
    node = exp.Alter(this=table.copy(), kind="TABLE", actions=[exp.AlterRename(this=new.copy())])
    return _checked(sql(node), table, new)


def drop_sql(table: exp.Table) -> str:
    # Parsed, then the table replaced: ``exp.Drop``'s arguments changed across sqlglot
    # versions (``this`` vs ``tables``), the parse of this statement did not.
    node = sqlglot.parse_one('DROP TABLE IF EXISTS "T"', read="snowflake")
    target = node.find(exp.Table)
    if not isinstance(node, exp.Drop) or target is None:
        raise RuntimeError(f"sqlglot parsed DROP TABLE as {node!r}")
    target.replace(table.copy())
    return _checked(sql(node), table)


# -- the account path -----------------------------------------------------------------------

def _shape(session: Session, table: exp.Table) -> list[tuple[str, str]] | None:
    """Column names and types of a table, or None when it does not exist."""
    try:
        fields = session.table(sql(table)).schema.fields
    except SnowparkSQLException:
        return None
    return [(f.name, type(f.datatype).__name__) for f in fields]


def stage_output(session: Session, out: Output, stage: exp.Table) -> None:
    """Load ``out.frame`` into the TRANSIENT table ``stage`` (its database and schema named)."""
    catalog, db = stage.args.get("catalog"), stage.args.get("db")
    session.write_pandas(to_loadable(out.frame), stage.name,
                         database=catalog.name if catalog else None,
                         schema=db.name if db else None, quote_identifiers=True,
                         auto_create_table=True, overwrite=True, table_type="transient",
                         use_logical_type=True)


def write_account(session: Session, outputs: Sequence[Output], run_id: str) -> str:
    def run(statement: str) -> None:
        session.sql(statement).collect()

    stages: list[exp.Table] = []
    failure: BaseException | None = None
    try:
        for out in outputs:
            stage = stage_for(out.target, run_id)
            stages.append(stage)
            stage_output(session, out, stage)
        staged = [_shape(session, s) for s in stages]
        current = [_shape(session, o.target) for o in outputs]
        if all(c is not None and c == s for c, s in zip(current, staged, strict=True)):
            _transaction(run, [(o.target, s, [n for n, _ in shape or ()])
                               for o, s, shape in zip(outputs, stages, staged, strict=True)])
            return "transaction"
        _swap_all(run, outputs, stages, [c is not None for c in current])
        return "swap"
    except BaseException as err:
        failure = err
        raise
    finally:
        _drop_stages(run, stages, failure)


def _drop_stages(run: Callable[[str], None], stages: Sequence[exp.Table],
                 failure: BaseException | None) -> None:
    left: list[str] = []
    for stage in stages:
        try:
            run(drop_sql(stage))
        except SnowparkSQLException as err:
            left.append(f"{sql(stage)} ({err.message})")
    if not left:
        return
    message = (f"terraplan could not drop its staging table(s) {', '.join(left)}; "
               "drop them with DROP TABLE once the cause is fixed")
    if failure is not None:
        failure.add_note(message)
        return
    raise CleanupError("the outputs were written, but " + message)


def _transaction(run: Callable[[str], None],
                 pairs: Sequence[tuple[exp.Table, exp.Table, Sequence[str]]]) -> None:
    try:
        for statement in transaction_statements(pairs):
            run(statement)
    except BaseException:
        run("ROLLBACK")
        raise


def _swap_all(run: Callable[[str], None], outputs: Sequence[Output],
              stages: Sequence[exp.Table], exists: Sequence[bool]) -> None:
    undo: list[str] = []
    try:
        for out, stage, existed in zip(outputs, stages, exists, strict=True):
            if existed:
                run(swap_sql(stage, out.target))
                undo.append(swap_sql(stage, out.target))
            else:
                run(rename_sql(stage, out.target))
                undo.append(rename_sql(out.target, stage))
    except BaseException:
        for statement in reversed(undo):
            try:
                run(statement)
            except SnowparkSQLException:
                pass  # best effort; the original error is what the caller must see
        raise

"""``terraplan schedule --warehouse snowflake``: a task graph with streams.

The graph lives in ``[--data-database.]--data-schema``. The root task fires on
``SCHEDULE = 'USING CRON <cron> <tz>'`` and/or ``WHEN SYSTEM$STREAM_HAS_DATA(...)`` over
one ``CREATE STREAM ... ON TABLE <source>`` per ``on_change`` source (no SCHEDULE: a
triggered task). Its body records the trigger in ``TERRAPLAN_TRIGGERS`` with a DML
statement that reads the streams, which is what advances their offsets (a stream read by
a SELECT alone keeps its data and would fire again). One child task per step, each
``AFTER`` the previous, CALLs the step's procedure; a failed step stops the graph and the
next trigger starts again from the root. Statements: suspend the root, create, then
``ALTER TASK ... RESUME`` children first, root last. Without ``--dry-run`` they run
through a Snowpark session from the user's connection settings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import sqlglot
from sqlglot import exp

from components.errors import InputError
from udfs.base import Location, Statement, WarehouseAdapter, comment_text, render, table_text
from udfs.rebalance import Rebalance
from udfs.snowflake.calls import snowflake_table
from udfs.snowflake.ddl import Target

DIALECT = "snowflake"
TRIGGER_TABLE = "TERRAPLAN_TRIGGERS"


def _tree(template: str, **bindings: exp.Expr) -> exp.Expr:
    """A statement from a constant template with ``:name`` placeholders."""
    return exp.replace_placeholders(sqlglot.parse_one(template, read=DIALECT), **bindings)


def _stmt(tree: exp.Expr, comment: str = "") -> Statement:
    # sqlglot types its trees as Expr; every node it builds is an Expression
    return Statement(tree.sql(dialect=DIALECT),
                     tree if isinstance(tree, exp.Expression) else None, comment)


def _object_name(wf: Any, *parts: str) -> str:
    """Names terraplan gives its own objects: ``<WORKFLOW>__<PART>`` upper-cased, other
    characters than letters, digits, _ and $ replaced by _ (still quoted when rendered)."""
    return re.sub(r"[^A-Za-z0-9_$]", "_", "__".join([wf.name, *parts])).upper()


def snowflake_objects(adapter: WarehouseAdapter, wf: Any, sched: Any, loc: Location,
                      task_warehouse: str | None = None) -> list[Statement]:
    """The task graph's statements (see the module docstring), in the order they run."""
    if not loc.data_schema:
        raise InputError("a Snowflake schedule needs --data-schema: the schema of the "
                         "workflow's tables, where the tasks and streams are created (every "
                         "name in the task graph is then fully qualified)",
                         column="data-schema")
    home = Target.parse(loc.data_database, loc.data_schema)
    obj = home.object
    sf = lambda node: node.sql(dialect=DIALECT)  # noqa: E731
    lit = lambda text: exp.Literal.string(text).sql(dialect=DIALECT)  # noqa: E731
    root = obj(_object_name(wf, "ROOT"))
    steps = [obj(_object_name(wf, s.name)) for s in wf.steps]
    streams = {src: obj(_object_name(wf, src, "STREAM")) for src in sched.on_change}
    compute = (f"WAREHOUSE = {sf(exp.to_identifier(task_warehouse, quoted=True))}"
               if task_warehouse else "USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE = 'XSMALL'")

    out = [Statement(f"ALTER TASK IF EXISTS {sf(root)} SUSPEND", None,
                     "a running graph cannot be changed: suspend the root first")]
    triggers = obj(TRIGGER_TABLE)
    out.append(_stmt(exp.Create(this=exp.Schema(this=triggers, expressions=[
        exp.ColumnDef(this=exp.to_identifier(c, quoted=True),
                      kind=exp.DataType.build(t, dialect=DIALECT))
        for c, t in (("WORKFLOW", "VARCHAR"), ("FIRED_AT", "TIMESTAMP_LTZ"),
                     ("CHANGED_ROWS", "NUMBER"))]), kind="TABLE", exists=True),
        "one row per time the graph fires"))
    for src, stream in streams.items():
        source = snowflake_table(table_text(wf, src), loc)
        out.append(Statement(f"CREATE OR REPLACE STREAM {sf(stream)} ON TABLE {sf(source)}",
                             None, f"changes to source {src}"))
    if streams:
        union = " UNION ALL ".join(f"SELECT 1 AS c FROM :s{i}" for i in range(len(streams)))
        body = _tree(f"INSERT INTO :log (WORKFLOW, FIRED_AT, CHANGED_ROWS) SELECT :wf, "
                     f"CURRENT_TIMESTAMP(), COUNT(*) FROM ({union}) AS changes",
                     log=triggers, wf=exp.Literal.string(wf.name),
                     **{f"s{i}": s for i, s in enumerate(streams.values())})
    else:
        body = _tree("INSERT INTO :log (WORKFLOW, FIRED_AT, CHANGED_ROWS) SELECT :wf, "
                     "CURRENT_TIMESTAMP(), NULL", log=triggers,
                     wf=exp.Literal.string(wf.name))
    clauses = [compute]
    if sched.cron:
        clauses.append(f"SCHEDULE = {lit(f'USING CRON {sched.cron.text} {sched.timezone}')}")
    clauses.append(f"COMMENT = {lit(f'terraplan workflow {wf.name}: root')}")
    if streams:
        clauses.append("WHEN " + " OR ".join(f"SYSTEM$STREAM_HAS_DATA({lit(sf(s))})"
                                              for s in streams.values()))
    out.append(Statement(_task(root, clauses, body.sql(dialect=DIALECT)), None,
                         "root: fires on the schedule and/or when a source stream has data; "
                         "reading the streams in this INSERT consumes them"))
    before = root
    for step, task in zip(wf.steps, steps, strict=True):
        clauses = [compute, f"COMMENT = {lit(f'terraplan workflow {wf.name}: {step.name}')}",
                   f"AFTER {sf(before)}"]
        out.append(Statement(_task(task, clauses, _task_body(
            adapter.compile_step(wf, step, 0, loc))), None,
            f"step {step.name}: {step.uses}"
            + (" (rebalance: starts from today's alignment)" if _rebalanced(wf, step) else "")))
        before = task
    for task in reversed(steps):
        out.append(Statement(f"ALTER TASK {sf(task)} RESUME", None))
    out.append(Statement(f"ALTER TASK {sf(root)} RESUME", None, "the root last: the graph "
                                                                "is live from here"))
    return out


def _rebalanced(wf: Any, step: Any) -> bool:
    rb = Rebalance.of(wf)
    return rb is not None and rb.applies_to(step)


def _task_body(statements: Sequence[Statement]) -> str:
    """One statement as it is; several (a rebalance join, then the CALL) as one Snowflake
    Scripting block, which a task runs in order and stops at the first error."""
    if len(statements) == 1:
        return statements[0].sql
    if any("$$" in s.sql for s in statements):
        raise InputError("a value in this workflow contains '$$', which would end the task's "
                         "Snowflake Scripting block: remove it", column="rebalance")
    lines = "\n".join(f"      {s.sql.replace(chr(10), ' ')};" for s in statements)
    return f"EXECUTE IMMEDIATE $$\n    BEGIN\n{lines}\n    END;\n  $$"


def _task(name: exp.Table, clauses: Sequence[str], body: str) -> str:
    lines = [f"CREATE OR REPLACE TASK {name.sql(dialect=DIALECT)}",
             *(f"  {c}" for c in clauses), "AS", f"  {body}"]
    return "\n".join(lines)


def schedule_text(adapter: WarehouseAdapter, wf: Any, sched: Any, loc: Location, *,
                  dry_run: bool = True,
                  task_warehouse: str | None = None, session: Any = None,
                  connection: str | None = None,
                  echo: Callable[[str], None] = print) -> str:
    """The task graph as a script; without ``dry_run`` the statements also run through
    ``session`` (default: a Snowpark session from the user's connection settings)."""
    if not dry_run and session is None:
        from udfs.snowflake.deploy import has_connection_settings

        if not has_connection_settings(connection):
            raise InputError("no Snowflake connection settings (SNOWFLAKE_ACCOUNT, ... or "
                             "connections.toml); nothing was created. Use --dry-run to print "
                             "the statements.", column="--connection")
    statements = snowflake_objects(adapter, wf, sched, loc, task_warehouse)
    header = [f"terraplan workflow {comment_text(wf.name)}: Snowflake task graph; "
              "generated by 'terraplan schedule', do not edit.",
              f"{len(wf.steps)} step task(s) after the root; needs 'terraplan deploy "
              "snowflake'. Tasks run as their owner: grant it USAGE on the procedures,",
              "the tables' privileges and EXECUTE TASK (plus EXECUTE MANAGED TASK when "
              "serverless). Refresh on_change tables with DML, not CREATE OR REPLACE,",
              "or their streams go stale."]
    text = render(statements, header)
    if not dry_run:
        _run(statements, session, connection, echo)
    return text


def _run(statements: Sequence[Statement], session: Any, connection: str | None,
         echo: Callable[[str], None]) -> None:
    if session is None:
        from udfs.snowflake.deploy import session_from_settings

        session = session_from_settings(connection, "--dry-run prints the statements instead")
    for statement in statements:
        session.sql(statement.sql).collect()
        echo(statement.sql.splitlines()[0])

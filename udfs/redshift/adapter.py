"""The Redshift adapter: ``CALL "<schema>"."<component>"(...)`` per workflow step, and the
workflow as a Redshift scheduled query.

Table names are string arguments (``'sales.ga_counties'``); the procedures
(:mod:`udfs.redshift.ddl`) quote every part. ``terraplan schedule --warehouse redshift``
prints the script and the Amazon EventBridge Scheduler command that runs it through the
Redshift Data API on the workflow's cron (what the console's "scheduled query" creates):
AWS cron has six fields and ``?`` in day-of-month or day-of-week, days 1-7 = SUN-SAT.
``on_change`` has no Redshift trigger; the schedule says so rather than ignoring it.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any, ClassVar

import sqlglot
from sqlglot import exp

from components.errors import InputError
from udfs.base import (
    Capabilities,
    Location,
    NameRules,
    Statement,
    WarehouseAdapter,
    call_text,
    comment_text,
    params_json,
    params_of,
    render,
    spec_args,
    table_text,
)
from udfs.options import CliOption

DEFAULT_SCHEMA = "terraplan"
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def redshift_table_text(text: str, loc: Location) -> str:
    """``schema.table`` as the procedures take it (bare names get the data schema)."""
    if text.count(".") > 1:
        raise InputError(f"table {text!r}: Redshift procedures take schema.table (the "
                         "database is the connection's)", column="table")
    return text if "." in text or not loc.data_schema else f"{loc.data_schema}.{text}"


def aws_cron(cron_text: str) -> str:
    """A checked 5-field cron as AWS's 6-field ``cron(...)``."""
    minute, hour, dom, month, dow = cron_text.split()

    def day(token: str) -> str:
        if token.isdigit():
            return str(int(token) + 1)
        return token.upper() if token.upper() in _DAYS else token

    if dow == "*":
        dow = "?"
    else:
        if dom != "*":
            raise InputError(f"schedule.cron {cron_text!r}: AWS cron cannot restrict both "
                             "day of month and day of week; keep one of them '*'",
                             column="schedule.cron")
        dom = "?"
        dow = ",".join("-".join(day(p) for p in part.split("-")) for part in dow.split(","))
    return f"cron({minute} {hour} {dom} {month} {dow} *)"


def _table(text: str) -> exp.Table:
    """``schema.table`` (or ``table``) as a table of quoted identifiers."""
    schema, _, name = text.rpartition(".")
    return exp.Table(this=exp.to_identifier(name, quoted=True),
                     db=exp.to_identifier(schema, quoted=True) if schema else None)


def _no_replace_split(statement: Statement) -> list[Statement]:
    """Redshift has no ``CREATE OR REPLACE TABLE``: drop, then create."""
    tree = statement.tree
    if not (isinstance(tree, exp.Create) and tree.args.get("replace")
            and tree.kind == "TABLE"):
        return [statement]
    create = tree.copy()
    create.set("replace", False)
    # parsed, then the table replaced: exp.Drop's arguments differ across sqlglot versions
    drop = sqlglot.parse_one('DROP TABLE IF EXISTS "t"', read="redshift")
    table = drop.find(exp.Table)
    if not isinstance(drop, exp.Drop) or table is None:
        raise RuntimeError(f"sqlglot parsed DROP TABLE as {drop!r}")
    table.replace(create.this.copy())
    return [Statement(drop.sql("redshift"), drop, statement.comment),
            Statement(create.sql("redshift"), create)]


class RedshiftAdapter(WarehouseAdapter):
    name = "redshift"
    dialect = "redshift"
    type_map: ClassVar[Mapping[str, str]] = {
        "string": "VARCHAR(65535)", "double": "DOUBLE PRECISION", "bigint": "BIGINT",
        "boolean": "BOOLEAN", "timestamp": "TIMESTAMP", "json": "SUPER"}
    names = NameRules(max_length=127, folds="lower", case_sensitive_quoted=False)
    capabilities = Capabilities(transactional_ddl=True, python_udfs=False, partitioned=True,
                                max_packed_bytes=65_535)
    cli_module = "udfs.redshift.cli"
    cli_options: ClassVar[tuple[CliOption, ...]] = (
        CliOption("--iam-role", "role EventBridge Scheduler assumes to call the Redshift Data "
                  "API", ("schedule",), metavar="ARN", keyword="role"),
        CliOption("--workgroup", "Redshift Serverless workgroup the query runs in",
                  ("schedule",), metavar="NAME"),
    )

    carries_rebalance = True  # compile and schedule join today's alignment in (udfs.rebalance)

    def compile_step(self, wf: Any, step: Any, index: int, loc: Location) -> list[Statement]:
        from udfs.rebalance import compile_rebalance

        pre, step = compile_rebalance(
            wf, step, lambda name: _table(redshift_table_text(table_text(wf, name), loc)),
            "redshift")
        return [*(part for s in pre for part in _no_replace_split(s)),
                *self._call(wf, step, loc)]

    def _call(self, wf: Any, step: Any, loc: Location) -> list[Statement]:
        spec, ins, outs = spec_args(step)
        name = exp.Table(this=exp.to_identifier(spec.name, quoted=True),
                         db=exp.to_identifier(loc.schema or DEFAULT_SCHEMA, quoted=True))
        lit = lambda text: exp.Literal.string(text).sql("redshift")  # noqa: E731
        args = [lit(redshift_table_text(table_text(wf, t), loc)) if t else "NULL"
                for t in [*ins, *outs]]
        args.append(lit(params_json(params_of(step))))
        return [Statement(call_text(name, args, "redshift"), None,
                          f"step {step.name}: {step.uses}")]

    def schedule(self, wf: Any, sched: Any, loc: Location, *, dry_run: bool = True,
                 **options: Any) -> str | None:
        if sched.cron is None:
            raise InputError("Redshift has no data-change trigger for a scheduled query: add "
                             "schedule.cron (the query can check the sources itself)",
                             column="schedule.on_change")
        tz = sched.timezone  # EventBridge Scheduler takes the IANA zone as it is
        statements = self.compile(wf, loc)
        script = render(statements, [
            f"terraplan workflow {comment_text(wf.name)}: Redshift scheduled query; "
            "generated by 'terraplan schedule', do not edit."])
        # BatchExecuteStatement: the statements in order (a rebalance join, then the CALLs)
        target = {"Arn": "arn:aws:scheduler:::aws-sdk:redshiftdata:batchExecuteStatement",
                  "RoleArn": options.get("role") or "arn:aws:iam::ACCOUNT:role/terraplan",
                  "Input": json.dumps({"Database": loc.database or "dev",
                                       "WorkgroupName": options.get("workgroup") or
                                       "WORKGROUP", "Sqls": [s.sql for s in statements],
                                       "StatementName": f"terraplan-{wf.name}"})}
        argv = ["aws", "scheduler", "create-schedule", "--name", f"terraplan-{wf.name}",
                "--schedule-expression", aws_cron(sched.cron.text),
                "--schedule-expression-timezone", tz,
                "--flexible-time-window", '{"Mode": "OFF"}', "--target", json.dumps(target)]
        notes = ["# terraplan schedule: Redshift scheduled query (EventBridge Scheduler -> "
                 "Redshift Data API BatchExecuteStatement)"]
        if sched.on_change:
            notes.append("# on_change is not available on Redshift: the cron runs every time")
        text = "\n".join([*notes, script.rstrip(), "", shlex.join(argv)]) + "\n"
        if not dry_run:
            missing = [f"--{k.replace('_', '-')}" for k, v in
                       (("iam_role", options.get("role")), ("workgroup", options.get("workgroup")))
                       if not v]
            if missing:
                raise InputError(f"schedule --warehouse redshift needs {' and '.join(missing)} "
                                 "(--dry-run prints the command with placeholders)")
            if not shutil.which("aws"):
                raise InputError("'aws' (the AWS CLI) is not on PATH: install it, or run the "
                                 "command printed by --dry-run where it is")
            subprocess.run(argv, check=True)
        return text


ADAPTER = RedshiftAdapter()

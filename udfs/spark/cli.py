"""``terraplan deploy databricks`` and ``terraplan databricks-task`` (what the job's
python_wheel_tasks run); registered by the CLI from ``udfs/<name>/cli.py``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any


def register(sub: argparse._SubParsersAction, groups: dict) -> None:
    from udfs.options import command_group

    deploy = command_group(sub, groups, "deploy", "deploy terraplan into a warehouse")
    parser = deploy.add_parser(
        "databricks", help="Unity Catalog Python functions and UDTFs in Databricks SQL",
        description="Print (--dry-run) the Unity Catalog DDL: one packed-JSON Python "
                    "function and one PARTITION BY table function per component, whose "
                    "environment installs terraplan.")
    parser.add_argument("--catalog", default="main", help="catalog (default: main)")
    parser.add_argument("--schema", default="terraplan", help="schema (default: terraplan)")
    parser.add_argument("--dependency", metavar="SPEC",
                        help="what the functions' environment installs (default: "
                             "terraplan==<this version>; or a /Volumes/... wheel path)")
    parser.add_argument("--component", action="append", metavar="NAME",
                        help="deploy only this component (repeatable; default: all)")
    parser.add_argument("--dry-run", action="store_true", help="print the SQL")
    parser.set_defaults(handler=_deploy)

    task = sub.add_parser(
        "databricks-task", help="one task of a terraplan Databricks job (run by the job)",
        description="What the python_wheel_tasks of 'terraplan compile/schedule --warehouse "
                    "databricks' run: check | step | publish (see udfs.spark.tables).")
    task.add_argument("task_args", nargs=argparse.REMAINDER)
    task.set_defaults(handler=lambda args: _print(task_main(args.task_args)))


def _deploy(args: argparse.Namespace) -> int:
    from components.errors import InputError
    from udfs.spark.ddl import Target, script

    target = Target(args.catalog, args.schema, *([args.dependency] if args.dependency else []))
    if not args.dry_run:
        raise InputError("deploy databricks prints its SQL: run it with --dry-run and paste it "
                         "into a Databricks SQL editor, or pipe it to 'databricks' CLI's "
                         "statement execution (no client is built into terraplan)")
    print(script(target, args.component), end="")
    return 0


def _print(result: Any) -> int:
    if result is not None:
        print(json.dumps(result, default=str))
    return 0


def _task_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="terraplan databricks-task")
    sub = p.add_subparsers(dest="what", required=True)
    for name in ("check", "step", "publish"):
        s = sub.add_parser(name)
        s.add_argument("--catalog")
        s.add_argument("--schema")
        s.add_argument("--format", default="delta", choices=("delta", "parquet"))
        s.add_argument("--run-id")
        s.add_argument("--trigger", default="manual")
        s.add_argument("--workflow")
        s.add_argument("--task", type=json.loads)
        s.add_argument("--sources", type=json.loads)
        s.add_argument("--outputs", type=json.loads)
        s.add_argument("--on-change", type=json.loads)
    return p


def task_main(argv: Sequence[str], spark: Any = None, fmt: str | None = None) -> Any:
    """Run one job task. ``check`` returns (and on Databricks sets as the task value)
    ``{"changed": bool}``; ``step`` returns the step's report. ``spark`` defaults to the
    active session (the job's); ``fmt`` overrides the table format (``parquet`` locally)."""
    from udfs.spark import tables

    argv = list(argv)
    if argv[:1] == ["databricks-task"]:  # a task's parameters as the job passes them
        argv = argv[1:]
    args = _task_parser().parse_args(argv)
    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.getOrCreate()
    home = tables.Home(args.catalog, args.schema, fmt or args.format)
    if args.what == "check":
        changed = tables.sources_changed(spark, home, args.workflow, args.sources)
        _set_task_value("changed", "true" if changed else "false")
        return {"changed": changed}
    if args.what == "step":
        return tables.run_step(spark, home, args.task, args.run_id, args.trigger)
    tables.publish(spark, home, args.workflow, args.outputs, args.run_id, args.trigger,
                   args.on_change)
    return None


def _set_task_value(key: str, value: str) -> None:
    try:  # only inside a Databricks job run
        from databricks.sdk.runtime import dbutils
    except ImportError:
        return
    dbutils.jobs.taskValues.set(key=key, value=value)

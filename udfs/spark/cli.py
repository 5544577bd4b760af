"""``terraplan deploy databricks``: registered by the CLI from ``udfs/<name>/cli.py``."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, groups: dict) -> None:
    from workflows.cli import command_group

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


def _deploy(args: argparse.Namespace) -> int:
    from components.errors import InputError
    from udfs.spark.ddl import Target, script

    target = Target(args.catalog, args.schema, *([args.dependency] if args.dependency else []))
    if not args.dry_run:
        raise InputError("deploy databricks runs the SQL through databricks-sql-connector, "
                         "which is not wired yet: run the --dry-run output in a Databricks "
                         "SQL editor")
    print(script(target, args.component), end="")
    return 0

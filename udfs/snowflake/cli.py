"""``terraplan deploy snowflake``: registered by the CLI from ``udfs/<name>/cli.py``."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, groups: dict[str, argparse._SubParsersAction]
             ) -> None:
    from udfs.options import command_group

    deploy = command_group(sub, groups, "deploy", "deploy terraplan into a warehouse")
    parser = deploy.add_parser(
        "snowflake", help="stored procedures and partition UDTFs in Snowflake",
        description="Build the handler package, upload it to a stage and create one stored "
                    "procedure per component (and a PARTITION BY table function for point "
                    "components) through a Snowpark session from your connections.toml or "
                    "SNOWFLAKE_* environment. Names follow Snowflake's rules: unquoted names "
                    "are upper-cased, \"quoted\" ones kept.")
    parser.add_argument("--database", metavar="DB",
                        help="database (default: the connection's current database)")
    parser.add_argument("--schema", metavar="S", default=None,
                        help="schema for the procedures (default: TERRAPLAN)")
    parser.add_argument("--stage", metavar="STAGE", default=None,
                        help="stage for terraplan.zip, in --stage-schema "
                             "(default: TERRAPLAN_STAGE)")
    parser.add_argument("--stage-schema", metavar="S", default=None,
                        help="schema of the stage, apart from the procedures' schema so that "
                             "schema can be cloned and replicated (default: TERRAPLAN_CODE)")
    parser.add_argument("--connection", metavar="NAME",
                        help="connection name in connections.toml (default: SNOWFLAKE_* "
                             "environment variables, else the default connection)")
    parser.add_argument("--zip", metavar="FILE", dest="zip_file",
                        help="also keep the handler package (terraplan.zip) at FILE")
    parser.add_argument("--dry-run", action="store_true",
                        help="print every statement, the package lists and the grants a "
                             "caller needs; connect to nothing")
    parser.set_defaults(handler=_deploy)


def _deploy(args: argparse.Namespace) -> int:
    from udfs.snowflake.ddl import Target
    from udfs.snowflake.deploy import deploy

    target = Target.parse(args.database, args.schema, args.stage, args.stage_schema)
    deploy(target, dry_run=args.dry_run, connection=args.connection, zip_file=args.zip_file)
    return 0

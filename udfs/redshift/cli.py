"""``terraplan deploy redshift``: registered by the CLI from ``udfs/<name>/cli.py``."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction, groups: dict) -> None:
    from udfs.options import command_group

    deploy = command_group(sub, groups, "deploy", "deploy terraplan into a warehouse")
    parser = deploy.add_parser(
        "redshift", help="Lambda external functions and PL/pgSQL procedures in Redshift",
        description="Print (--dry-run) or run the Redshift DDL: the run log, one CREATE "
                    "EXTERNAL FUNCTION ... LAMBDA per component and one stored procedure "
                    "per component that takes table names. The Lambda function itself runs "
                    "udfs.redshift.handler.lambda_handler from the terraplan package.")
    parser.add_argument("--schema", default="terraplan", help="schema (default: terraplan)")
    parser.add_argument("--lambda-name", default="terraplan-redshift", metavar="NAME",
                        help="the Lambda function (default: terraplan-redshift)")
    parser.add_argument("--iam-role", default="default", metavar="ARN",
                        help="role Redshift assumes to invoke the Lambda (default: the "
                             "cluster's default role)")
    parser.add_argument("--component", action="append", metavar="NAME",
                        help="deploy only this component (repeatable; default: all)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the SQL; connect to nothing")
    parser.set_defaults(handler=_deploy)


def _deploy(args: argparse.Namespace) -> int:
    from components.errors import InputError
    from udfs.redshift.ddl import Target, script, statements

    target = Target(args.schema, args.lambda_name, args.iam_role)
    if args.dry_run:
        print(script(target, args.component), end="")
        return 0
    try:
        import redshift_connector
    except ImportError:
        raise InputError("deploy redshift needs redshift_connector (pip install "
                         "redshift-connector) and REDSHIFT_HOST/REDSHIFT_DATABASE/"
                         "REDSHIFT_USER/REDSHIFT_PASSWORD; --dry-run prints the SQL "
                         "instead") from None
    import os

    missing = [k for k in ("REDSHIFT_HOST", "REDSHIFT_DATABASE", "REDSHIFT_USER",
                           "REDSHIFT_PASSWORD") if not os.environ.get(k)]
    if missing:
        raise InputError(f"deploy redshift needs {', '.join(missing)} (or --dry-run)")
    con = redshift_connector.connect(host=os.environ["REDSHIFT_HOST"],
                                     database=os.environ["REDSHIFT_DATABASE"],
                                     user=os.environ["REDSHIFT_USER"],
                                     password=os.environ["REDSHIFT_PASSWORD"])
    with con.cursor() as cursor:
        for statement in statements(target, args.component):
            cursor.execute(statement)
            print(statement.splitlines()[0], file=sys.stderr)
    con.commit()
    return 0

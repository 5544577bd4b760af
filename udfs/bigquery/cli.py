"""``terraplan serve bigquery`` and ``terraplan deploy bigquery``."""

from __future__ import annotations

import argparse
from pathlib import Path

DRY_RUN_DEFAULTS = {"project": "my-project", "dataset": "terraplan",
                    "connection": "us.terraplan",
                    "endpoint": "https://terraplan-bigquery-PLACEHOLDER.a.run.app"}


def register(sub: argparse._SubParsersAction, groups: dict) -> None:
    from udfs.options import command_group

    serve = command_group(sub, groups, "serve", "serve a warehouse adapter locally").add_parser(
        "bigquery", help="the BigQuery remote-function service, as the Cloud Run container "
                         "runs it",
        description="Serve the BigQuery remote-function HTTP app (functions-framework, "
                    "target 'terraplan') exactly as the Cloud Run container does.")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=int, default=8080, metavar="N",
                       help="port (default: 8080)")
    serve.set_defaults(handler=_serve)

    deploy = command_group(sub, groups, "deploy", "deploy terraplan into a warehouse").add_parser(
        "bigquery", help="Cloud Run service + remote functions + wrapper procedures",
        description="Render (and with credentials, run) the Cloud Run container build files, "
                    "one CREATE FUNCTION ... REMOTE WITH CONNECTION per component and mode, "
                    "and one wrapper procedure per component.")
    deploy.add_argument("--project", help="Google Cloud project")
    deploy.add_argument("--dataset", default="terraplan",
                        help="dataset for the functions, procedures and run log "
                             "(default: terraplan)")
    deploy.add_argument("--connection", metavar="LOCATION.ID",
                        help="CLOUD_RESOURCE connection, e.g. us.terraplan")
    deploy.add_argument("--endpoint", metavar="URL",
                        help="URL of an already deployed service (skips the Cloud Run deploy)")
    deploy.add_argument("--region", help="Cloud Run region (default: the connection's region; "
                        "us-central1 for a 'us.' connection, europe-west1 for 'eu.')")
    deploy.add_argument("--max-units", type=int, default=20_000, metavar="N",
                        help="largest problem (units or points) one call must solve: sets "
                             "the service's memory and CPU (default: 20000)")
    deploy.add_argument("--service-account", metavar="EMAIL",
                        help="the service's identity (default: "
                             "<service>@<project>.iam.gserviceaccount.com, created if missing)")
    deploy.add_argument("--service", default="terraplan-bigquery", help="Cloud Run service name")
    deploy.add_argument("--component", action="append", metavar="NAME",
                        help="deploy only this component (repeatable; default: all)")
    deploy.add_argument("--build-dir", metavar="DIR", default="out/bigquery-build",
                        help="where the container build files are written")
    deploy.add_argument("--dry-run", action="store_true",
                        help="print the build files and the SQL; touch nothing")
    deploy.set_defaults(handler=_deploy)


def _serve(args: argparse.Namespace) -> int:
    from udfs.bigquery.app import serve

    print(f"terraplan BigQuery remote function on http://{args.host}:{args.port}/", flush=True)
    serve(args.host, args.port)
    return 0


def _deploy(args: argparse.Namespace) -> int:
    from components.errors import InputError
    from udfs.bigquery import service
    from udfs.bigquery.ddl import Target, script
    from udfs.bigquery.deploy import build_files, deploy

    if args.dry_run:
        values = {k: getattr(args, k) or v for k, v in DRY_RUN_DEFAULTS.items()}
        target = Target(**values)
    else:
        missing = [f"--{k}" for k in ("project", "connection") if not getattr(args, k)]
        if missing:
            raise InputError(f"deploy bigquery needs {' and '.join(missing)} (or --dry-run)")
        target = Target(args.project, args.dataset, args.connection,
                        args.endpoint or DRY_RUN_DEFAULTS["endpoint"])
    plan = service.plan(target.project, target.connection, service=args.service,
                        region=args.region, service_account=args.service_account,
                        max_units=args.max_units)
    if not args.dry_run:
        deploy(target, plan, build_dir=Path(args.build_dir),
               deploy_service_too=args.endpoint is None)
        return 0
    print(f"# {service.resources_summary(plan)}")
    print("# ---- commands (in order; the service ones are skipped with --endpoint) ----")
    for command in service.commands(plan, args.build_dir, target.connection_path):
        print(f"# {command.why}\n{command}")
    for name, text in build_files().items():
        print(f"# ---- {name} ----\n{text}")
    print("-- ---- GoogleSQL ----")
    print(script(target, args.component), end="")
    return 0

"""``terraplan deploy bigquery``: container build files and the GoogleSQL, then run them.

A real deploy needs the user's Google Cloud credentials (``gcloud auth
application-default login`` or GOOGLE_APPLICATION_CREDENTIALS), ``gcloud`` and ``bq``,
and runs, in this order (``--dry-run`` prints all of it):

1. the commands of :func:`udfs.bigquery.service.commands`: the service account,
   ``gcloud run deploy`` sized from ``--max-units`` in the connection's region, the
   roles table mode needs, and Cloud Run Invoker for the connection's service account
   (the service is skipped when ``--endpoint`` names a deployed one). A grant the
   caller has no right to make is printed for an administrator instead;
2. the GoogleSQL of :mod:`udfs.bigquery.ddl` (the dataset in the connection's
   location first) through ``google.cloud.bigquery.Client``.

Creating the CLOUD_RESOURCE connection itself stays with the user.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from components.errors import InputError, TerraplanError
from components.sqlgen import sql_root
from udfs.bigquery.ddl import Target, statements
from udfs.bigquery.service import CONNECTION_SA, Command, ServicePlan, commands

HERE = Path(__file__).resolve().parent
DOCKERFILE = HERE / "Dockerfile"
# The service needs the solver stack and the BigQuery client, not Snowpark or DuckDB.
SERVICE_PACKAGES = ("numpy", "scipy", "pandas", "sqlglot", "google-cloud-bigquery", "pyarrow",
                    "shapely", "h3")  # the last two, from the geo extra: polygon/H3 adjacency
EXTRA_REQUIREMENTS = ("functions-framework>=3.5,<4",)


def requirements() -> str:
    """requirements.txt for the container: terraplan's own pins for the packages it needs."""
    try:
        reqs = importlib.metadata.requires("terraplan") or []
    except importlib.metadata.PackageNotFoundError:
        reqs = []
    wanted = []
    for req in reqs:
        if ";" in req:
            req, marker = (part.strip() for part in req.split(";", 1))
            if marker.replace('"', "'") != "extra == 'geo'":
                continue
        name = re.split(r"[<>=!~\[ ]", req, maxsplit=1)[0].lower()
        if name in SERVICE_PACKAGES:
            wanted.append(req)
    if len(wanted) < len(SERVICE_PACKAGES):  # not installed as a distribution: unpinned
        have = {re.split(r"[<>=!~\[ ]", r, maxsplit=1)[0].lower() for r in wanted}
        wanted += [p for p in SERVICE_PACKAGES if p not in have]
    return "\n".join(sorted(wanted) + list(EXTRA_REQUIREMENTS)) + "\n"


def build_files() -> dict[str, str]:
    """The container build files by name (what --dry-run prints)."""
    return {"Dockerfile": DOCKERFILE.read_text(encoding="utf-8"),
            "requirements.txt": requirements()}


def write_build_dir(directory: str | Path) -> Path:
    """Dockerfile, requirements.txt and the sources the service imports, in ``directory``."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in build_files().items():
        (out / name).write_text(text, encoding="utf-8")
    root = HERE.parents[1]
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("components", "udfs"):
        shutil.copytree(root / package, out / package, dirs_exist_ok=True, ignore=ignore)
    shutil.copytree(sql_root(), out / "sql", dirs_exist_ok=True, ignore=ignore)
    return out


def credentials_present() -> bool:
    if os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        return True
    adc = Path.home() / ".config" / "gcloud" / "application_default_credentials.json"
    return adc.is_file()


def _run(command: Command) -> subprocess.CompletedProcess:
    exe = shutil.which(command.argv[0])
    if exe is None:
        raise InputError(f"{command.argv[0]} is not installed (Google Cloud SDK); run this "
                         f"deploy where it is, or run --dry-run's commands yourself")
    return subprocess.run([exe, *command.argv[1:]], capture_output=True, text=True,
                          check=False)


def deploy_service(plan: ServicePlan, *, build_dir: Path, connection_path: str,
                   deploy_service: bool = True, echo=print) -> tuple[str | None, list[Command]]:
    """Run the service commands; returns (service URL or None, grants left to an admin)."""
    url, account, todo = None, None, []
    for command in commands(plan, str(build_dir), connection_path):
        argv = command.argv
        if not deploy_service and argv[1] in ("run", "iam") and argv[2] in (
                "deploy", "service-accounts"):
            continue
        if account is not None:
            command = Command(tuple(a.replace(CONNECTION_SA, account) for a in argv),
                              command.why)
        if argv[1] == "run" and argv[2] == "deploy":
            write_build_dir(build_dir)
        echo(f"$ {command}")
        run = _run(command)
        error = run.stderr.strip()[-2000:]
        if argv[1] == "iam":  # creating the service account: an existing one is fine
            if run.returncode != 0 and "already exists" not in error:
                raise TerraplanError(f"creating the service account failed: {error}")
        elif argv[1] == "run" and argv[2] == "deploy":
            if run.returncode != 0:
                raise TerraplanError(f"gcloud run deploy failed: {error}")
            url = run.stdout.strip().splitlines()[-1]
        elif argv[0] == "bq":
            if run.returncode != 0:
                raise TerraplanError(f"reading connection {connection_path} failed: {error}")
            account = json.loads(run.stdout)["cloudResource"]["serviceAccountId"]
        elif run.returncode != 0:  # a grant: print it for someone who may make it
            role = argv[argv.index("--role") + 1]
            echo(f"could not grant {role} ({error.splitlines()[-1] if error else 'failed'}); "
                 f"an administrator must run: {command}")
            todo.append(command)
    return url, todo


def deploy(target: Target, plan: ServicePlan, *, build_dir: Path, deploy_service_too: bool,
           echo=print) -> None:
    """Deploy for real with the user's credentials (raises TerraplanError with the fix)."""
    if not credentials_present():
        raise InputError("no Google Cloud credentials: run 'gcloud auth application-default "
                         "login' or set GOOGLE_APPLICATION_CREDENTIALS, or use --dry-run to "
                         "print what would be deployed")
    url, todo = deploy_service(plan, build_dir=build_dir, connection_path=target.connection_path,
                               deploy_service=deploy_service_too, echo=echo)
    if url:
        target = Target(target.project, target.dataset, target.connection, url)
    from google.cloud import bigquery

    client = bigquery.Client(project=target.project, location=target.location)
    for statement in statements(target):
        echo(f"creating {statement.name}")
        client.query(statement.sql, location=target.location).result()
    echo(f"done: CALL `{target.project}.{target.dataset}.<component>`(...) now runs terraplan")
    for command in todo:
        echo(f"still to grant by an administrator: {command}")

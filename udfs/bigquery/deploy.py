"""``terraplan deploy bigquery``: container build files and the GoogleSQL, then run them.

A real deploy needs the user's Google Cloud credentials (``gcloud auth
application-default login`` or GOOGLE_APPLICATION_CREDENTIALS) and runs:

1. ``gcloud run deploy <service> --source <build dir> --no-allow-unauthenticated``
   (skipped when ``--endpoint`` names an already deployed service);
2. the DDL of :mod:`udfs.bigquery.ddl` through ``google.cloud.bigquery.Client``.

The CLOUD_RESOURCE connection, and granting its service account
``roles/run.invoker`` on the service, stay with the user (printed as next steps):
they need project-owner rights terraplan should not assume.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
from pathlib import Path

from components.errors import InputError, TerraplanError
from components.sqlgen import sql_root
from udfs.bigquery.ddl import Target, statements

HERE = Path(__file__).resolve().parent
DOCKERFILE = HERE / "Dockerfile"
# The service needs the solver stack and the BigQuery client, not Snowpark or DuckDB.
SERVICE_PACKAGES = ("numpy", "scipy", "pandas", "sqlglot", "google-cloud-bigquery", "pyarrow")
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


def deploy(target: Target, *, region: str, service: str, build_dir: Path,
           deploy_service: bool, echo=print) -> None:
    """Deploy for real with the user's credentials (raises TerraplanError with the fix)."""
    if not credentials_present():
        raise InputError("no Google Cloud credentials: run 'gcloud auth application-default "
                         "login' or set GOOGLE_APPLICATION_CREDENTIALS, or use --dry-run to "
                         "print what would be deployed")
    if deploy_service:
        gcloud = shutil.which("gcloud")
        if gcloud is None:
            raise InputError("gcloud is not installed: deploy the container yourself "
                             f"(build files in {build_dir}) and pass --endpoint URL")
        write_build_dir(build_dir)
        echo(f"deploying Cloud Run service '{service}' from {build_dir} ...")
        run = subprocess.run([gcloud, "run", "deploy", service, "--source", str(build_dir),
                              "--region", region, "--project", target.project,
                              "--no-allow-unauthenticated", "--format=value(status.url)"],
                             capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise TerraplanError(f"gcloud run deploy failed: {run.stderr.strip()[-2000:]}")
        url = run.stdout.strip().splitlines()[-1]
        target = Target(target.project, target.dataset, target.connection, url)
    from google.cloud import bigquery

    client = bigquery.Client(project=target.project)
    client.create_dataset(f"{target.project}.{target.dataset}", exists_ok=True)
    for statement in statements(target):
        echo(f"creating {statement.name}")
        client.query(statement.sql).result()
    echo(f"done: CALL `{target.project}.{target.dataset}.<component>`(...) now runs terraplan")

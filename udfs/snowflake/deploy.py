"""``terraplan deploy snowflake``: package, upload and create the procedures and UDTFs.

Steps, in order (``--dry-run`` prints them and changes nothing):

1. build ``terraplan.zip`` with only what the handlers import: ``components/`` (the SQL
   templates under ``components/sql/``, as in the wheel), ``udfs/__init__.py``,
   ``udfs/base.py``, ``udfs/protocol.py`` and ``udfs/snowflake/``. Entries are sorted
   and time-stamped 1980-01-01, so the same code gives a byte-identical zip;
2. ``CREATE SCHEMA IF NOT EXISTS`` and ``CREATE STAGE IF NOT EXISTS``;
3. ``PUT`` the zip on the stage (uncompressed, overwriting);
4. ``CREATE OR REPLACE PROCEDURE`` per component and ``CREATE OR REPLACE FUNCTION``
   per partition UDTF (:mod:`.ddl`), with the Anaconda-channel package list.

The session comes from the user's standard settings, in this order: ``--connection
NAME`` (a connection in ``connections.toml``); ``SNOWFLAKE_ACCOUNT`` and friends in the
environment; the default connection of ``connections.toml``. Nothing connects in
tests, and no setting or secret is printed.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from udfs.snowflake import ddl

ROOT = Path(__file__).resolve().parents[2]
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
UDFS_FILES = ("udfs/__init__.py", "udfs/base.py", "udfs/protocol.py")
# SNOWFLAKE_* environment variable -> Snowflake connector option
ENV_OPTIONS = {
    "SNOWFLAKE_ACCOUNT": "account", "SNOWFLAKE_USER": "user",
    "SNOWFLAKE_PASSWORD": "password", "SNOWFLAKE_ROLE": "role",
    "SNOWFLAKE_WAREHOUSE": "warehouse", "SNOWFLAKE_DATABASE": "database",
    "SNOWFLAKE_SCHEMA": "schema", "SNOWFLAKE_AUTHENTICATOR": "authenticator",
    "SNOWFLAKE_PRIVATE_KEY_FILE": "private_key_file", "SNOWFLAKE_HOST": "host",
}


def package_files(root: Path = ROOT) -> list[tuple[str, Path]]:
    """(name in the zip, file) for everything the handlers need, sorted by name."""
    def python(folder: Path) -> Iterator[Path]:
        return (p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)

    files = [(p.relative_to(root).as_posix(), p) for p in python(root / "components")]
    files += [(name, root / name) for name in UDFS_FILES]
    files += [(p.relative_to(root).as_posix(), p) for p in python(root / "udfs" / "snowflake")]
    sql_root = root / "sql"
    files += [("components/sql/" + p.relative_to(sql_root).as_posix(), p)
              for p in sql_root.rglob("*.sql")]
    return sorted(files)


def build_zip(path: Path, root: Path = ROOT) -> list[str]:
    """Write the deployment zip to ``path``; returns its entry names."""
    names = []
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, file in package_files(root):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, file.read_bytes())
            names.append(name)
    return names


@dataclass
class Plan:
    target: ddl.Target
    setup: list[str]
    functions: list[str]

    @classmethod
    def make(cls, target: ddl.Target) -> Plan:
        return cls(target, ddl.setup_ddl(target), ddl.function_ddl(target))

    def put_sql(self, zip_path: Path | str) -> str:
        """The upload as SnowSQL would write it (the deploy itself uses ``session.file.put``)."""
        local = ddl.string_literal("file://" + Path(zip_path).as_posix())
        stage = ddl.string_literal(self.target.stage_location)
        return f"PUT {local} {stage} AUTO_COMPRESS = FALSE OVERWRITE = TRUE"

    def script(self, zip_path: Path | str) -> str:
        packages = ", ".join(ddl.PACKAGES)
        header = [f"-- terraplan deploy snowflake: {len(self.functions)} procedures/functions",
                  f"-- Anaconda-channel packages: {packages}",
                  f"-- runtime: Python {ddl.RUNTIME_VERSION}; code: {ddl.ZIP_NAME}"]
        body = [*self.setup, self.put_sql(zip_path), *self.functions]
        return "\n".join(header) + "\n\n" + ";\n\n".join(body) + ";\n"


def connection_options(connection: str | None = None,
                       environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Snowpark session options from the user's standard settings (see module docstring)."""
    env = os.environ if environ is None else environ
    if connection:
        return {"connection_name": connection}
    if env.get("SNOWFLAKE_ACCOUNT"):
        return {opt: env[var] for var, opt in ENV_OPTIONS.items() if env.get(var)}
    return {}  # Snowpark then reads the default connection of connections.toml


def has_connection_settings(connection: str | None = None,
                            environ: dict[str, str] | None = None) -> bool:
    """Whether the user has any Snowflake connection settings (nothing is opened)."""
    env = os.environ if environ is None else environ
    if connection or env.get("SNOWFLAKE_ACCOUNT") or env.get("SNOWFLAKE_DEFAULT_CONNECTION_NAME"):
        return True
    home = Path(env.get("SNOWFLAKE_HOME") or Path.home() / ".snowflake")
    return (home / "connections.toml").is_file() or (home / "config.toml").is_file()


def session_from_settings(connection: str | None, instead: str):
    """A Snowpark session from the user's settings, or an InputError saying what to set
    (``instead`` names the command that prints the SQL without connecting)."""
    if not has_connection_settings(connection):
        from components.errors import InputError

        raise InputError("no Snowflake connection settings: set SNOWFLAKE_ACCOUNT, "
                         "SNOWFLAKE_USER, ... or add a connection to connections.toml (then "
                         f"--connection NAME); {instead}", column="connection")
    return open_session(connection)


def open_session(connection: str | None = None):  # -> snowflake.snowpark.Session
    from snowflake.snowpark import Session

    options = connection_options(connection)
    builder = Session.builder.configs(options) if options else Session.builder
    return builder.create()


def deploy(target: ddl.Target, *, dry_run: bool = False, connection: str | None = None,
           zip_file: str | Path | None = None, echo: Callable[[str], None] = print,
           session: Any = None) -> Plan:
    """Deploy (or with ``dry_run`` print) every procedure and UDTF; see the module docstring.

    ``zip_file`` also keeps the package there (e.g. to upload it by hand after a dry run).
    """
    plan = Plan.make(target)
    with tempfile.TemporaryDirectory(prefix="terraplan-deploy-") as tmp:
        zip_path = Path(zip_file) if zip_file else Path(tmp) / ddl.ZIP_NAME
        entries = build_zip(zip_path)
        if dry_run:
            shown = zip_path if zip_file else ddl.ZIP_NAME
            echo(plan.script(shown))
            kept = f"written to {zip_path}" if zip_file else "not kept; --zip FILE keeps it"
            echo(f"-- {ddl.ZIP_NAME}: {len(entries)} files, {zip_path.stat().st_size:,} bytes, "
                 f"{kept} (dry run: nothing uploaded or created)")
            return plan
        session = session or open_session(connection)
        for statement in plan.setup:
            session.sql(statement).collect()
        session.file.put(str(zip_path), target.stage_location, auto_compress=False,
                         overwrite=True)
        echo(f"uploaded {ddl.ZIP_NAME} ({len(entries)} files) to {target.stage_location}")
        for statement in plan.functions:
            session.sql(statement).collect()
            echo(statement.splitlines()[0].replace("CREATE OR REPLACE ", "created ")
                 .split("(")[0])
    return plan

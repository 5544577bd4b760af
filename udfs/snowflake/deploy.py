"""``terraplan deploy snowflake``: package, upload and create the procedures and UDTFs.

Steps, in order (``--dry-run`` prints them and changes nothing):

1. build ``terraplan.zip`` with only what the handlers import: ``components/`` (the SQL
   templates under ``components/sql/``, as in the wheel), ``udfs/__init__.py``,
   ``udfs/base.py``, ``udfs/execute.py``, ``udfs/protocol.py``, ``udfs/snowflake/`` and
   the pure-Python dependencies in :data:`BUNDLED` exactly as installed here (the versions the tests
   ran). Entries are sorted and time-stamped 1980-01-01, so the same code gives a
   byte-identical zip;
2. ask the account which of the Anaconda packages its channel offers
   (``INFORMATION_SCHEMA.PACKAGES``): a missing required one stops the deploy with its
   name, a missing geo one (shapely, h3-py) is left out and said;
3. ``CREATE SCHEMA IF NOT EXISTS`` for the procedures and, separately, for the stage
   (``TERRAPLAN_CODE``: a stage in the functions' own schema blocks clone and
   replication), and ``CREATE STAGE IF NOT EXISTS``;
4. ``PUT`` the zip on the stage (uncompressed, overwriting);
5. ``CREATE OR REPLACE PROCEDURE`` per component and ``CREATE OR REPLACE FUNCTION``
   per partition UDTF (:mod:`.ddl`), with the Anaconda-channel package list.

The procedures run ``EXECUTE AS CALLER``: the caller's role needs USAGE on the
database, both schemas and the warehouse, READ on the stage, SELECT on the inputs,
and CREATE TABLE in each output's schema (staging tables and ``TERRAPLAN_RUNS`` live
there). The deploying role needs CREATE SCHEMA (or CREATE PROCEDURE, CREATE FUNCTION
and CREATE STAGE in existing schemas). ``--dry-run`` prints these grants too.

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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from udfs.snowflake import ddl

ROOT = Path(__file__).resolve().parents[2]
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
UDFS_FILES = ("udfs/__init__.py", "udfs/base.py", "udfs/execute.py", "udfs/options.py",
              "udfs/protocol.py")
# Pure-Python packages shipped inside the zip (never resolved from the channel).
BUNDLED = ("sqlglot",)
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
    files += bundled_files()
    return sorted(files)


def bundled_files() -> list[tuple[str, Path]]:
    """(name in the zip, file) of each :data:`BUNDLED` package as installed, and its
    licence; refuses a package with compiled modules (it would not load in Snowflake)."""
    import importlib.metadata
    import importlib.util

    out: list[tuple[str, Path]] = []
    for name in BUNDLED:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"{name} is not installed: terraplan.zip bundles it")
        folder = Path(next(iter(spec.submodule_search_locations)))
        compiled = [p for p in folder.rglob("*") if p.suffix in (".so", ".pyd")]
        if compiled:
            raise RuntimeError(f"{name} at {folder} has compiled modules ({compiled[0].name}); "
                               "install its pure-Python wheel to bundle it")
        out += [(f"{name}/{p.relative_to(folder).as_posix()}", p) for p in folder.rglob("*.py")
                if "__pycache__" not in p.parts]
        dist = importlib.metadata.distribution(name)
        for f in dist.files or ():
            if "licen" in f.name.lower() or "copying" in f.name.lower():
                out.append((f"{name}/{f.name.upper()}.bundled", Path(str(dist.locate_file(f)))))
    return out


def bundled_versions() -> dict[str, str]:
    import importlib.metadata

    return {name: importlib.metadata.version(name) for name in BUNDLED}


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

    def grants(self) -> list[str]:
        """What a caller's role needs (printed, never run: granting is the admin's)."""
        t = self.target
        role = "<CALLER_ROLE>"
        db = [t.database] if t.database else []
        node = lambda *parts: ddl.sql(ddl.table(*parts))  # noqa: E731
        lines = [f"GRANT USAGE ON DATABASE {node(*db)} TO ROLE {role}"] if db else []
        lines += [f"GRANT USAGE ON SCHEMA {node(*db, t.schema)} TO ROLE {role}",
                  f"GRANT USAGE ON SCHEMA {node(*db, t.stage_schema)} TO ROLE {role}",
                  f"GRANT READ ON STAGE {ddl.sql(t.stage_node())} TO ROLE {role}",
                  f"GRANT USAGE ON ALL PROCEDURES IN SCHEMA {node(*db, t.schema)} "
                  f"TO ROLE {role}",
                  f"GRANT USAGE ON ALL FUNCTIONS IN SCHEMA {node(*db, t.schema)} "
                  f"TO ROLE {role}",
                  f"GRANT USAGE ON WAREHOUSE <WAREHOUSE> TO ROLE {role}",
                  f"GRANT SELECT ON TABLE <each input table> TO ROLE {role}",
                  f"GRANT CREATE TABLE ON SCHEMA <each output schema> TO ROLE {role}"]
        return lines

    def put_sql(self, zip_path: Path | str) -> str:
        """The upload as SnowSQL would write it (the deploy itself uses ``session.file.put``)."""
        local = ddl.string_literal("file://" + Path(zip_path).as_posix())
        stage = ddl.string_literal(self.target.stage_location)
        return f"PUT {local} {stage} AUTO_COMPRESS = FALSE OVERWRITE = TRUE"

    def script(self, zip_path: Path | str) -> str:
        packages = ", ".join(self.target.packages)
        bundled = ", ".join(f"{n}=={v}" for n, v in bundled_versions().items())
        header = [f"-- terraplan deploy snowflake: {len(self.functions)} procedures/functions",
                  f"-- Anaconda-channel packages: {packages}",
                  f"-- bundled in {ddl.ZIP_NAME}: {bundled}",
                  f"-- runtime: Python {ddl.RUNTIME_VERSION}; code: {ddl.ZIP_NAME}",
                  "-- 1. which packages the channel offers (a missing geo package is left "
                  "out):",
                  f"--    {ddl.packages_query(ddl.PACKAGES + ddl.GEO_PACKAGES)};"]
        body = [*self.setup, self.put_sql(zip_path), *self.functions]
        grants = ["-- grants a caller's role needs (not run by deploy; the procedures "
                  "EXECUTE AS CALLER):", *(f"--   {g};" for g in self.grants())]
        return ("\n".join(header) + "\n\n" + ";\n\n".join(body) + ";\n\n"
                + "\n".join(grants) + "\n")


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


def available_packages(session: Any, echo: Callable[[str], None]) -> tuple[str, ...]:
    """The package list for this account: every required package, and the geo ones its
    channel offers. A required package missing is an InputError naming it."""
    from components.errors import InputError

    rows = session.sql(ddl.packages_query(ddl.PACKAGES + ddl.GEO_PACKAGES)).collect()
    versions: dict[str, set[str]] = {}
    for r in rows:
        versions.setdefault(str(r[0]).lower(), set()).add(str(r[1]) if len(r) > 1 else "")
    offered = set(versions)
    for package in ddl.PACKAGES:
        name, _, pin = package.partition("==")
        if name in offered and pin not in versions[name]:
            have = ", ".join(sorted(v for v in versions[name] if v)) or "none listed"
            raise InputError(f"the Snowflake Anaconda channel of this account offers {name} "
                             f"{have} for Python {ddl.RUNTIME_VERSION}, not {pin}, the version "
                             "terraplan's runtime test covers (udfs/snowflake/pins.py); pin an "
                             "offered version there and run make .venv-sfruntime and its test",
                             column="packages")
    missing = [ddl.package_name(p) for p in ddl.PACKAGES if ddl.package_name(p) not in offered]
    if missing:
        raise InputError(f"the Snowflake Anaconda channel of this account offers no "
                         f"{', '.join(missing)} (INFORMATION_SCHEMA.PACKAGES); accept the "
                         "Anaconda terms (ORGADMIN: Admin > Billing & Terms) and retry",
                         column="packages")
    geo = tuple(p for p in ddl.GEO_PACKAGES if p in offered)
    for p in ddl.GEO_PACKAGES:
        if p not in offered:
            lost = ("polygon adjacency and territory polygons" if p == "shapely"
                    else "H3 adjacency")
            echo(f"note: the channel offers no {p}: {lost} will not run here")
    return ddl.PACKAGES + geo


def deploy(target: ddl.Target, *, dry_run: bool = False, connection: str | None = None,
           zip_file: str | Path | None = None, echo: Callable[[str], None] = print,
           session: Any = None) -> Plan:
    """Deploy (or with ``dry_run`` print) every procedure and UDTF; see the module docstring.

    ``zip_file`` also keeps the package there (e.g. to upload it by hand after a dry run).
    """
    plan = Plan.make(target)
    if not dry_run:
        session = session or open_session(connection)
        target = replace(target, packages=available_packages(session, echo))
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

"""``terraplan deploy snowflake``: the package, the DDL (golden files, parsed back by
sqlglot) and the deploy steps, with a recording stand-in for the session (no connection).

sqlglot parses CREATE SCHEMA/STAGE/PROCEDURE/FUNCTION (read="snowflake") into ``Create``
nodes; it cannot parse ``PUT`` (a client command; it falls back to a ``Command``) nor a
``CALL`` with an object constant argument (also a ``Command``).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from components import registry
from components.errors import InputError
from tests.golden import assert_golden
from udfs.snowflake import ddl, deploy, partition
from workflows.cli import main

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots" / "snowflake"
TARGET = ddl.Target.parse("analytics", None, None)
USER_CALL = """CALL TERRAPLAN.TERRITORY_BALANCING(
  'GA_COUNTIES', NULL, 'GA_EDGES', 'GA_ASSIGNMENTS', 'GA_TERRITORIES',
  {'territories': 10, 'metrics': ['POPULATION', 'ACCOUNTS'], 'id': 'SCU_ID'});
"""


def golden(name: str, text: str) -> None:
    assert_golden(SNAPSHOTS / name, text)


def _properties(node: exp.Create) -> dict[str, str]:
    out = {}
    for p in node.args["properties"].expressions:
        if isinstance(p, exp.HandlerProperty):
            out["HANDLER"] = p.this.name
        elif isinstance(p, exp.ExecuteAsProperty):
            out["EXECUTE AS"] = p.this.name
        elif isinstance(p, exp.LanguageProperty):
            out["LANGUAGE"] = p.this.name
        elif type(p) is exp.Property:
            out[p.name.upper()] = p.args["value"].sql("snowflake")
    return out


@pytest.mark.parametrize("name", sorted(registry.components()))
def test_procedure_ddl_golden_and_parsed_back(name):
    spec = registry.get(name).spec
    text = ddl.procedure_ddl(spec, TARGET) + ";\n"
    golden(f"procedure/{name}.sql", text)
    node = sqlglot.parse_one(text, read="snowflake")
    assert isinstance(node, exp.Create) and node.kind == "PROCEDURE"
    assert [a.name for a in node.this.expressions] == [
        *[t.name.upper() for t in spec.inputs], *[f"{t.name.upper()}_OUT" for t in spec.outputs],
        "PARAMS"]
    assert [a.args["kind"].sql("snowflake") for a in node.this.expressions][-1] == "VARIANT"
    props = _properties(node)
    assert props["HANDLER"] == f"udfs.snowflake.procedures.{name}"
    assert props["EXECUTE AS"] == "CALLER" and props["LANGUAGE"] == "PYTHON"
    assert props["PACKAGES"] == "(" + ", ".join(f"'{p}'" for p in TARGET.packages) + ")"
    assert "terraplan.zip" in props["IMPORTS"]
    assert node.this.this.sql("snowflake") == f'"ANALYTICS"."TERRAPLAN"."{name.upper()}"'


@pytest.mark.parametrize("name", sorted(n for n, c in registry.components().items()
                                        if partition.eligible(c.spec)))
def test_partition_function_ddl_golden_and_parsed_back(name):
    spec = registry.get(name).spec
    text = ddl.partition_ddl(spec, TARGET) + ";\n"
    golden(f"partition/{name}.sql", text)
    node = sqlglot.parse_one(text, read="snowflake")
    assert isinstance(node, exp.Create) and node.kind == "FUNCTION"
    assert [a.name for a in node.this.expressions] == [n for n, _ in partition.ARGUMENTS]
    returns = node.find(exp.ReturnsProperty)
    assert returns.args.get("is_table")
    assert [c.name for c in returns.this.expressions] == [
        n for n, _ in partition.output_columns(spec)]
    assert _properties(node)["HANDLER"] == f"udfs.snowflake.partition.{name}"
    # the handler named in the DDL exists and is a UDTF class
    assert hasattr(getattr(partition, name), "end_partition")


def test_setup_ddl_golden_and_parsed_back():
    text = ";\n".join(ddl.setup_ddl(TARGET)) + ";\n"
    golden("setup.sql", text)
    kinds = [sqlglot.parse_one(s, read="snowflake").kind for s in ddl.setup_ddl(TARGET)]
    assert kinds == ["SCHEMA", "SCHEMA", "STAGE"]


def test_user_call_example_golden():
    """The README's CALL: kept as text; sqlglot reads it only as an opaque Command."""
    golden("call_territory_balancing.sql", USER_CALL)
    assert isinstance(sqlglot.parse_one(USER_CALL, read="snowflake"), exp.Command)
    arity = len(ddl.procedure_arguments(registry.get("territory_balancing").spec))
    assert USER_CALL.count("'GA_") + USER_CALL.count("NULL") + 1 == arity


def test_target_names_follow_snowflake_rules():
    t = ddl.Target.parse('"My DB"', "plans", "x; DROP TABLE y --")
    assert t.import_path == '@"My DB"."TERRAPLAN_CODE"."x; DROP TABLE y --"/terraplan.zip'
    assert ddl.setup_ddl(t)[0] == 'CREATE SCHEMA IF NOT EXISTS "My DB"."PLANS"'
    with pytest.raises(InputError, match="one name"):
        ddl.Target.parse(None, "a.b", None)


# -- the package ----------------------------------------------------------------------------

def test_zip_holds_only_what_the_handlers_need_and_is_reproducible(tmp_path):
    a, b = tmp_path / "a.zip", tmp_path / "b.zip"
    names = deploy.build_zip(a)
    deploy.build_zip(b)
    assert a.read_bytes() == b.read_bytes()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"components", "udfs", *deploy.BUNDLED}
    assert "sqlglot/__init__.py" in names and "sqlglot/dialects/snowflake.py" in names
    assert not [n for n in names if n.endswith((".so", ".pyd"))]
    udfs = {n for n in names if n.startswith("udfs/")}
    assert {"udfs/__init__.py", "udfs/base.py", "udfs/protocol.py",
            "udfs/snowflake/procedures.py", "udfs/snowflake/partition.py"} <= udfs
    assert not [n for n in udfs if not n.startswith("udfs/snowflake/")
                and n not in deploy.UDFS_FILES]
    assert "components/sql/scu/profile.sql" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def _third_party_imports(zip_path: Path, lazy_too: bool = False) -> set[str]:
    # workflows: only udfs/snowflake/cli.py (the CLI hook, never loaded by a handler)
    local = {"components", "udfs", "workflows", *deploy.BUNDLED}
    stdlib = set(sys.stdlib_module_names)
    found = set()
    with zipfile.ZipFile(zip_path) as zf:
        for name in zf.namelist():
            if not name.endswith(".py") or name.split("/")[0] in deploy.BUNDLED:
                continue
            tree = ast.parse(zf.read(name))
            # imports inside functions are optional extras (shapely, h3), loaded on demand
            lazy = {id(n) for f in ast.walk(tree)
                    if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                    for n in ast.walk(f)}
            for node in ast.walk(tree):
                if lazy_too and isinstance(node, ast.Call) and node.args and getattr(
                        node.func, "id", getattr(node.func, "attr", "")) == "require" and \
                        isinstance(node.args[0], ast.Constant):  # _optional.require("h3")
                    found.add(str(node.args[0].value).split(".")[0])
                if isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    mods = [node.module]
                else:
                    continue
                if id(node) in lazy and not lazy_too:
                    continue
                found.update(m.split(".")[0] for m in mods)
    return found - local - stdlib - {"__future__"}


def test_package_list_matches_the_zipped_imports(tmp_path):
    path = tmp_path / "t.zip"
    deploy.build_zip(path)
    anaconda = {"snowflake": "snowflake-snowpark-python", "numpy": "numpy", "scipy": "scipy",
                "pandas": "pandas"}
    imported = _third_party_imports(path)
    assert imported <= set(anaconda), f"imports without a package: {imported - set(anaconda)}"
    assert {anaconda[m] for m in imported} == {ddl.package_name(p) for p in ddl.PACKAGES}
    # lazily imported too: every module the handlers may load comes from the zip or a package
    geo = {"shapely": "shapely", "h3": "h3-py"}
    lazily = _third_party_imports(path, lazy_too=True) - imported
    # pyosmium reads .osm.pbf files, which only the CLI does: a warehouse procedure gets the
    # way-node table built by sql/roads/ instead, so it needs no package there
    file_readers = {"osmium"}
    assert lazily <= set(geo) | file_readers, \
        f"lazy imports without a package: {lazily - set(geo) - file_readers}"
    assert {geo[m] for m in lazily - file_readers} == set(ddl.GEO_PACKAGES)
    assert "sqlglot" not in ddl.PACKAGES + ddl.GEO_PACKAGES  # bundled, never the channel's


FROM_THE_ZIP = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[1])  # as Snowflake does with IMPORTS: the zip, no checkout
    import udfs.snowflake.procedures as procedures
    import udfs.snowflake.partition as partition
    from snowflake.snowpark import Session
    from snowflake.snowpark.types import StringType, VariantType
    from udfs.snowflake.frames import to_snowpark
    import numpy as np, pandas as pd

    session = Session.builder.config("local_testing", True).create()
    xs, ys = np.meshgrid(np.arange(6.0), np.arange(6.0))
    grid = pd.DataFrame({"ID": [f"u{i}" for i in range(36)], "X": xs.ravel(), "Y": ys.ravel(),
                         "LOAD": np.random.default_rng(0).uniform(4, 8, 36)})
    to_snowpark(session, grid).write.save_as_table("GRID", mode="overwrite")
    params = {"territories": 3, "metrics": ["load"], "max_iterations": 30}
    before = set(sys.modules)
    procedures.territory_balancing(session, "GRID", None, None, "A", "T", params)
    added = sorted(m for m in set(sys.modules) - before
                   if str(getattr(sys.modules[m], "__file__", "")).endswith((".so", ".pyd")))
    session.sproc.register(procedures.territory_balancing, name="TB", return_type=VariantType(),
                           input_types=[StringType()] * 5 + [VariantType()])
    calls = [session.call("TB", "GRID", None, None, "A", "T", params) for _ in range(3)]
    import sqlglot
    print(json.dumps({
        "file": procedures.__file__, "sqlglot": sqlglot.__file__,
        "handlers": sorted(procedures.HANDLERS),
        "solvers": sorted(partition.SOLVERS), "added_extensions": added,
        "statuses": [json.loads(c)["status"] if isinstance(c, str) else c["status"]
                     for c in calls]}))
""")


def test_handlers_run_from_the_zip_alone_and_survive_repeated_calls(tmp_path):
    """The zip on sys.path (no checkout), in a fresh process. Also the scipy-import trap:
    local testing unloads modules first imported during a call, and a compiled (scipy)
    module cannot be loaded twice in a process. So a handler call must import no compiled
    module, and three CALLs of the registered procedure in a row must all succeed."""
    path = tmp_path / ddl.ZIP_NAME
    deploy.build_zip(path)
    done = subprocess.run([sys.executable, "-c", FROM_THE_ZIP, str(path)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": ""})
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["file"].startswith(str(path))
    assert out["sqlglot"].startswith(str(path))  # the bundled sqlglot, not the channel's
    assert out["handlers"] == sorted(registry.components())
    assert "territory_balancing" in out["solvers"]
    assert out["added_extensions"] == []
    assert out["statuses"] == ["succeeded"] * 3


# -- deploy steps ---------------------------------------------------------------------------

class RecordingSession:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.file = self

    offered = (*ddl.PACKAGES, *ddl.GEO_PACKAGES)

    def sql(self, statement: str):
        self.calls.append(("sql", statement))
        self.last = statement
        return self

    def collect(self) -> list:
        if "INFORMATION_SCHEMA.PACKAGES" in self.last:
            return [tuple(p.split("==", 1)) if "==" in p else (p, "1.0") for p in self.offered]
        return []

    def put(self, local: str, stage: str, auto_compress: bool, overwrite: bool) -> None:
        assert zipfile.is_zipfile(local) and not auto_compress and overwrite
        self.calls.append(("put", stage))


def test_deploy_runs_setup_upload_then_ddl_in_order():
    session, lines = RecordingSession(), []
    plan = deploy.deploy(TARGET, session=session, echo=lines.append)
    kinds = [k for k, _ in session.calls]
    assert kinds == ["sql"] * 4 + ["put"] + ["sql"] * len(plan.functions)
    assert session.calls[4] == ("put", '@"ANALYTICS"."TERRAPLAN_CODE"."TERRAPLAN_STAGE"')
    query = ddl.packages_query(ddl.PACKAGES + ddl.GEO_PACKAGES)
    assert [s for k, s in session.calls if k == "sql"] == [query, *plan.setup,
                                                           *plan.functions]
    assert any("TERRITORY_BALANCING" in line for line in lines)
    assert "'shapely', 'h3-py'" in plan.functions[0]


def test_deploy_leaves_out_a_geo_package_the_channel_lacks_and_stops_on_a_core_one():
    session, lines = RecordingSession(), []
    session.offered = (*ddl.PACKAGES, "shapely")
    plan = deploy.deploy(TARGET, session=session, echo=lines.append)
    assert "'shapely')" in plan.functions[0] and "h3-py" not in plan.functions[0]
    assert any("no h3-py: H3 adjacency" in line for line in lines)
    session = RecordingSession()
    session.offered = tuple(p for p in ddl.PACKAGES if not p.startswith("scipy"))
    with pytest.raises(InputError, match="offers no scipy"):
        deploy.deploy(TARGET, session=session, echo=lines.append)
    assert [k for k, _ in session.calls] == ["sql"]  # nothing created
    session = RecordingSession()  # the channel has numpy, but not the pinned version
    session.offered = tuple("numpy==2.1.3" if p.startswith("numpy==") else p
                            for p in (*ddl.PACKAGES, *ddl.GEO_PACKAGES))
    with pytest.raises(InputError, match=r"offers numpy 2.1.3 for Python 3.11, not 2.0.2"):
        deploy.deploy(TARGET, session=session, echo=lines.append)


def test_stage_is_in_its_own_schema():
    assert TARGET.stage_location == '@"ANALYTICS"."TERRAPLAN_CODE"."TERRAPLAN_STAGE"'
    assert all('"TERRAPLAN_CODE"' in f.split("IMPORTS")[1].splitlines()[0]
               for f in deploy.Plan.make(TARGET).functions)
    with pytest.raises(InputError, match="cannot clone or replicate"):
        ddl.Target.parse("analytics", "plans", None, "plans")


def test_cli_dry_run_prints_sql_and_packages_and_connects_to_nothing(capsys, monkeypatch):
    monkeypatch.setattr(deploy, "open_session", lambda *_: pytest.fail("dry run connected"))
    monkeypatch.setenv("SNOWFLAKE_PASSWORD", "s3cret-never-printed")
    assert main(["deploy", "snowflake", "--dry-run", "--database", "analytics",
                 "--schema", "plans"]) == 0
    out = capsys.readouterr().out
    assert "Anaconda-channel packages: " + ", ".join(ddl.PACKAGES) in out
    assert 'CREATE OR REPLACE PROCEDURE "ANALYTICS"."PLANS"."TERRITORY_BALANCING"(' in out
    assert 'CREATE OR REPLACE FUNCTION "ANALYTICS"."PLANS"."TERRITORY_BALANCING_BY_PARTITION"' \
        in out
    assert "PUT 'file://terraplan.zip' '@\"ANALYTICS\".\"TERRAPLAN_CODE\".\"TERRAPLAN_STAGE\"'" \
        in out
    assert "bundled in terraplan.zip: sqlglot==" in out
    assert "INFORMATION_SCHEMA.PACKAGES" in out
    assert 'GRANT READ ON STAGE "ANALYTICS"."TERRAPLAN_CODE"."TERRAPLAN_STAGE"' in out
    assert 'GRANT CREATE TABLE ON SCHEMA <each output schema>' in out
    assert "s3cret" not in out
    statements = [s for s in out.split(";\n\n") if s.strip().startswith("CREATE")]
    assert all(isinstance(sqlglot.parse_one(s, read="snowflake"), exp.Create)
               for s in statements)


def test_cli_keeps_the_zip_when_asked(tmp_path, capsys):
    target = tmp_path / "pkg.zip"
    assert main(["deploy", "snowflake", "--dry-run", "--zip", str(target)]) == 0
    assert zipfile.is_zipfile(target)
    assert f"file://{target.as_posix()}" in capsys.readouterr().out


def test_connection_options_come_from_the_users_settings():
    assert deploy.connection_options("dev", {"SNOWFLAKE_ACCOUNT": "x"}) == {
        "connection_name": "dev"}
    env = {"SNOWFLAKE_ACCOUNT": "acme-xy123", "SNOWFLAKE_USER": "me",
           "SNOWFLAKE_PASSWORD": "p", "SNOWFLAKE_WAREHOUSE": "wh", "UNRELATED": "1"}
    assert deploy.connection_options(None, env) == {
        "account": "acme-xy123", "user": "me", "password": "p", "warehouse": "wh"}
    assert deploy.connection_options(None, {}) == {}  # Snowpark: connections.toml default

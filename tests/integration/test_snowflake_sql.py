"""The SQL the Snowflake adapter generates, executed on fakesnow; names and case rules.

fakesnow runs tables, DML and MERGE but no PROCEDURE, CALL or ``ALTER TABLE ... SWAP
WITH`` (its parser rejects SWAP). So:

* the run-log DDL/INSERT, the transactional publish, RENAME, DROP and the SCU profile
  (``sql/scu/profile`` rendered for snowflake) run on fakesnow as generated;
* a whole procedure call on the *account* path runs against :class:`FakeSnowpark`, a
  small stand-in for the Snowpark calls the handlers make, backed by fakesnow. Only
  SWAP is emulated there (as three renames); its text is checked by sqlglot.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
import sqlglot
from sqlglot import exp

fakesnow = pytest.importorskip("fakesnow")
import snowflake.connector  # noqa: E402
from snowflake.snowpark.exceptions import SnowparkSQLException  # noqa: E402
from snowflake.snowpark.types import (  # noqa: E402
    BooleanType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
    VariantType,
)

from components import registry  # noqa: E402
from components.errors import InputError  # noqa: E402
from tests.conftest import DATA, grid_edges, grid_scus  # noqa: E402
from udfs.snowflake import names, procedures, publish, runlog  # noqa: E402
from udfs.snowflake.frames import column_values  # noqa: E402
from udfs.snowflake.names import parse_table, split_name, stage_for  # noqa: E402
from udfs.snowflake.profile import profile_sql  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")
ODD = "x; DROP TABLE y --"


@pytest.fixture
def cursor():
    with fakesnow.patch():
        con = snowflake.connector.connect(database="DB", schema="S", paramstyle="qmark")
        cur = con.cursor()
        cur.execute('CREATE TABLE "Y" ("KEEP" INT)')
        cur.execute('INSERT INTO "Y" VALUES (1), (2)')
        yield cur
        # nothing a test ran dropped or changed the bystander table
        assert cur.execute('SELECT "KEEP" FROM "Y" ORDER BY 1').fetchall() == [(1,), (2,)]
        con.close()


def rows(cur, table: exp.Table | str) -> pd.DataFrame:
    name = table if isinstance(table, str) else names.sql(table)
    return cur.execute(f"SELECT * FROM {name}").fetch_pandas_all()


# -- names ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, parts", [
    ("ga_counties", ["GA_COUNTIES"]),
    ("analytics.public.Ga_Counties", ["ANALYTICS", "PUBLIC", "GA_COUNTIES"]),
    ('"Mixed Case"."t"', ["Mixed Case", "t"]),
    ('"a""b.c"', ['a"b.c']),
    (ODD, [ODD]),
    ("db.x; DROP TABLE y --", ["DB", ODD]),
    ("  spaced  ", ["SPACED"]),
])
def test_split_name_follows_snowflake_resolution(text, parts):
    assert split_name(text) == parts


@pytest.mark.parametrize("text, message", [
    ("", "non-empty"), ("a..b", "empty part"), ("a.", "ends with a dot"),
    ('"open', "unclosed"), ('"a"b', "expected '.'"), ("a.b.c.d", "4 parts"),
])
def test_bad_names_are_input_errors(text, message):
    with pytest.raises(InputError, match=message):
        split_name(text)


def test_names_render_as_quoted_identifiers_only():
    t = parse_table(f"db.{ODD}")
    assert names.sql(t) == '"DB"."x; DROP TABLE y --"'
    parsed = sqlglot.parse_one(f"SELECT * FROM {names.sql(t)}", read="snowflake")
    assert [tb.name for tb in parsed.find_all(exp.Table)] == [ODD]  # one table, no statement
    assert names.sql(stage_for(t, "20240101T000000Z-ab12")).endswith(
        '"x; DROP TABLE y --__TERRAPLAN_STAGE_20240101T000000Z_AB12"')


def test_column_case_rules():
    df = pd.DataFrame(columns=["ID", "LON", "Mixed", "population", "X", "x"])
    assert list(names.to_component_columns(df)) == ["id", "lon", "Mixed", "population", "X", "x"]
    out = pd.DataFrame(columns=["id", "territory", "Mixed", "has space", "a", "A"])
    assert list(names.to_warehouse_columns(out)) == ["ID", "TERRITORY", "Mixed", "has space",
                                                     "a", "A"]
    spec = registry.get("territory_balancing").spec
    frames = [pd.DataFrame(columns=["scu_id", "population", "Mixed"])]
    got = names.resolve_column_params(
        spec, {"id": "SCU_ID", "metrics": "POPULATION,Mixed", "territories": 3,
               "metric_tolerance": ["Population=0.1"]}, frames)
    assert got == {"id": "scu_id", "metrics": ["population", "Mixed"], "territories": 3,
                   "metric_tolerance": ["population=0.1"]}


# -- run log --------------------------------------------------------------------------------

def _row(status="succeeded", error=None):
    t = datetime(2024, 5, 1, 12, 0, 0)
    return runlog.RunRow(run_id="r1", component="territory_balancing", status=status,
                         params={"metrics": ["POPULATION"], "note": "it's \\ ok"},
                         inputs={"scus": ODD}, outputs={"assignments": "A"},
                         report={"gap": 0.01} if error is None else None, error=error,
                         started_at=t, finished_at=t)


def test_run_log_sql_runs_on_fakesnow(cursor):
    log = parse_table(f"{runlog.RUN_LOG_NAME}")
    for row in (_row(), _row("failed", "column 'x' not found; it's \\ bad -- '); DROP TABLE y")):
        cursor.execute(runlog.create_sql(log))
        for statement in runlog.grow_sql(log):
            cursor.execute(statement)
        cursor.execute(runlog.insert_sql(log), runlog.bind_values(row))
    got = rows(cursor, log)
    assert list(got.columns) == list(runlog.COLUMNS)
    assert list(got["STATUS"]) == ["succeeded", "failed"]
    assert json.loads(got["PARAMS"][0]) == {"metrics": ["POPULATION"], "note": "it's \\ ok"}
    assert json.loads(got["INPUTS"][1]) == {"scus": ODD}
    assert got["ERROR"][1].endswith("'); DROP TABLE y") and pd.isna(got["REPORT"][1])
    typed = cursor.execute(f'SELECT "PARAMS":metrics[0]::VARCHAR FROM {names.sql(log)}')
    assert typed.fetchall()[0][0] == "POPULATION"  # a real VARIANT, not text


def test_an_older_run_log_grows_the_new_columns(cursor):
    log = parse_table("OLD_RUNS")
    old = [c for c in runlog.COLUMNS if c not in ("WORKFLOW", "STEP", "TRIGGER", "FINGERPRINT")]
    cursor.execute(f"CREATE TABLE {names.sql(log)} ("
                   + ", ".join(f'"{c}" {runlog.COLUMNS[c]}' for c in old) + ")")
    cursor.execute(f'INSERT INTO {names.sql(log)} ("RUN_ID", "STATUS") SELECT \'r0\', \'failed\'')
    for statement in runlog.grow_sql(log):
        cursor.execute(statement)
    cursor.execute(runlog.insert_sql(log), runlog.bind_values(_row()))
    got = rows(cursor, log)
    assert sorted(got.columns) == sorted(runlog.COLUMNS)
    assert list(got["RUN_ID"]) == ["r0", "r1"]


# -- publish statements -----------------------------------------------------------------------

def _table(cur, t: exp.Table, values: list[tuple[str, str]]) -> None:
    cur.execute(f"CREATE OR REPLACE TABLE {names.sql(t)} (\"RUN_ID\" VARCHAR, \"ID\" VARCHAR)")
    cur.executemany(f"INSERT INTO {names.sql(t)} (\"RUN_ID\", \"ID\") SELECT ?, ?", values)


def test_transaction_publish_replaces_every_output(cursor):
    a, b = parse_table(ODD), parse_table("S.ASSIGNMENTS")
    sa, sb = stage_for(a, "r2"), stage_for(b, "r2")
    _table(cursor, a, [("r1", "old")])
    _table(cursor, b, [("r1", "old")])
    _table(cursor, sa, [("r2", "new1"), ("r2", "new2")])
    _table(cursor, sb, [("r2", "new")])
    for statement in publish.transaction_statements([(a, sa, ["RUN_ID", "ID"]),
                                                     (b, sb, ["RUN_ID", "ID"])]):
        cursor.execute(statement)
    assert rows(cursor, a)["ID"].tolist() == ["new1", "new2"]
    assert rows(cursor, b)["RUN_ID"].tolist() == ["r2"]


def test_failed_transaction_rolls_back_every_output(cursor):
    a, b = parse_table("A"), parse_table("B")
    sa = stage_for(a, "r2")
    _table(cursor, a, [("r1", "old")])
    _table(cursor, b, [("r1", "old")])
    _table(cursor, sa, [("r2", "new")])
    statements = publish.transaction_statements([(a, sa, ["RUN_ID", "ID"]),
                                                 (b, stage_for(b, "r2"), ["RUN_ID", "ID"])])
    with pytest.raises(snowflake.connector.errors.ProgrammingError):
        for statement in statements:  # B's stage is missing: its INSERT fails mid-way
            cursor.execute(statement)
    cursor.execute("ROLLBACK")
    assert rows(cursor, a)["ID"].tolist() == ["old"]
    assert rows(cursor, b)["ID"].tolist() == ["old"]


def test_rename_and_drop_run_and_swap_parses(cursor):
    target = parse_table(ODD)
    stage = stage_for(target, "r3")
    _table(cursor, stage, [("r3", "new")])
    cursor.execute(publish.rename_sql(stage, target))
    assert rows(cursor, target)["ID"].tolist() == ["new"]
    cursor.execute(publish.drop_sql(stage))  # IF EXISTS: the stage is gone already
    cursor.execute(publish.drop_sql(target))
    swap = sqlglot.parse_one(publish.swap_sql(stage, target), read="snowflake")
    assert isinstance(swap, exp.Alter)
    assert swap.this.name == stage.name and swap.args["actions"][0].this.name == ODD


# -- the SCU profile --------------------------------------------------------------------------

def test_profile_template_rendered_for_snowflake_runs_on_fakesnow(cursor):
    source = parse_table(ODD)
    cursor.execute(f"CREATE TABLE {names.sql(source)} (\"SCU_ID\" VARCHAR, \"LON\" DOUBLE, "
                   "\"LAT\" DOUBLE, \"POPULATION\" DOUBLE, \"Accounts\" DOUBLE)")
    cursor.executemany(f"INSERT INTO {names.sql(source)} SELECT ?, ?, ?, ?, ?", [
        ["a", -84.0, 33.0, 10.0, 1.0], ["a", -84.1, 33.1, None, 2.0],
        [None, 200.0, 33.0, -5.0, None], ["b", None, 30.0, 1.0, -1.0]])
    columns = ["SCU_ID", "LON", "LAT", "POPULATION", "Accounts"]
    query = profile_sql(source, columns, {"id": "scu_id", "metrics": ["population",
                                                                       "Accounts"]})
    assert '"x; DROP TABLE y --"' in query and '"POPULATION"' in query
    cursor.execute(query.rstrip().rstrip(";"))
    got = dict(zip([d.name.lower() for d in cursor.description], cursor.fetchone(), strict=True))
    assert got == {"n_rows": 4, "null_ids": 1, "duplicate_ids": 1, "null_coordinates": 1,
                   "coordinates_out_of_range": 1, "null__population": 1, "null__accounts": 1,
                   "negative__population": 1, "negative__accounts": 1}
    assert profile_sql(source, columns, {"id": "scu_id", "metrics": ["nope"]}) is None


# -- a whole call on the account path, against Snowpark calls backed by fakesnow --------------

_SQL_TYPES = {StringType: "VARCHAR", DoubleType: "DOUBLE", LongType: "BIGINT",
              BooleanType: "BOOLEAN", TimestampType: "TIMESTAMP_NTZ", VariantType: "VARIANT"}


def _ident(snowpark_name: str) -> str:
    return snowpark_name if snowpark_name.startswith('"') else f'"{snowpark_name}"'


class _Field:
    def __init__(self, name: str, code: int) -> None:
        stored = re.fullmatch(r"[A-Z_][A-Z0-9_$]*", name)
        self.name = name if stored else '"' + name.replace('"', '""') + '"'
        self.datatype = type(f"Code{code}", (), {})()


class _Row(dict):
    def as_dict(self) -> dict:
        return dict(self)


class _Result:
    def __init__(self, rows: list[_Row]) -> None:
        self.rows = rows

    def collect(self) -> list[_Row]:
        return self.rows


class _Frame:
    def __init__(self, session: FakeSnowpark, rows=None, schema=None, name=None) -> None:
        self.session, self.rows, self.struct, self.name = session, rows, schema, name

    @property
    def write(self) -> _Frame:
        return self

    @property
    def schema(self):
        cur = self.session.execute(f"SELECT * FROM {self.name} LIMIT 0")
        return type("Schema", (), {"fields": [_Field(d.name, d.type_code)
                                              for d in cur.description]})()

    def to_pandas(self) -> pd.DataFrame:
        return self.session.execute(f"SELECT * FROM {self.name}").fetch_pandas_all()

    def save_as_table(self, name: str, mode: str) -> None:
        # Snowpark would put a DataFrame of more than 512 cells in an unqualified temporary
        # table in the caller's current schema first: outputs must go through write_pandas
        assert "TERRAPLAN_STAGE" not in name, "staged through create_dataframe"
        cols = [(_ident(f.name), _SQL_TYPES[type(f.datatype)]) for f in self.struct.fields]
        ddl = ", ".join(f"{c} {t}" for c, t in cols)
        create = "CREATE OR REPLACE TABLE" if mode == "overwrite" else \
            "CREATE TABLE IF NOT EXISTS"
        self.session.execute(f"{create} {name} ({ddl})")
        marks = ", ".join("PARSE_JSON(?)" if t == "VARIANT" else "?" for _, t in cols)
        values = [[json.dumps(v) if t == "VARIANT" and v is not None else v
                   for v, (_, t) in zip(r, cols, strict=True)] for r in self.rows]
        if values:
            self.session.cursor.executemany(
                f"INSERT INTO {name} ({', '.join(c for c, _ in cols)}) SELECT {marks}", values)


class FakeSnowpark:
    """The Snowpark calls the handlers make (sql, table, create_dataframe) on fakesnow."""

    def __init__(self, cursor) -> None:
        self.cursor, self.statements = cursor, []

    def execute(self, query: str, params=None):
        try:
            return self.cursor.execute(query, params)
        except snowflake.connector.errors.ProgrammingError as err:
            raise SnowparkSQLException(str(err)) from err

    def sql(self, query: str, params=None) -> _Frame:
        self.statements.append(query)
        node = sqlglot.parse_one(query, read="snowflake")
        actions = node.args.get("actions") or [] if isinstance(node, exp.Alter) else []
        if actions and isinstance(actions[0], exp.SwapTable):  # fakesnow cannot parse SWAP
            a, b = names.sql(node.this), names.sql(actions[0].this)
            tmp = names.sql(names.sibling(actions[0].this, "__SWAP_TMP"))
            for x, y in ((a, tmp), (b, a), (tmp, b)):
                self.execute(f"ALTER TABLE {x} RENAME TO {y}")
            return _Result([])
        cur = self.execute(query, params)
        return _Result([_Row(zip([d.name for d in cur.description], r, strict=True))
                        for r in (cur.fetchall() if cur.description else [])])

    def table(self, name: str) -> _Frame:
        return _Frame(self, name=name)

    def create_dataframe(self, rows, schema) -> _Frame:
        return _Frame(self, rows=rows, schema=schema)

    def write_pandas(self, df: pd.DataFrame, table_name: str, **kwargs) -> None:
        """Snowpark's Session.write_pandas calls the connector's, which fakesnow provides."""
        import snowflake.connector.pandas_tools as pandas_tools

        self.__dict__.setdefault("write_pandas_calls", []).append(
            {"table": table_name, "rows": len(df), **kwargs})
        assert kwargs["quote_identifiers"] and kwargs["auto_create_table"]
        # fakesnow's stand-in pastes names; quote_identifiers=True quotes them on an account
        quote = lambda n: None if n is None else '"' + n.replace('"', '""') + '"'  # noqa: E731
        options = {**kwargs, "database": quote(kwargs.get("database")),
                   "schema": quote(kwargs.get("schema"))}
        pandas_tools.write_pandas(self.cursor._conn, df, quote(table_name), **options)


def test_account_path_end_to_end_on_fakesnow(cursor):
    session = FakeSnowpark(cursor)
    assert procedures.runs_sql(session)
    session.create_dataframe(*_frame(grid_scus())).save_as_table('"GRID"', mode="overwrite")
    session.create_dataframe(*_frame(grid_edges())).save_as_table('"E"', mode="overwrite")
    params = {"territories": 4, "metrics": ["LOAD"], "max_iterations": 60}
    direct = registry.get("territory_balancing").run(grid_scus(), edges=grid_edges(),
                                                     territories=4, metrics=["load"],
                                                     max_iterations=60)
    first = procedures.territory_balancing(session, "GRID", None, "E", "S.OUT_A", ODD, params)
    assert first["write"] == "swap"  # new tables: renamed into place
    assert first["report"]["input_profile"]["n_rows"] == 36
    assert first["report"]["input_profile"]["null__load"] == 0
    got = rows(cursor, '"S"."OUT_A"')
    pd.testing.assert_frame_equal(got.drop(columns="RUN_ID").rename(columns=str.lower),
                                  direct.tables["assignments"], check_dtype=False)

    second = procedures.territory_balancing(session, "GRID", None, "E", "S.OUT_A", ODD, params)
    assert second["write"] == "transaction"  # same columns: one DML transaction
    assert set(rows(cursor, '"S"."OUT_A"')["RUN_ID"]) == {second["run_id"]}
    assert set(rows(cursor, f'"{ODD}"')["RUN_ID"]) == {second["run_id"]}

    third = procedures.territory_balancing(session, "GRID", None, "E", "S.OUT_A", ODD,
                                           {**params, "current": "load"})  # new columns
    assert third["write"] == "swap"
    assert "MOVED" in rows(cursor, '"S"."OUT_A"').columns

    with pytest.raises(InputError, match="column 'nope' not found"):
        procedures.territory_balancing(session, "GRID", None, "E", "S.OUT_A", ODD,
                                       {"territories": 4, "metrics": ["nope"]})
    assert set(rows(cursor, '"S"."OUT_A"')["RUN_ID"]) == {third["run_id"]}

    log = rows(cursor, '"S"."TERRAPLAN_RUNS"')
    assert list(log["STATUS"]) == ["succeeded"] * 3 + ["failed"]
    leftover = cursor.execute("SHOW TABLES").fetchall()
    assert not [r for r in leftover if "TERRAPLAN_STAGE" in r[1]]  # stages dropped
    swaps = [s for s in session.statements if " SWAP WITH " in s]
    assert swaps and all(sqlglot.parse_one(s, read="snowflake") for s in swaps)


def test_account_path_refuses_an_empty_scu_table_before_reading(cursor):
    session = FakeSnowpark(cursor)
    session.create_dataframe(*_frame(grid_scus().head(0))).save_as_table('"EMPTY"',
                                                                          mode="overwrite")
    with pytest.raises(InputError, match="is empty"):
        procedures.territory_balancing(session, "EMPTY", None, None, "A", None,
                                       {"territories": 2, "metrics": ["load"]})
    assert rows(cursor, '"TERRAPLAN_RUNS"')["STATUS"].tolist() == ["failed"]


def test_georgia_profile_through_the_account_path(cursor):
    session = FakeSnowpark(cursor)
    scus = pd.read_csv(DATA / "scus.csv", dtype={"scu_id": str}).drop(columns="wkt")
    session.create_dataframe(*_frame(scus)).save_as_table('"GA"', mode="overwrite")
    out = procedures.territory_balancing(session, "GA", None, None, "GA_A", None, {
        "territories": 5, "metrics": ["population"], "id": "scu_id", "max_iterations": 20})
    assert out["report"]["input_profile"]["n_rows"] == 159
    assert out["report"]["input_profile"]["coordinates_out_of_range"] == 0


def _frame(df: pd.DataFrame):
    """(rows, schema) as the adapter builds them, with Snowflake's stored upper-case names."""
    df = df.rename(columns=str.upper)
    typed = [column_values(df[c]) for c in df.columns]
    schema = StructType([StructField(c, t) for c, (t, _) in zip(df.columns, typed, strict=True)])
    data = [list(r) for r in zip(*[v for _, v in typed], strict=True)]
    return data, schema


# -- issue #12: the write path at real sizes, staging and cleanup ---------------------------

def _big_output(n: int, run_id: str) -> pd.DataFrame:
    return pd.DataFrame({"RUN_ID": run_id, "ID": [f"u{i}" for i in range(n)],
                         "TERRITORY": [f"t{i % 97}" for i in range(n)],
                         "DISTANCE": np.arange(n) * 0.25,
                         "MOVED": np.arange(n) % 3 == 0,
                         "RANK": pd.array([i if i % 10 else None for i in range(n)],
                                          dtype="Int64")})


def test_100k_row_outputs_are_staged_with_write_pandas_in_the_targets_schema(cursor):
    cursor.execute('CREATE SCHEMA "DB"."OUTS"')
    cursor.execute('USE SCHEMA "DB"."S"')  # CREATE SCHEMA made OUTS current
    session = FakeSnowpark(cursor)
    n = 100_000
    targets = [parse_table("DB.OUTS.BIG_A"), parse_table("DB.OUTS.BIG_B")]
    outs = [publish.Output(name, t, _big_output(n, "run-1"))
            for name, t in zip(("a", "b"), targets, strict=True)]
    assert publish.write_account(session, outs, "run-1") == "swap"
    calls = session.write_pandas_calls
    assert [(c["database"], c["schema"], c["table_type"], c["rows"]) for c in calls] == [
        ("DB", "OUTS", "transient", n)] * 2
    assert all(c["table"].startswith(t.name + "__TERRAPLAN_STAGE_")
               for c, t in zip(calls, targets, strict=True))
    for target in targets:
        got = rows(cursor, target)
        assert len(got) == n and got["DISTANCE"].sum() == pytest.approx(0.25 * n * (n - 1) / 2)
        assert got["MOVED"].sum() == len(range(0, n, 3))
        assert got["RANK"].isna().sum() == n // 10
    # the re-run with the same columns is one transaction, still 100k rows each
    outs = [publish.Output(o.name, o.target, _big_output(n, "run-2")) for o in outs]
    assert publish.write_account(session, outs, "run-2") == "transaction"
    assert set(rows(cursor, targets[1])["RUN_ID"]) == {"run-2"}
    tables = [r[1] for r in cursor.execute('SHOW TABLES IN SCHEMA "DB"."OUTS"').fetchall()]
    assert sorted(tables) == ["BIG_A", "BIG_B"]


class _DropRefused(FakeSnowpark):
    def sql(self, query: str, params=None):
        if query.startswith("DROP TABLE"):
            raise SnowparkSQLException("Insufficient privileges to operate on table")
        return super().sql(query, params)


def test_a_failed_cleanup_is_never_swallowed(cursor):
    session = _DropRefused(cursor)
    out = publish.Output("a", parse_table("S.CLEAN"), _big_output(600, "run-1"))
    with pytest.raises(publish.CleanupError, match=r"outputs were written.*"
                       r"CLEAN__TERRAPLAN_STAGE_RUN_1.*Insufficient privileges"):
        publish.write_account(session, [out], "run-1")
    assert len(rows(cursor, '"S"."CLEAN"')) == 600  # written, and the leftover named

    class _Both(_DropRefused):
        def write_pandas(self, df, table_name, **kwargs):
            super().write_pandas(df, table_name, **kwargs)
            raise SnowparkSQLException("the warehouse was suspended")

    with pytest.raises(SnowparkSQLException, match="suspended") as err:
        publish.write_account(_Both(cursor), [out], "run-2")
    assert any("could not drop" in note for note in err.value.__notes__)


def test_statements_that_lose_a_table_name_fail_when_built():
    t = parse_table("DB.S.T")
    assert publish.drop_sql(t) == 'DROP TABLE IF EXISTS "DB"."S"."T"'
    with pytest.raises(RuntimeError, match=r'without "DB"\."S"\."T"'):
        publish._checked("DROP TABLE IF EXISTS", t)  # what sqlglot <= 30.10 rendered

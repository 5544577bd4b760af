"""Backends for the cross-backend scenario tests (tests/integration/test_backends.py).

Each backend is a small class in the ibis manner: a ``name``, a test config
(tolerances, report keys it adds) and three steps, ``load`` (put the input
tables where that backend reads them), ``call`` (run the component the way a
user of that backend does) and ``read`` (get the output tables and the report
back as pandas, with the backend's own column conventions undone).

Scenarios are data files in tests/scenarios/ (one per component): inputs
(bundled CSVs or generated tables), parameters, sort keys per output and
invariants. :func:`load_cases` reads them; :func:`build_inputs` makes the tables.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import numpy as np
import pandas as pd
import requests
import sqlglot
import yaml
from sqlglot import exp

from components import registry
from components.result import jsonable
from tests.conftest import ROOT, grid_edges, grid_scus

SCENARIOS = ROOT / "tests" / "scenarios"
ODD = "x; DROP TABLE y --"  # a table name that would be an injection if pasted into SQL
VICTIM = "y"


def volatile(key: str) -> bool:
    """Report entries that time the run (``seconds``, ``heuristic_seconds``, ...) rather
    than describe the answer."""
    return key == "seconds" or key.endswith("_seconds")


class ErrorReply(Exception):
    """A backend answered ``{"error": ...}`` instead of result tables."""


# -- scenarios --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    component: str
    name: str
    inputs: dict[str, dict[str, Any]]
    params: dict[str, Any]
    keys: dict[str, list[str]]
    expect: dict[str, Any]
    path: Path

    @property
    def id(self) -> str:
        return f"{self.component}-{self.name}"

    def mismatch(self) -> str | None:
        """Why the component's spec cannot run this scenario (None: it can)."""
        try:
            spec = registry.get(self.component).spec
        except Exception as err:  # the component is being written: say why, do not crash
            return f"{self.component} is not importable: {type(err).__name__}: {err}"
        inputs = {t.name for t in spec.inputs}
        params = {p.name for p in spec.params}
        outputs = {t.name for t in spec.outputs}
        for what, named, known in (("input", self.inputs, inputs), ("param", self.params, params),
                                   ("output", self.keys, outputs)):
            unknown = sorted(set(named) - known)
            if unknown:
                return (f"{self.path.name}: {what}(s) {unknown} not in the {self.component} "
                        f"spec ({', '.join(sorted(known))}); update the scenario")
        return None


@dataclass(frozen=True)
class BadCase:
    """A case with parameter overrides that every backend must refuse with the same text."""

    name: str
    case: Case
    error: str  # a class in components.errors: the category every raising backend keeps

    @property
    def id(self) -> str:
        return f"{self.case.component}-{self.name}"


def _documents() -> list[tuple[Path, dict[str, Any]]]:
    return [(p, yaml.safe_load(p.read_text(encoding="utf-8")))
            for p in sorted(SCENARIOS.glob("*.yaml"))]


def _case(path: Path, component: str, name: str, case: dict[str, Any]) -> Case:
    return Case(component, name, case["inputs"], case.get("params", {}), case["keys"],
                case.get("expect", {}), path)


def load_cases() -> list[Case]:
    return [_case(path, doc["component"], name, case)
            for path, doc in _documents() for name, case in doc["cases"].items()]


def load_bad_cases() -> list[BadCase]:
    out = []
    for path, doc in _documents():
        for name, bad in (doc.get("errors") or {}).items():
            base = doc["cases"][bad["case"]]
            case = _case(path, doc["component"], bad["case"],
                         {**base, "params": {**base.get("params", {}), **bad["params"]}})
            out.append(BadCase(name, case, bad["error"]))
    return out


def _points(n: int, seed: int, prefix: str, weight: str | None = None,
            capacity: float | None = None, extent: float = 100.0) -> pd.DataFrame:
    """Uniform planar points at full float precision (transport must not round them)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"id": [f"{prefix}{i:03d}" for i in range(n)],
                       "x": rng.uniform(0, extent, n), "y": rng.uniform(0, extent, n)})
    if weight:
        df[weight] = rng.integers(1, 10, n).astype(float)
    if capacity is not None:
        df["capacity"] = float(capacity)
    return df


def _csv(csv: str, ids: list[str] = (), drop: list[str] = (), head: int | None = None
         ) -> pd.DataFrame:
    df = pd.read_csv(ROOT / csv, dtype={c: str for c in ids}).drop(columns=list(drop))
    return df.head(head).reset_index(drop=True) if head else df


GENERATORS: dict[str, Callable[..., pd.DataFrame]] = {
    "grid": lambda nx, ny, seed: grid_scus(nx, ny, seed),
    "grid_edges": lambda nx, ny: grid_edges(nx, ny),
    "points": _points,
}


def build_inputs(case: Case) -> dict[str, pd.DataFrame]:
    """The case's input tables, keyed by the component's input names."""
    out = {}
    for name, source in case.inputs.items():
        source = dict(source)
        if "csv" in source:
            out[name] = _csv(**source)
        elif "rows" in source:
            out[name] = pd.DataFrame.from_records(source["rows"])
        else:
            out[name] = GENERATORS[source.pop("generate")](**source)
    return out


# -- results ----------------------------------------------------------------------------------

@dataclass
class Outcome:
    tables: dict[str, pd.DataFrame]
    report: dict[str, Any]


def unpack_document(doc: Mapping[str, Any]) -> Outcome:
    if "error" in doc:
        raise ErrorReply(doc["error"])
    return Outcome({n: pd.DataFrame.from_records(rows) for n, rows in doc["tables"].items()},
                   dict(doc["report"]))


def _quoted(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


# -- backends ---------------------------------------------------------------------------------

class Backend:
    """One way of running a component; subclasses fill in load, call and read."""

    name: ClassVar[str]
    rtol: ClassVar[float] = 1e-9  # relative tolerance on floats against the direct answer
    report_extra: ClassVar[frozenset[str]] = frozenset()  # report keys this path adds
    takes_table_names: ClassVar[bool] = False
    # False: errors come back as {"error": text} (raised here as ErrorReply), so the
    # category (bad input vs infeasible) is not visible to the caller
    raises_typed_errors: ClassVar[bool] = True

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._stack = ExitStack()

    def close(self) -> None:
        self._stack.close()

    def load(self, case: Case, inputs: Mapping[str, pd.DataFrame],
             names: Mapping[str, str]) -> Any:
        raise NotImplementedError

    def call(self, case: Case, loaded: Any, outputs: Mapping[str, str]) -> Any:
        raise NotImplementedError

    def read(self, case: Case, called: Any, outputs: Mapping[str, str]) -> Outcome:
        raise NotImplementedError

    def run(self, case: Case, inputs: Mapping[str, pd.DataFrame],
            names: Mapping[str, str] | None = None,
            outputs: Mapping[str, str] | None = None) -> Outcome:
        """``names``/``outputs``: table names per input/output (default: from the case id)."""
        stem = case.id.replace("-", "__")
        names = names or {n: f"{stem}__in_{n}" for n in inputs}
        outputs = outputs or {t.name: f"{stem}__out_{t.name}"
                              for t in registry.get(case.component).spec.outputs}
        loaded = self.load(case, inputs, names)
        called = self.call(case, loaded, outputs)
        return self.read(case, called, outputs)

    def read_table(self, name: str) -> pd.DataFrame:
        """A table as stored (backends that take table names)."""
        raise NotImplementedError


class Direct(Backend):
    """The component's Python entry point: the reference answer."""

    name = "direct"

    def load(self, case, inputs, names):
        return inputs

    def call(self, case, loaded, outputs):
        spec = registry.get(case.component).spec
        first = spec.inputs[0].name
        others = {k: v for k, v in loaded.items() if k != first}
        return registry.get(case.component).run(loaded[first].copy(), **others, **case.params)

    def read(self, case, called, outputs):
        return Outcome({n: df.reset_index(drop=True) for n, df in called.tables.items()},
                       jsonable(called.report))


class DuckDBSQL(Backend):
    """``terraplan_<component>(...)`` in DuckDB SQL: tables packed with to_json(list(t)),
    the answer unpacked with from_json/unnest back into rows, all in SQL."""

    name = "duckdb_sql"
    takes_table_names = True
    raises_typed_errors = False

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        from udfs.duckdb import register_functions

        self.con = duckdb.connect()
        self._stack.callback(self.con.close)
        register_functions(self.con)

    def load(self, case, inputs, names):
        for input_name, df in inputs.items():
            view = f"__load_{input_name}"
            self.con.register(view, df)
            target = exp.Table(this=_quoted(names[input_name])).sql("duckdb")
            self.con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {view}")
            self.con.unregister(view)
        return names

    def call(self, case, loaded, outputs):
        spec = registry.get(case.component).spec
        args: list[exp.Expression] = []
        for table_spec in spec.inputs:
            if table_spec.name not in loaded:
                args.append(exp.Null())
                continue
            packed = sqlglot.parse_one("SELECT to_json(list(t)) FROM src AS t", dialect="duckdb")
            packed.find(exp.Table).set("this", _quoted(loaded[table_spec.name]))
            args.append(exp.Subquery(this=packed))
        args.append(exp.Placeholder())
        call = exp.Anonymous(this=f"terraplan_{case.component}", expressions=args)
        select = exp.select(exp.alias_(call, "doc"))
        self.con.execute("DROP TABLE IF EXISTS __result")
        self.con.execute(f"CREATE TEMP TABLE __result AS {select.sql('duckdb')}",
                         [json.dumps(case.params)])
        return "__result"

    def read(self, case, called, outputs):
        error = self.con.execute(f"SELECT doc ->> '$.error' FROM {called}").fetchone()[0]
        if error is not None:
            raise ErrorReply(error)
        tables = {}
        for name in outputs:
            path = f"$.tables.{name}"
            n, structure = self.con.execute(
                f"SELECT json_array_length(doc, ?), json_structure(doc -> ?) FROM {called}",
                [path, path]).fetchone()
            if not n:
                tables[name] = pd.DataFrame()
                continue
            tables[name] = self.con.execute(
                f"SELECT unnest(from_json(doc -> ?, ?), recursive := true) FROM {called}",
                [path, structure]).df()
        report = self.con.execute(f"SELECT doc -> '$.report' FROM {called}").fetchone()[0]
        return Outcome(tables, json.loads(report))

    def read_table(self, name):
        return self.con.execute(f"SELECT * FROM {exp.Table(this=_quoted(name)).sql('duckdb')}"
                                ).df()


class DuckDBRunner(Backend):
    """A one-step workflow file run by workflows.runner.run_workflow on a DuckDB file."""

    name = "duckdb_runner"
    # the runner profiles SCU inputs in SQL; SQL-native steps say so and count their rows
    report_extra = frozenset({"input_profile", "wall_seconds", "engine", "rows", "seconds"})
    takes_table_names = True

    def _database(self, case: Case) -> Path:
        return self.workdir / f"{case.id}.duckdb"

    def load(self, case, inputs, names):
        from udfs.duckdb import DuckDBWarehouse

        self._last = case
        wh = DuckDBWarehouse(self._database(case))
        try:
            for input_name, df in inputs.items():
                wh.load_dataframe(names[input_name], df)
        finally:
            wh.close()
        return names

    def call(self, case, loaded, outputs):
        from workflows.runner import run_workflow

        workflow = {
            "name": f"scenario_{case.name}",
            "sources": {f"src_{n}": {"table": t} for n, t in loaded.items()},
            "steps": [{"name": "solve", "uses": case.component,
                       "inputs": {n: f"src_{n}" for n in loaded},
                       "with": case.params, "outputs": dict(outputs)}],
        }
        path = self.workdir / f"{case.id}.yaml"
        path.write_text(yaml.safe_dump(workflow, sort_keys=False), encoding="utf-8")
        return run_workflow(path, database=str(self._database(case)))

    def read(self, case, called, outputs):
        from udfs.duckdb import DuckDBWarehouse

        wh = DuckDBWarehouse(self._database(case))
        try:
            tables = {n: wh.read_table(t).drop(columns="run_id") for n, t in outputs.items()}
        finally:
            wh.close()
        return Outcome(tables, called.steps[0].report)

    def read_table(self, name):
        from udfs.duckdb import DuckDBWarehouse

        wh = DuckDBWarehouse(self._database(self._last))
        try:
            return wh.read_table(name)
        finally:
            wh.close()


class SnowflakeLocal(Backend):
    """The stored-procedure handler on a Snowpark local-testing session. Tables are stored
    as Snowflake stores unquoted columns (upper case); outputs come back upper case with a
    RUN_ID column, and the full report is read from the TERRAPLAN_RUNS log."""

    name = "snowflake_local"
    takes_table_names = True

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        from snowflake.snowpark import Session

        self.session = Session.builder.config("local_testing", True).create()
        self._stack.callback(self.session.close)

    def load(self, case, inputs, names):
        from udfs.snowflake.frames import to_snowpark

        for input_name, df in inputs.items():
            frame = to_snowpark(self.session, df.rename(columns=str.upper))
            frame.write.save_as_table(self._sql_name(names[input_name]), mode="overwrite")
        return names

    @staticmethod
    def _sql_name(name: str) -> str:
        from udfs.snowflake.names import parse_table, sql

        return sql(parse_table(name))

    def call(self, case, loaded, outputs):
        from udfs.snowflake import procedures

        spec = registry.get(case.component).spec
        args = [loaded.get(t.name) for t in spec.inputs] + [outputs[t.name] for t in spec.outputs]
        return getattr(procedures, case.component)(self.session, *args, case.params)

    def read(self, case, called, outputs):
        assert called["status"] == "succeeded", called
        tables = {}
        for name, target in outputs.items():
            df = self.session.table(self._sql_name(target)).to_pandas()
            assert set(df["RUN_ID"]) == {called["run_id"]}
            tables[name] = df.drop(columns="RUN_ID").rename(columns=str.lower)
        log = self.session.table("TERRAPLAN_RUNS").to_pandas()
        row = log[log["RUN_ID"] == called["run_id"]]
        assert list(row["STATUS"]) == ["succeeded"]
        return Outcome(tables, json.loads(row["REPORT"].iloc[0]))

    def read_table(self, name):
        return self.session.table(self._sql_name(name)).to_pandas().rename(columns=str.lower)


class BigQueryHTTP(Backend):
    """The remote-function app on 127.0.0.1, called with BigQuery's request body in packed
    mode: each input as TO_JSON_STRING(ARRAY_AGG(t)) text, then the parameters."""

    name = "bigquery_http"
    raises_typed_errors = False

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        from tests.integration.test_bigquery_common import local_server

        self.url = self._stack.enter_context(local_server())

    @staticmethod
    def to_json_string(df: pd.DataFrame) -> str:
        # Not DataFrame.to_json: it rounds to 10 decimals; BigQuery keeps every digit.
        return json.dumps(jsonable(df.to_dict("records")))

    def post(self, calls: list[list[Any]], context: dict[str, str]) -> requests.Response:
        from tests.integration.test_bigquery_common import bq_body

        return requests.post(self.url, data=bq_body(calls, context=context), timeout=120,
                             headers={"Content-Type": "application/json"})

    def load(self, case, inputs, names):
        return {n: self.to_json_string(df) for n, df in inputs.items()}

    def call(self, case, loaded, outputs):
        spec = registry.get(case.component).spec
        args = [loaded.get(t.name) for t in spec.inputs] + [json.dumps(case.params)]
        response = self.post([args], {"component": case.component, "mode": "packed"})
        assert response.status_code == 200, response.text
        (reply,) = response.json()["replies"]
        return json.loads(reply)

    def read(self, case, called, outputs):
        return unpack_document(called)


class RedshiftPG(Backend):
    """``CALL terraplan.<component>('table', ...)`` as deployed by ``terraplan deploy
    redshift``, on the PostgreSQL stand-in (tests/integration/redshift_pg.py): the
    procedures pack the tables, the external function posts Redshift's event to the
    Lambda handler on 127.0.0.1, the outputs are published and logged in SQL."""

    name = "redshift_pg"
    takes_table_names = True
    raises_typed_errors = False
    TYPES: ClassVar[dict[str, str]] = {"float64": "DOUBLE PRECISION", "int64": "BIGINT",
                                       "bool": "BOOLEAN"}

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        import shutil
        import tempfile

        from tests.integration import redshift_pg
        from udfs.redshift.ddl import Target, deploy_statements

        if redshift_pg.missing():
            import pytest

            pytest.skip(redshift_pg.missing())
        # not pytest's tmp_path: its parents are private to root; the server runs as postgres
        folder = Path(tempfile.mkdtemp(prefix="terraplan-redshift-pg-"))
        self._stack.callback(shutil.rmtree, folder, True)
        server = redshift_pg.RedshiftStandIn(folder)
        self._stack.callback(server.stop)
        service = redshift_pg.LambdaService()
        self._stack.callback(service.stop)
        self.con = server.connect()
        self._stack.callback(self.con.close)
        server.install(self.con, service.url)
        with self.con.cursor() as cur:
            for statement in deploy_statements(Target()):
                if statement.kind != "external_function":
                    cur.execute(statement.sql)

    @staticmethod
    def _name(name: str) -> str:
        return exp.Table(this=_quoted(name)).sql("postgres")

    def load(self, case, inputs, names):
        for input_name, df in inputs.items():
            table = self._name(names[input_name])
            cols = ", ".join(f"{_quoted(str(c)).sql('postgres')} "
                             f"{self.TYPES.get(str(t), 'VARCHAR(65535)')}"
                             for c, t in df.dtypes.items())
            with self.con.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {table}")
                cur.execute(f"CREATE TABLE {table} ({cols})")
                with cur.copy(f"COPY {table} FROM STDIN") as copy:
                    for row in df.itertuples(index=False):
                        copy.write_row([None if _missing(v) else
                                        (v if isinstance(v, (bool, int, float)) else str(v))
                                        for v in row])
        return names

    def call(self, case, loaded, outputs):
        import psycopg

        spec = registry.get(case.component).spec
        args = [loaded.get(t.name) for t in spec.inputs] + [outputs[t.name] for t in spec.outputs]
        marks = ", ".join(["%s"] * (len(args) + 1))
        try:
            with self.con.cursor() as cur:
                cur.execute(f"CALL terraplan.{case.component}({marks})",
                            [*args, json.dumps(case.params)])
        except psycopg.Error as err:
            raise ErrorReply(str(err)) from None
        return outputs

    def read(self, case, called, outputs):
        tables, run_ids = {}, set()
        for name, target in called.items():
            df = self.read_table(target)
            run_ids |= set(df["run_id"])
            tables[name] = df.drop(columns="run_id")
        assert len(run_ids) <= 1, run_ids
        with self.con.cursor() as cur:
            cur.execute("SELECT run_id, status, report FROM terraplan.terraplan_runs "
                        "ORDER BY started_at DESC LIMIT 1")
            run_id, status, report = cur.fetchone()
        assert status == "succeeded" and (not run_ids or run_ids == {run_id})
        return Outcome(tables, json.loads(report))

    def read_table(self, name):
        with self.con.cursor() as cur:
            cur.execute(f"SELECT * FROM {self._name(name)}")
            return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


class SparkLocal(Backend):
    """``udfs.spark.<component>(df, ...)`` on a local PySpark session: the inputs are Spark
    DataFrames, the component runs on an executor through ``applyInPandas``, one call per
    output table (the answer is deterministic, so each call solves the same problem). The
    output schema is the spec's; the report is the ``terraplan_report`` column. A group
    that fails answers with its status and message, raised here as the typed error."""

    name = "spark_local"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        from tests.integration.spark_session import spark_session

        self.spark = spark_session()

    def load(self, case, inputs, names):
        return {n: self.spark.createDataFrame(df) for n, df in inputs.items()}

    def call(self, case, loaded, outputs):
        import udfs.spark as tp

        spec = registry.get(case.component).spec
        first = spec.inputs[0].name
        others = {k: v for k, v in loaded.items() if k != first}
        return {name: getattr(tp, case.component)(loaded[first], output=name, **others,
                                                   **case.params).toPandas()
                for name in outputs}

    def read(self, case, called, outputs):
        from components.errors import InfeasibleError, InputError, TerraplanError
        from udfs.spark import ERROR, REPORT, STATUS

        tables, report = {}, None
        for name, df in called.items():
            status = set(df[STATUS])
            if status - {"succeeded", "empty"}:
                (kind,), (message,) = status, set(df[ERROR])
                raise {"input": InputError, "infeasible": InfeasibleError}.get(
                    kind, TerraplanError)(message)
            report = report or json.loads(df[REPORT].iloc[0])
            rows = df if status == {"succeeded"} else df.iloc[0:0]
            tables[name] = rows.drop(columns=[STATUS, ERROR, REPORT]).reset_index(drop=True)
        return Outcome(tables, report)


BACKENDS: dict[str, type[Backend]] = {
    b.name: b for b in (Direct, DuckDBSQL, DuckDBRunner, SnowflakeLocal, BigQueryHTTP,
                        SparkLocal, RedshiftPG)}


# -- comparing answers ------------------------------------------------------------------------

def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def normalise(got: pd.DataFrame, want: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``got`` with lower-case columns in ``want``'s order and ``want``'s dtypes, sorted by
    keys. Only the container type is normalised: an id that came back as a number, or a
    number that came back as text, is a difference, not something to convert away."""
    got = got.rename(columns=lambda c: str(c).lower())
    assert sorted(got.columns) == sorted(want.columns), (
        f"columns differ: got {sorted(got.columns)}, want {sorted(want.columns)}")
    got = got[list(want.columns)].copy()
    for col in want.columns:
        kind, values = want[col].dtype, got[col].tolist()
        if pd.api.types.is_bool_dtype(kind):
            wrong = [v for v in values if not isinstance(v, (bool, np.bool_))]
            got[col] = got[col].astype(kind)
        elif pd.api.types.is_numeric_dtype(kind):
            wrong = [v for v in values if isinstance(v, (str, bytes, bool, np.bool_))]
            got[col] = pd.to_numeric(got[col]).astype(kind if not pd.api.types.is_integer_dtype(
                kind) or got[col].notna().all() else float)
        else:
            wrong = [v for v in values if not (_missing(v) or isinstance(v, str))]
            got[col] = [None if _missing(v) else v for v in values]
        assert not wrong, f"column '{col}' ({kind}): values of another type {wrong[:5]}"
    return sort_rows(got, keys)


def sort_rows(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


def reference_frame(want: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    out = want.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = [None if _missing(v) else v for v in out[col].tolist()]
    return sort_rows(out, keys)


def assert_same_tables(got: Outcome, want: Outcome, keys: Mapping[str, list[str]],
                       rtol: float) -> None:
    assert sorted(got.tables) == sorted(want.tables)
    for name, ref in want.tables.items():
        expected = reference_frame(ref, keys[name])
        actual = normalise(got.tables[name], ref, keys[name])
        pd.testing.assert_frame_equal(actual, expected, check_exact=False, rtol=rtol, atol=0,
                                      obj=f"output table '{name}'")


def report_differences(got: Any, want: Any, rtol: float, path: str = "report") -> Iterator[str]:
    """Every place the two reports differ (floats within ``rtol``, volatile keys ignored)."""
    if isinstance(want, dict) and isinstance(got, dict):
        for key in want:
            if volatile(key):
                continue
            if key not in got:
                yield f"{path}.{key} missing"
                continue
            yield from report_differences(got[key], want[key], rtol, f"{path}.{key}")
    elif isinstance(want, list) and isinstance(got, list):
        if len(got) != len(want):
            yield f"{path}: {len(got)} items, want {len(want)}"
            return
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            yield from report_differences(g, w, rtol, f"{path}[{i}]")
    elif isinstance(want, float) and isinstance(got, (int, float)) \
            and not isinstance(got, bool):
        if not math.isclose(got, want, rel_tol=rtol, abs_tol=1e-12):
            yield f"{path}: {got!r} != {want!r}"
    elif got != want:
        yield f"{path}: {got!r} != {want!r}"


def assert_same_report(got: Outcome, want: Outcome, rtol: float,
                       extra: frozenset[str]) -> None:
    diffs = list(report_differences(got.report, want.report, rtol))
    assert not diffs, "\n".join(diffs)
    unexpected = set(got.report) - set(want.report) - extra
    assert not unexpected, f"report keys only this backend adds: {sorted(unexpected)}"


def check_expectations(case: Case, outcome: Outcome) -> None:
    """The scenario's invariants, whatever the backend."""
    expect, tables = case.expect, outcome.tables
    for name, n in expect.get("rows", {}).items():
        assert len(tables[name]) == n, f"{name}: {len(tables[name])} rows, want {n}"
    for name, columns in expect.get("distinct", {}).items():
        for col, n in columns.items():
            got = tables[name][col].nunique()
            assert got == n, f"{name}.{col}: {got} distinct values, want {n}"
    for name, columns in expect.get("all_true", {}).items():
        for col in columns:
            assert tables[name][col].astype(bool).all(), f"{name}.{col} not all true"
    for name, columns in expect.get("unique", {}).items():
        assert not tables[name].duplicated(columns).any(), f"{name}: duplicate {columns}"
    for name, pairs in expect.get("at_most", {}).items():
        for col, bound in pairs.items():
            df = tables[name].dropna(subset=[col, bound])
            assert (df[col].astype(float) <= df[bound].astype(float) + 1e-9).all(), (
                f"{name}.{col} over {bound}")
    for key, value in expect.get("report", {}).items():
        assert outcome.report.get(key) == value, (
            f"report.{key} = {outcome.report.get(key)!r}, want {value!r}")
    for key, bound in expect.get("report_max", {}).items():
        assert outcome.report[key] <= bound, f"report.{key} = {outcome.report[key]} > {bound}"


@dataclass
class References:
    """The direct answer per case, computed once per session."""

    workdir: Path
    _cache: dict[str, Outcome] = field(default_factory=dict)

    def __call__(self, case: Case) -> Outcome:
        if case.id not in self._cache:
            self._cache[case.id] = Direct(self.workdir).run(case, build_inputs(case))
        return self._cache[case.id]

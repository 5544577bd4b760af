"""Snowflake procedure handlers and the partition UDTF, on a Snowpark local-testing session.

Local testing runs stored procedures (DataFrame I/O) but no SQL and no UDTF with
column arguments: the handlers' DataFrame path runs here end to end, the UDTF's
``process``/``end_partition`` are called directly, and the SQL path runs on fakesnow
(test_snowflake_sql.py).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from snowflake.snowpark import Session
from snowflake.snowpark.types import StringType, VariantType

from components import registry
from components.errors import InputError, ParameterError
from tests.conftest import DATA, grid_edges, grid_scus
from udfs.snowflake import partition, procedures, publish
from udfs.snowflake.frames import to_snowpark

BALANCE = registry.get("territory_balancing")
ODD = "x; DROP TABLE y --"


@pytest.fixture(scope="module")
def session():
    s = Session.builder.config("local_testing", True).create()
    yield s
    s.close()


def load(session: Session, name: str, df: pd.DataFrame, upper: bool = True) -> None:
    """A table as Snowflake stores unquoted columns (upper case) unless ``upper`` is False."""
    frame = df.rename(columns=str.upper) if upper else df
    to_snowpark(session, frame).write.save_as_table(name, mode="overwrite")


def table(session: Session, name: str) -> pd.DataFrame:
    return session.table(name).to_pandas()


def as_component(df: pd.DataFrame) -> pd.DataFrame:
    """An output table as the component returns it: no RUN_ID, lower-case columns."""
    return df.drop(columns="RUN_ID").rename(columns=str.lower).reset_index(drop=True)


def runs(session: Session) -> pd.DataFrame:
    return table(session, "TERRAPLAN_RUNS").sort_values("STARTED_AT").reset_index(drop=True)


@pytest.fixture(scope="module")
def georgia_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    scus = pd.read_csv(DATA / "scus.csv", dtype={"scu_id": str}).drop(columns="wkt")
    edges = pd.read_csv(DATA / "edges.csv", dtype={"from_id": str, "to_id": str})
    return scus, edges


def assert_same_answer(session: Session, summary: dict, direct, outputs: dict[str, str]) -> None:
    assert summary["status"] == "succeeded"
    for name, target in outputs.items():
        got = table(session, target)
        assert set(got["RUN_ID"]) == {summary["run_id"]}
        pd.testing.assert_frame_equal(as_component(got), direct.tables[name].reset_index(
            drop=True), check_dtype=False)
        assert summary["outputs"][name]["rows"] == len(direct.tables[name])
    for key in ("status", "objective", "lower_bound", "gap", "n_territories", "contiguous"):
        assert summary["report"][key] == pytest.approx(direct.report[key])


def test_grid_scenario_matches_the_component(session):
    load(session, "GRID", grid_scus())
    load(session, "GRID_EDGES", grid_edges())
    summary = procedures.territory_balancing(
        session, "grid", None, "grid_edges", "grid_assignments", "grid_territories",
        {"territories": 4, "metrics": ["LOAD"], "max_iterations": 100})
    direct = BALANCE.run(grid_scus(), edges=grid_edges(), territories=4, metrics=["load"],
                         max_iterations=100)
    assert_same_answer(session, summary, direct, {"assignments": "GRID_ASSIGNMENTS",
                                                  "territories": "GRID_TERRITORIES"})
    assert summary["write"] == "dataframe_overwrite"
    # lower-case output columns come back upper case: usable unquoted in Snowflake SQL
    assert list(table(session, "GRID_TERRITORIES").columns[:4]) == [
        "RUN_ID", "TERRITORY", "CENTER", "N_UNITS"]


def test_georgia_scenario_matches_the_component(session, georgia_frames):
    scus, edges = georgia_frames
    load(session, "GA_COUNTIES", scus)
    load(session, "GA_EDGES", edges)
    params = {"territories": 6, "metrics": ["population", "ACCOUNTS"], "id": "scu_id",
              "current": "CURRENT_TERRITORY", "max_iterations": 60}
    summary = procedures.territory_balancing(
        session, "GA_COUNTIES", None, "ga_edges", "GA_ASSIGNMENTS", "GA_TERRITORIES", params)
    direct = BALANCE.run(scus, edges=edges, territories=6, metrics=["population", "accounts"],
                         id="scu_id", current="current_territory", max_iterations=60)
    assert_same_answer(session, summary, direct, {"assignments": "GA_ASSIGNMENTS",
                                                  "territories": "GA_TERRITORIES"})
    assert summary["report"]["moved_units"] == direct.report["moved_units"]
    log = runs(session)
    last = log.iloc[-1]
    assert (last["RUN_ID"], last["STATUS"], last["COMPONENT"]) == (
        summary["run_id"], "succeeded", "territory_balancing")
    assert '"objective"' in last["REPORT"] and '"population"' in last["PARAMS"]


def test_registered_procedure_called_twice_in_one_process(session):
    """The scipy-import trap: a second CALL in the same process must work too."""
    load(session, "GRID", grid_scus())
    session.sproc.register(procedures.territory_balancing, name="TERRITORY_BALANCING",
                           return_type=VariantType(),
                           input_types=[StringType()] * 5 + [VariantType()], replace=True)
    params = {"territories": 3, "metrics": ["load"], "max_iterations": 50}
    first = session.call("TERRITORY_BALANCING", "GRID", None, None, "CALL_A", "CALL_T", params)
    second = session.call("TERRITORY_BALANCING", "GRID", None, None, "CALL_A", "CALL_T", params)
    for out in (first, second):
        out = out if isinstance(out, dict) else json.loads(out)
        assert out["status"] == "succeeded" and out["outputs"]["assignments"]["rows"] == 36
    direct = BALANCE.run(grid_scus(), territories=3, metrics=["load"], max_iterations=50)
    pd.testing.assert_frame_equal(as_component(table(session, "CALL_A")),
                                  direct.tables["assignments"], check_dtype=False)


def test_failed_run_is_logged_and_previous_outputs_stay(session):
    load(session, "GRID", grid_scus())
    ok = procedures.territory_balancing(session, "GRID", None, None, "KEEP_A", "KEEP_T",
                                        {"territories": 4, "metrics": ["load"],
                                         "max_iterations": 30})
    before = {t: table(session, t) for t in ("KEEP_A", "KEEP_T")}
    with pytest.raises(ParameterError, match=r"tolerance.*got 7.*terraplan run \S+"):
        procedures.territory_balancing(session, "GRID", None, None, "KEEP_A", "KEEP_T",
                                       {"territories": 4, "metrics": ["load"], "tolerance": 7})
    with pytest.raises(InputError, match="column 'nope' not found"):
        procedures.territory_balancing(session, "GRID", None, None, "KEEP_A", "KEEP_T",
                                       {"territories": 4, "metrics": ["nope"]})
    for t, df in before.items():
        pd.testing.assert_frame_equal(table(session, t), df)
        assert set(table(session, t)["RUN_ID"]) == {ok["run_id"]}
    failed = runs(session).tail(2)
    assert list(failed["STATUS"]) == ["failed", "failed"]
    assert "tolerance" in failed.iloc[0]["ERROR"] and "nope" in failed.iloc[1]["ERROR"]
    assert failed["FINISHED_AT"].notna().all()


def test_nothing_is_written_unless_every_output_is_built(session, monkeypatch):
    """A failure while building the second output leaves the first output untouched."""
    load(session, "GRID", grid_scus())
    params = {"territories": 4, "metrics": ["load"], "max_iterations": 30}
    ok = procedures.territory_balancing(session, "GRID", None, None, "ALL_A", "ALL_T", params)
    built = []
    real = publish.to_snowpark

    def flaky(sess, df):
        built.append(len(df))
        if len(built) == 2:
            raise RuntimeError("disk full while building the second output")
        return real(sess, df)

    monkeypatch.setattr(publish, "to_snowpark", flaky)
    with pytest.raises(RuntimeError, match="disk full"):
        procedures.territory_balancing(session, "GRID", None, None, "ALL_A", "ALL_T",
                                       {**params, "seed": 1})
    assert set(table(session, "ALL_A")["RUN_ID"]) == {ok["run_id"]}
    assert set(table(session, "ALL_T")["RUN_ID"]) == {ok["run_id"]}
    last = runs(session).iloc[-1]
    assert last["STATUS"] == "failed" and "disk full" in last["ERROR"]


def test_odd_table_names_stay_identifiers(session):
    load(session, "Y", pd.DataFrame({"keep": [1, 2, 3]}), upper=False)
    load(session, '"x; DROP TABLE y --"', grid_scus())
    summary = procedures.territory_balancing(
        session, f'"{ODD}"', None, None, ODD, 'a"b; DROP TABLE y --',
        {"territories": 2, "metrics": ["load"], "max_iterations": 20})
    assert summary["outputs"]["assignments"]["table"] == '"x; DROP TABLE y --"'
    assert summary["outputs"]["territories"]["table"] == '"a""b; DROP TABLE y --"'
    assert len(table(session, '"a""b; DROP TABLE y --"')) == 2
    assert "ID" in table(session, '"x; DROP TABLE y --"').columns  # overwritten by the answer
    assert table(session, "Y")["keep"].tolist() == [1, 2, 3]


def test_null_outputs_are_skipped_and_inputs_checked(session):
    load(session, "GRID", grid_scus())
    params = {"territories": 2, "metrics": ["load"], "max_iterations": 20}
    summary = procedures.territory_balancing(session, "GRID", None, None, None, "ONLY_T", params)
    assert list(summary["outputs"]) == ["territories"]
    with pytest.raises(InputError, match="every output table name is NULL"):
        procedures.territory_balancing(session, "GRID", None, None, None, None, params)
    with pytest.raises(InputError, match="scus table name is NULL"):
        procedures.territory_balancing(session, None, None, None, "A", "T", params)
    with pytest.raises(InputError, match=r"scus table .*NO_SUCH_TABLE.* cannot be read"):
        procedures.territory_balancing(session, "no_such_table", None, None, "A", "T", params)
    with pytest.raises(InputError, match="takes 6 arguments"):
        procedures.territory_balancing(session, "GRID", params)


def test_params_may_arrive_as_json_text(session):
    load(session, "GRID", grid_scus())
    summary = procedures.territory_balancing(
        session, "GRID", None, None, "J_A", None,
        '{"territories": 2, "metrics": "LOAD", "max_iterations": "20"}')
    assert summary["outputs"]["assignments"]["rows"] == 36


def test_every_component_has_a_handler():
    for name, component in registry.components().items():
        handler = getattr(procedures, name)
        spec = component.spec
        assert procedures.procedure_arguments(name)[-1] == "PARAMS"
        assert len(procedures.procedure_arguments(name)) == (
            len(spec.inputs) + len(spec.outputs) + 1)
        assert name in handler.__doc__


# -- the partition UDTF ---------------------------------------------------------------------

def _solve_partition(rows: pd.DataFrame, params: dict, attributes=("population",)):
    solver = partition.territory_balancing()
    for r in rows.itertuples(index=False):
        solver.process(r.scu_id, r.lon, r.lat, {a.upper(): getattr(r, a) for a in attributes},
                       params)
    return list(solver.end_partition())


def test_partition_udtf_solves_each_partition_like_the_component(georgia_frames):
    scus, _ = georgia_frames
    params = {"territories": 3, "metrics": ["POPULATION"], "lon": "x", "lat": "y",
              "max_iterations": 40}
    columns = [c for c, _ in partition.output_columns(BALANCE.spec)]
    for west in (True, False):
        part = scus[(scus["lon"] < -83.6) == west]
        rows = _solve_partition(part, params)
        got = pd.DataFrame(rows, columns=columns)
        direct = BALANCE.run(part, territories=3, metrics=["population"], id="scu_id",
                             lon="lon", lat="lat", max_iterations=40)
        want = direct.tables["assignments"]
        assert got["ID"].tolist() == want["id"].tolist()
        assert got["TERRITORY"].tolist() == want["territory"].tolist()
        assert got["DISTANCE"].to_numpy() == pytest.approx(want["distance"].to_numpy())
        assert (got["PARTITION_STATUS"] == "succeeded").all()
        report = got["PARTITION_REPORT"]
        assert report.iloc[0]["objective"] == pytest.approx(direct.report["objective"])
        assert report.iloc[1:].isna().all()


def test_partition_udtf_reports_a_bad_partition_without_failing(georgia_frames):
    scus, _ = georgia_frames
    part = scus.head(5)
    rows = _solve_partition(part, {"territories": 9, "metrics": ["population"],
                                   "lon": "x", "lat": "y"})
    assert len(rows) == 5 and {r[-2] for r in rows} == {"failed"}
    assert "territor" in rows[0][-1]["error"] and rows[1][-1] is None
    assert all(r[1] is None for r in rows)  # no territory for any unit


def test_partition_udtf_rejects_attributes_shadowing_arguments():
    solver = partition.territory_balancing()
    solver.process("a", 0.0, 0.0, {"X": 1.0, "load": 1.0}, {"territories": 1, "metrics": ["load"]})
    rows = list(solver.end_partition())
    assert rows[0][-2] == "failed" and "clash" in rows[0][-1]["error"]


def test_partition_output_columns_match_the_ddl_signature():
    cols = partition.output_columns(BALANCE.spec)
    assert cols[:4] == [("ID", "VARCHAR"), ("TERRITORY", "VARCHAR"), ("CENTER", "VARCHAR"),
                        ("DISTANCE", "FLOAT")]
    assert cols[-2:] == [("PARTITION_STATUS", "VARCHAR"), ("PARTITION_REPORT", "VARIANT")]
    for name, component in registry.components().items():
        if partition.eligible(component.spec):
            names = [c for c, _ in partition.output_columns(component.spec)]
            assert len(names) == len(set(names)), f"{name}: duplicate UDTF output columns"


def test_a_run_log_failure_never_hides_the_runs_own_error(session, monkeypatch):
    load(session, "GRID", grid_scus())

    def broken(*_args):
        raise RuntimeError("no INSERT privilege on TERRAPLAN_RUNS")

    monkeypatch.setattr(procedures, "record_dataframe", broken)
    with pytest.raises(InputError, match=r"column 'nope' not found.*NOT logged.*no INSERT"):
        procedures.territory_balancing(session, "GRID", None, None, "LOGLESS", None,
                                       {"territories": 2, "metrics": ["nope"]})


# -- item 6: a partition must finish inside Snowflake's end_partition limit ------------------

class _Clock:
    """A clock that jumps ``step`` seconds at each reading (a slow partition, simulated)."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_partition_time_limit_over_the_snowflake_cap_is_an_error_row(georgia_frames):
    scus, _ = georgia_frames
    part = scus.head(30)
    rows = _solve_partition(part, {"territories": 3, "metrics": ["population"], "lon": "x",
                                   "lat": "y", "time_limit": 900})
    assert len(rows) == 30 and {r[-2] for r in rows} == {"failed"}
    error = rows[0][-1]["error"]
    assert "time_limit" in error and "900" in error
    assert str(int(partition.PARTITION_BUDGET_SECONDS)) in error and "10 minutes" in error


def test_partition_gets_only_the_time_left_under_the_cap(georgia_frames, monkeypatch):
    scus, _ = georgia_frames
    part = scus[scus["lon"] < -83.6]
    # each clock reading is 1 s less 1 us later: the default 60 s limit would not bind, but
    # only 1 us is left of the partition's (here 1 s) budget when the solve starts
    monkeypatch.setattr(partition, "PARTITION_BUDGET_SECONDS", 1.0)
    monkeypatch.setattr(partition.PartitionSolver, "clock", _Clock(1.0 - 1e-6))
    rows = _solve_partition(part, {"territories": 3, "metrics": ["population"], "lon": "x",
                                   "lat": "y"})
    report = rows[0][-1]
    assert rows[0][-2] == "succeeded", report
    assert report["stopped_by"] == "time_limit"


def test_partition_with_no_time_left_is_an_error_row(georgia_frames, monkeypatch):
    scus, _ = georgia_frames
    monkeypatch.setattr(partition.PartitionSolver, "clock", _Clock(500.0))
    rows = _solve_partition(scus.head(20), {"territories": 2, "metrics": ["population"],
                                            "lon": "x", "lat": "y"})
    assert {r[-2] for r in rows} == {"failed"}
    assert "PARTITION BY" in rows[0][-1]["error"] and "10 minutes" in rows[0][-1]["error"]

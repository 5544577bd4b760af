"""One scenario file per component, run on every backend: same inputs, same answers.

Backends (tests/integration/backends.py): ``direct`` (the component's Python entry
point, the reference), ``duckdb_sql`` (the registered SQL function, packed and
unpacked in SQL), ``duckdb_runner`` (a one-step workflow file), ``snowflake_local``
(the stored-procedure handler on a Snowpark local-testing session), ``bigquery_http``
(the remote-function app on 127.0.0.1 with BigQuery's request body), ``spark_local``
(``udfs.spark.<component>`` through applyInPandas on a local PySpark session; it skips
with the reason when pyspark or Java is missing) and ``redshift_pg`` (the deployed
Redshift procedures on a PostgreSQL stand-in, the external function posting
Redshift's Lambda event to the handler on 127.0.0.1).

Scenarios: tests/scenarios/<component>.yaml. Every backend's tables must equal the
direct answer (ids and labels exactly, floats within the backend's ``rtol``), its
report must agree, and the scenario's invariants must hold.

Known gaps go in KNOWN_GAPS as ``(backend, case id) -> (exception, why)``: they become
strict xfails, so a gap that closes fails the run until its entry is removed.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from components import errors
from components.errors import InputError
from tests.integration.backends import (
    BACKENDS,
    ODD,
    VICTIM,
    Backend,
    BadCase,
    Case,
    ErrorReply,
    References,
    assert_same_report,
    assert_same_tables,
    build_inputs,
    check_expectations,
    load_bad_cases,
    load_cases,
)

CASES = load_cases()
# Components still being written: a scenario their spec cannot run is skipped, not failed.
IN_PROGRESS = {"location_allocation"}
# Components added after this matrix was written; each needs tests/scenarios/<name>.yaml.
NO_SCENARIO_YET: set[str] = set()
_SPEC_GAP = ("Spark's output schema is the component spec's, and this spec does not list every "
             "column the component writes (road_network: drive_seconds/walk_seconds, and "
             "ids typed STRING against OSM's integer ids)")
KNOWN_GAPS: dict[tuple[str, str], tuple[type[BaseException], str]] = {
    ("spark_local", "road_network-crossing_streets"): (AssertionError, _SPEC_GAP),
    ("spark_local", "road_network-walking"): (AssertionError, _SPEC_GAP),
    # 300 demand points: the answer (assignments plus every candidate site) is about 68 KB,
    # over the 65,535-byte VARCHAR a Redshift Lambda UDF returns; the procedure refuses it
    # with the size (README, Redshift limits)
    ("redshift_pg", "location_allocation-p_median"): (
        ErrorReply, "the answer is over Redshift's 64 KB VARCHAR"),
}


def _marks(backend: str, case: Case, test_id: str) -> list[pytest.MarkDecorator]:
    marks = []
    reason = case.mismatch() if case.component in IN_PROGRESS else None
    if reason:
        marks.append(pytest.mark.skip(reason=reason))
    gap = KNOWN_GAPS.get((backend, test_id))
    if gap:
        raises, why = gap
        marks.append(pytest.mark.xfail(strict=True, raises=raises, reason=f"{backend}: {why}"))
    return marks


MATRIX = [pytest.param(b, c, id=f"{b}-{c.id}", marks=_marks(b, c, c.id))
          for c in CASES for b in BACKENDS]


@pytest.fixture(scope="session")
def backend(request, tmp_path_factory) -> Backend:
    instance = BACKENDS[request.param](tmp_path_factory.mktemp(request.param))
    yield instance
    instance.close()


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> References:
    return References(tmp_path_factory.mktemp("reference"))


def test_every_component_has_a_scenario_file():
    from components import registry

    covered = {c.component for c in CASES}
    missing = set(registry.components()) - covered - NO_SCENARIO_YET
    assert not missing, f"components without tests/scenarios/<name>.yaml: {sorted(missing)}"
    assert not NO_SCENARIO_YET & covered, "a scenario exists now: drop it from NO_SCENARIO_YET"


@pytest.mark.parametrize(("backend", "case"), MATRIX, indirect=["backend"])
def test_same_answer_on_every_backend(backend: Backend, case: Case, reference: References):
    want = reference(case)
    got = backend.run(case, build_inputs(case))
    assert_same_tables(got, want, case.keys, backend.rtol)
    assert_same_report(got, want, backend.rtol, backend.report_extra)
    check_expectations(case, got)


# -- bad input: the same message everywhere ---------------------------------------------------

BAD_CASES = load_bad_cases()
ERROR_MATRIX = [pytest.param(b, bad, id=f"{b}-{bad.id}", marks=_marks(b, bad.case, bad.id))
                for bad in BAD_CASES for b in BACKENDS]


@pytest.mark.parametrize(("backend", "bad"), ERROR_MATRIX, indirect=["backend"])
def test_same_error_on_every_backend(backend: Backend, bad: BadCase):
    category = getattr(errors, bad.error)
    with pytest.raises(category) as direct:
        BACKENDS["direct"](backend.workdir).run(bad.case, build_inputs(bad.case))
    message = str(direct.value)
    with pytest.raises(Exception) as caught:
        backend.run(bad.case, build_inputs(bad.case))
    assert message in str(caught.value), (
        f"{backend.name} says {str(caught.value)!r}; direct says {message!r}")
    expected = category if backend.raises_typed_errors else ErrorReply
    assert isinstance(caught.value, expected), f"{type(caught.value).__name__}: {caught.value}"


# -- identifiers from users -------------------------------------------------------------------

SECURITY_CASE = next(c for c in CASES if c.id == "territory_balancing-grid")


@pytest.mark.parametrize("backend", list(BACKENDS), indirect=True)
def test_table_names_with_sql_in_them_stay_identifiers(backend: Backend, reference: References):
    """Inputs named like ``x; DROP TABLE y --`` are read as those tables, outputs are
    written under such names, and table ``y`` survives untouched."""
    if backend.name == "bigquery_http":
        _bigquery_refuses_odd_table_names(backend)
        return
    if not backend.takes_table_names:
        pytest.skip(f"{backend.name} takes DataFrames, not table names")
    case = SECURITY_CASE
    victim = pd.DataFrame({"keep": [1, 2, 3]})
    backend.load(case, {VICTIM: victim}, {VICTIM: VICTIM})
    names = {"scus": ODD, "edges": f'{ODD}"; edges'}
    outputs = {"assignments": f"{ODD} assignments", "territories": 'a"b; DROP TABLE y --'}
    if backend.name == "duckdb_runner":  # workflow outputs are plain names by schema
        outputs = {"assignments": "odd_assignments", "territories": "odd_territories"}
    got = backend.run(case, build_inputs(case), names=names, outputs=outputs)
    assert_same_tables(got, reference(case), case.keys, backend.rtol)
    pd.testing.assert_frame_equal(backend.read_table(VICTIM), victim, check_dtype=False)
    assert len(backend.read_table(ODD)) == 64  # the input, read as a table of that name


def _no_client(project):
    raise AssertionError(f"a BigQuery client was requested (project {project!r})")


def _bigquery_refuses_odd_table_names(backend) -> None:
    """Packed mode takes no table names; tables mode refuses names that are not BigQuery
    table ids before any client exists."""
    from udfs.bigquery.handler import RemoteFunctionHandler, set_handler

    request = {"inputs": {"scus": ODD}, "outputs": {"assignments": "d.a", "territories": "d.t"},
               "params": SECURITY_CASE.params}
    previous = set_handler(RemoteFunctionHandler(client_factory=_no_client))
    try:
        response = backend.post([[json.dumps(request)]],
                                {"component": "territory_balancing", "mode": "tables"})
    finally:
        set_handler(previous)
    assert response.status_code == 200, response.text
    error = json.loads(response.json()["replies"][0])["error"]
    assert "inputs.scus" in error and "is not a table name" in error


def test_odd_output_names_are_refused_by_the_workflow_schema(tmp_path):
    from tests.integration.backends import DuckDBRunner

    runner = DuckDBRunner(tmp_path)
    with pytest.raises(InputError, match=r"outputs/territories: .*does not match"):
        runner.run(SECURITY_CASE, build_inputs(SECURITY_CASE),
                   outputs={"assignments": "a", "territories": ODD})

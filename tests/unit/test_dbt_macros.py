"""The dbt package's macros compiled for every adapter: golden SQL per adapter, parsed back
by sqlglot in that dialect, and the generated macro data held to the component specs.

The macros are rendered by dbt's own Jinja environment (tests/dbt_render.py); the DuckDB
SQL is also run for real by tests/integration/test_dbt.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

pytest.importorskip("dbt_common", reason="dbt is not installed: pip install -e '.[dev]' "
                    "(make test installs it)")

from components import registry
from components.spec import REQUIRED
from tests.dbt_render import DIALECTS, CompilerError, Renderer
from tests.golden import assert_golden
from udfs.base import output_columns
from workflows.dbt import generate

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots" / "dbt"
ADAPTERS = tuple(DIALECTS)
COLUMNS = {"scus": ["id", "lon", "lat", "population", "accounts"],
           "scu_edges": ["from_id", "to_id"], "accounts": ["account_id", "zip", "lon", "lat",
                                                           "revenue"],
           "scu_polygons": ["id", "wkt"], "territory_alignment": ["id", "territory"],
           "osm_way_nodes": ["way_id", "seq", "node_id", "lon", "lat", "highway"]}
BALANCE = {"territories": 8, "metrics": ["population", "accounts"], "lon": "lon", "lat": "lat",
           "tolerance": 0.05, "seed": 0}
# one call per component: (component, inputs, params, output)
CALLS: dict[str, tuple[str, dict[str, str], dict[str, Any], str | None]] = {
    "territory_balancing": ("territory_balancing", {"scus": "scus", "edges": "scu_edges"},
                            BALANCE, None),
    "territory_summary": ("territory_balancing", {"scus": "scus", "edges": "scu_edges"},
                          BALANCE, "territories"),
    "location_allocation": ("location_allocation", {"demand": "scus"},
                            {"facilities": 5, "lon": "lon", "lat": "lat", "weight": "population",
                             "distance": "haversine"}, "facilities"),
    "cost_matrix": ("cost_matrix", {"points": "scus"},
                    {"lon": "lon", "lat": "lat", "distance": "haversine", "k": 3}, None),
    "adjacency": ("adjacency", {"units": "scus"},
                  {"source": "points", "lon": "lon", "lat": "lat"}, None),
    "scu_aggregation": ("scu_aggregation", {"points": "accounts"},
                        {"scu_id": "zip", "metrics": ["revenue"], "lon": "lon", "lat": "lat"},
                        None),
    "territory_polygons": ("territory_polygons",
                           {"units": "scu_polygons", "assignments": "territory_alignment"},
                           {"metric": ["population"]}, None),
    "road_network": ("road_network", {"osm": "osm_way_nodes"}, {"profile": "drive"}, "edges"),
}
ODD = "it's \"odd\" \\ `x`"  # a metric name with every quote character


def call(renderer: Renderer, name: str) -> str:
    component, inputs, params, output = CALLS[name]
    args = {k: renderer.relation(v) for k, v in inputs.items()}
    return getattr(renderer, component)(**args, params=params, output=output)


def blocks(sql: str) -> list[str]:
    """A compiled alignment cut at its `-- terraplan:` lines (statements to run in turn)."""
    parts = [p.split("\n", 1) for p in ("\n" + sql).split("\n-- terraplan:")[1:]]
    return [p[1].strip() for p in parts if len(p) > 1 and p[1].strip()] or [sql]


def parse_back(sql: str, dialect: str) -> list[exp.Expression]:
    """Every statement parsed by sqlglot in the dialect (a CALL's arguments as a SELECT,
    which sqlglot can check; CALL itself it keeps as an opaque command)."""
    trees = []
    for statement in blocks(sql) if "-- terraplan:" in sql else [sql]:
        text = statement.replace("__terraplan_doc__", "terraplan_doc")
        if text.lower().startswith("call "):
            text = "select " + text[5:]
        tree = sqlglot.parse_one(text, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
        assert not isinstance(tree, exp.Command), (dialect, text[:80])
        trees.append(tree)
    return trees


def json_literals(trees: list[exp.Expression]) -> list[Any]:
    found = []
    for tree in trees:
        for lit in tree.find_all(exp.Literal):
            if lit.is_string and lit.this.startswith("{"):
                found.append(json.loads(lit.this))
    return found


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("name", sorted(CALLS))
def test_select_form_golden_and_parsed(adapter: str, name: str) -> None:
    renderer = Renderer(adapter, columns=COLUMNS)
    if adapter == "snowflake":
        with pytest.raises(CompilerError, match="terraplan_alignment"):
            call(renderer, name)
        return
    sql = call(renderer, name)
    assert_golden(SNAPSHOTS / adapter / f"select_{name}.sql", sql + "\n")
    trees = parse_back(sql, DIALECTS[adapter])
    assert json_literals(trees) == [CALLS[name][2]]  # the parameters arrive intact


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("previous", [False, True], ids=["first", "rebalance"])
def test_alignment_form_golden_and_parsed(adapter: str, previous: bool) -> None:
    renderer = Renderer(adapter, materialized="terraplan_alignment", previous=previous,
                        columns=COLUMNS,
                        config={"rebalance": {"disruption_weight": 5, "max_moved": 0.1}})
    sql = call(renderer, "territory_balancing")
    kind = "rebalance" if previous else "first"
    assert_golden(SNAPSHOTS / adapter / f"alignment_{kind}.sql", sql + "\n")
    trees = parse_back(sql, DIALECTS[adapter])
    expected = dict(BALANCE)
    if previous:  # the previous version is the current alignment of a low-disruption solve
        expected.update(current="terraplan_current", disruption_weight=5, max_moved=0.1)
        text = " ".join(t.sql(DIALECTS[adapter]) for t in trees)
        assert "territory_alignment" in text and "(new)" in text
    # the solve's parameters, then the fingerprint's: the original call and the rebalance
    assert json_literals(trees[:-1]) == [expected]
    fingerprint = json_literals(trees[-1:])
    assert sorted(fingerprint, key=json.dumps) == sorted(
        [BALANCE, {"disruption_weight": 5, "max_moved": 0.1}], key=json.dumps)
    assert sql.splitlines()[0] == "-- terraplan:component territory_balancing assignments"


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_odd_names_are_quoted_identifiers(adapter: str) -> None:
    renderer = Renderer(adapter, materialized="terraplan_alignment", columns=COLUMNS)
    params = {**BALANCE, "metrics": [ODD]}
    sql = renderer.territory_balancing(renderer.relation("scus"), params=params,
                                       output="territories")
    trees = parse_back(sql, DIALECTS[adapter])
    assert json_literals(trees)[0] == params
    if adapter != "snowflake":  # the unpack names the metric's output columns
        names = {i.name for t in trees for i in t.find_all(exp.Identifier)}
        assert {ODD, ODD + "_ratio"} <= names, names


TESTS = {
    "assigned_once": ("assigned_once", {"units": "scus"}),
    "balanced": ("balanced", {"units": "scus", "metrics": ["population", "accounts"],
                              "tolerance": {"population": 0.05, "accounts": 0.1}}),
    "contiguous": ("contiguous", {"edges": "scu_edges"}),
    "contiguous_labels": ("contiguous", {"edges": "scu_edges", "method": "labels",
                                         "max_hops": 3}),
}


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("name", sorted(TESTS))
def test_generic_tests_golden_and_parsed(adapter: str, name: str) -> None:
    renderer = Renderer(adapter)
    macro, kwargs = TESTS[name]
    args = {k: renderer.relation(v) if k in ("units", "edges") else v
            for k, v in kwargs.items()}
    sql = getattr(renderer, "test_" + macro)(model=renderer.relation("territory_alignment"), **args)
    assert_golden(SNAPSHOTS / adapter / f"test_{name}.sql", sql.strip() + "\n")
    parse_back(sql, DIALECTS[adapter])
    if name == "contiguous":  # a recursive CTE only where UNION (set semantics) is allowed
        assert ("with recursive" in sql) == (adapter == "duckdb")


def test_generated_macros_match_the_specs() -> None:
    assert generate.main(["--check"]) == 0
    described = json.loads(json.loads(json.dumps(
        generate.spec_sql().split("fromjson('", 1)[1].rsplit("'))", 1)[0]
        .replace("\\'", "'").replace("\\\\", "\\"))))
    assert set(described) == set(registry.components())
    for name, component in registry.components().items():
        assert [t["name"] for t in described[name]["inputs"]] == \
            [t.name for t in component.spec.inputs]
        assert set(described[name]["params"]) == {p.name for p in component.spec.params}


@pytest.mark.parametrize("params", [
    {"metrics": ["population", "accounts"]},
    {"metrics": "population, accounts", "lon": "lon", "current": "c"},
    {"metrics": ["revenue"], "x": "x"},
    {},
])
def test_output_columns_expand_like_python(params: dict[str, Any]) -> None:
    renderer = Renderer("duckdb")
    for name, component in registry.components().items():
        for table in component.spec.outputs:
            jinja = [tuple(c) for c in renderer.output_columns(name, table.name, params)]
            assert jinja == output_columns(name, table.name, params), (name, table.name)


def _python_accepts(component: str, key: str, value: Any) -> bool:
    try:
        registry.get(component).spec.param(key).coerce(value)
    except Exception:
        return False
    return True


@pytest.mark.parametrize(("key", "value"), [
    ("territories", 0), ("territories", 3), ("territories", 2.5), ("territories", "8"),
    ("tolerance", -0.1), ("tolerance", 0.02), ("tolerance", True), ("objective", "distance"),
    ("objective", "compact"), ("link_islands", False), ("link_islands", "yes"),
    ("metrics", []), ("metrics", ["a", "b"]), ("method", "exact"), ("seed", -1),
])
def test_parameters_checked_like_the_spec(key: str, value: Any) -> None:
    """Every value the spec rejects fails at compile time, naming the parameter, its range
    and the value; values the spec accepts in their own type pass (the only difference:
    dbt does not read text like '8' or 'yes' as a number or a bool, it rejects it)."""
    renderer = Renderer("duckdb")
    params = {"territories": 4, "metrics": ["population"], key: value}
    python_ok = _python_accepts("territory_balancing", key, value) and not (
        isinstance(value, str) and registry.get("territory_balancing").spec.param(key).type
        in ("int", "float", "bool"))
    try:
        renderer.check_params("territory_balancing", params)
    except CompilerError as err:
        assert not python_ok, err
        spec = registry.get("territory_balancing").spec.param(key)
        kind = "true or false" if spec.type == "bool" else spec.describe_range()
        assert f"parameter '{key}' must be {kind}; got " in str(err)
        return
    assert python_ok, (key, value)


def test_parameter_errors_name_the_fix() -> None:
    renderer = Renderer("duckdb")
    with pytest.raises(CompilerError, match=r"no parameter 'territorys' \(parameters: .*"
                                            r"territories"):
        renderer.check_params("territory_balancing", {"territorys": 3})
    with pytest.raises(CompilerError, match="parameter 'metrics' is required"):
        renderer.check_params("territory_balancing", {"territories": 3})
    with pytest.raises(CompilerError, match="the 'scus' input is required"):
        renderer.territory_balancing(None, params={"territories": 3, "metrics": ["a"]})
    with pytest.raises(CompilerError, match="output 'summary' does not exist; outputs: "
                                            "assignments, territories"):
        renderer.territory_balancing(renderer.relation("scus"), output="summary",
                                     params={"territories": 3, "metrics": ["a"]})
    assert all(p.default is not REQUIRED or p.name in ("territories", "metrics")
               for p in registry.get("territory_balancing").spec.params)

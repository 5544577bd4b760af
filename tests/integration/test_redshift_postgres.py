"""The Redshift procedures run for real, on the PostgreSQL stand-in (redshift_pg.py).

``terraplan deploy redshift``'s statements (all but ``CREATE EXTERNAL FUNCTION``, which
the stand-in replaces by a function speaking the Lambda protocol to the real handler)
are executed; users' CALLs and a compiled two-step workflow run against tables; the
answers are checked against the component called directly and by oracles written here
(every unit once, contiguity by a graph search, balance from the published rows).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import defaultdict, deque
from pathlib import Path

import pandas as pd
import pytest
import yaml

from components import registry
from tests.conftest import ROOT
from tests.golden import assert_golden
from tests.integration import redshift_pg
from udfs.base import Location
from udfs.redshift.ddl import Target, deploy_statements, script
from udfs.redshift.handler import canonical_rows

pytestmark = pytest.mark.skipif(redshift_pg.missing() is not None,
                                reason=redshift_pg.missing() or "")

DATA = ROOT / "workflows" / "examples" / "data"
COLUMNS = ["scu_id", "lon", "lat", "population", "accounts", "current_territory"]
PARAMS = {"territories": 10, "metrics": ["population", "accounts"], "id": "scu_id",
          "lon": "lon", "lat": "lat", "current": "current_territory", "tolerance": 0.05,
          "seed": 0}
SQL_TYPES = {"object": "VARCHAR(256)", "float64": "DOUBLE PRECISION", "int64": "BIGINT",
             "bool": "BOOLEAN"}


def georgia() -> tuple[pd.DataFrame, pd.DataFrame]:
    scus = pd.read_csv(DATA / "scus.csv", dtype={"scu_id": str, "current_territory": str})
    edges = pd.read_csv(DATA / "edges.csv", dtype={"from_id": str, "to_id": str})
    return scus[COLUMNS], edges


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load(con, schema: str, table: str, df: pd.DataFrame) -> None:
    cols = ", ".join(f"{quoted(c)} {SQL_TYPES[str(t)]}" for c, t in df.dtypes.items())
    with con.cursor() as cur:
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted(schema)}")
        cur.execute(f"DROP TABLE IF EXISTS {quoted(schema)}.{quoted(table)}")
        cur.execute(f"CREATE TABLE {quoted(schema)}.{quoted(table)} ({cols})")
        with cur.copy(f"COPY {quoted(schema)}.{quoted(table)} FROM STDIN") as copy:
            for row in df.itertuples(index=False):
                copy.write_row([None if pd.isna(v) else v for v in row])


def read(con, name: str) -> pd.DataFrame:
    schema, table = name.split(".", 1)
    with con.cursor() as cur:
        cur.execute(f"SELECT * FROM {quoted(schema)}.{quoted(table)}")
        return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def runs(con) -> pd.DataFrame:
    return read(con, "terraplan.terraplan_runs")


@pytest.fixture(scope="module")
def redshift():
    # not pytest's tmp_path: its parents are private to root, and the server runs as postgres
    workdir = Path(tempfile.mkdtemp(prefix="terraplan-redshift-pg-"))
    server = redshift_pg.RedshiftStandIn(workdir)
    service = redshift_pg.LambdaService()
    try:
        con = server.connect()
        server.install(con, service.url)
        with con.cursor() as cur:
            for statement in deploy_statements(Target()):
                if statement.kind != "external_function":
                    cur.execute(statement.sql)
        scus, edges = georgia()
        # stored in another order than the files': a table has no row order, and the
        # answer must not depend on the one LISTAGG happens to use
        load(con, "sales", "ga", scus.sample(frac=1, random_state=7))
        load(con, "sales", "ga_edges", edges.sample(frac=1, random_state=7))
        yield con
        con.close()
    finally:
        service.stop()
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def direct(component: str, main: pd.DataFrame, params: dict, **others: pd.DataFrame):
    """The component on the rows in the order the handler gives them (canonical)."""
    def canon(df):
        return pd.DataFrame.from_records(canonical_rows(json.dumps(df.to_dict("records"))))

    return registry.get(component).run(canon(main), **{k: canon(v) for k, v in others.items()},
                                       **params)


def contiguous(units: list[str], edges: pd.DataFrame) -> bool:
    members = set(units)
    graph = defaultdict(set)
    for a, b in zip(edges["from_id"], edges["to_id"], strict=True):
        if a in members and b in members:
            graph[a].add(b)
            graph[b].add(a)
    seen, queue = {units[0]}, deque([units[0]])
    while queue:
        for nxt in graph[queue.popleft()] - seen:
            seen.add(nxt)
            queue.append(nxt)
    return seen == members


def test_call_publishes_every_output_and_matches_the_component(redshift):
    with redshift.cursor() as cur:
        cur.execute("CALL terraplan.territory_balancing('sales.ga', NULL, 'sales.ga_edges', "
                    "'sales.assignments', 'sales.territories', %s)", [json.dumps(PARAMS)])
    assignments, territories = read(redshift, "sales.assignments"), read(redshift,
                                                                         "sales.territories")
    run_id = assignments["run_id"].iloc[0]
    assert set(assignments["run_id"]) == set(territories["run_id"]) == {run_id}
    log = runs(redshift).set_index("run_id").loc[run_id]
    assert log["status"] == "succeeded" and log["component"] == "territory_balancing"
    assert json.loads(log["outputs"]) == {"assignments": "sales.assignments",
                                          "territories": "sales.territories"}
    # the per-metric and conditional columns the call asked for, typed
    assert {"population", "population_ratio", "accounts", "accounts_ratio"} <= set(territories)
    assert {"previous_territory", "moved"} <= set(assignments)
    assert territories["population"].dtype == float and assignments["moved"].dtype == bool

    scus, edges = georgia()
    want = direct("territory_balancing", scus, PARAMS, edges=edges)
    got = assignments.drop(columns="run_id").sort_values("id").reset_index(drop=True)
    expected = want.tables["assignments"].sort_values("id").reset_index(drop=True)
    assert list(got["id"]) == list(expected["id"])
    assert list(got["territory"]) == list(expected["territory"])
    assert json.loads(log["report"])["objective"] == pytest.approx(want.report["objective"])

    # oracles: each unit once, each territory connected, each metric within 5 %
    assert sorted(got["id"]) == sorted(scus["scu_id"]) and got["id"].is_unique
    joined = got.merge(scus, left_on="id", right_on="scu_id")
    for _territory, units in joined.groupby("territory"):
        assert contiguous(list(units["id"]), edges)
    for metric in PARAMS["metrics"]:
        totals = joined.groupby("territory")[metric].sum()
        ratio = totals / (scus[metric].sum() / PARAMS["territories"])
        assert ratio.between(0.95 - 1e-9, 1.05 + 1e-9).all(), ratio


def test_a_failed_call_changes_no_output_and_is_logged(redshift):
    with redshift.cursor() as cur:
        cur.execute("CALL terraplan.territory_balancing('sales.ga', NULL, 'sales.ga_edges', "
                    "'sales.fail_a', 'sales.fail_t', %s)", [json.dumps(PARAMS)])
    before = read(redshift, "sales.fail_a")
    bad = {**PARAMS, "metrics": ["population", "no_such_column"]}
    import psycopg

    with pytest.raises(psycopg.Error, match="no_such_column"), redshift.cursor() as cur:
        cur.execute("CALL terraplan.territory_balancing('sales.ga', NULL, 'sales.ga_edges', "
                    "'sales.fail_a', 'sales.fail_t', %s)", [json.dumps(bad)])
    pd.testing.assert_frame_equal(read(redshift, "sales.fail_a"), before)
    failed = runs(redshift).query("status == 'failed'")
    assert failed["error"].str.contains("no_such_column").any()


def test_a_table_over_64_kb_is_refused_with_its_size(redshift):
    import psycopg

    big = pd.DataFrame({"id": [f"unit-{i:05d}" for i in range(3000)],
                        "x": [float(i % 50) for i in range(3000)],
                        "y": [float(i // 50) for i in range(3000)]})
    load(redshift, "sales", "big", big)
    with pytest.raises(psycopg.Error, match=r"sales\.big packs to \d+ bytes, over the 65,535"):
        with redshift.cursor() as cur:
            cur.execute("CALL terraplan.cost_matrix('sales.big', NULL, NULL, NULL, "
                        "'sales.big_costs', %s)", [json.dumps({"x": "x", "y": "y"})])


def test_table_names_with_sql_in_them_stay_identifiers(redshift):
    odd = "x; DROP TABLE y --"
    load(redshift, "sales", "y", pd.DataFrame({"keep": [1, 2, 3]}))
    scus, edges = georgia()
    load(redshift, "sales", odd, scus)
    load(redshift, "sales", "e'dges", edges)
    with redshift.cursor() as cur:
        cur.execute("CALL terraplan.territory_balancing(%s, NULL, %s, %s, %s, %s)",
                    [f"sales.{odd}", "sales.e'dges", 'sales.a"b; DROP TABLE y --',
                     f"sales.{odd} out", json.dumps(PARAMS)])
    assert list(read(redshift, "sales.y")["keep"]) == [1, 2, 3]
    assert len(read(redshift, 'sales.a"b; DROP TABLE y --')) == len(scus)


def test_compiled_two_step_workflow_runs(redshift, tmp_path: Path):
    """``terraplan compile --warehouse redshift``: balance then locate on the same
    counties, each CALL executed as compiled."""
    from workflows.compile import compile_statements

    workflow = {
        "name": "two_steps", "warehouse": "redshift",
        "sources": {"counties": {"table": "sales.ga"}, "adjacency": {"table": "sales.ga_edges"}},
        "steps": [
            {"name": "balance", "uses": "territory_balancing",
             "inputs": {"scus": "counties", "edges": "adjacency"}, "with": PARAMS,
             "outputs": {"assignments": "wf_assignments", "territories": "wf_territories"}},
            {"name": "hubs", "uses": "location_allocation", "inputs": {"demand": "counties"},
             "with": {"facilities": 4, "strategy": "min_total_cost", "id": "scu_id",
                      "lon": "lon", "lat": "lat", "weight": "population", "seed": 0},
             "outputs": {"assignments": "wf_hub_assignments", "facilities": "wf_hubs"}}]}
    path = tmp_path / "two_steps.yaml"
    path.write_text(yaml.safe_dump(workflow, sort_keys=False))
    statements = compile_statements(path, "redshift", Location(data_schema="sales"))
    assert len(statements) == 2
    with redshift.cursor() as cur:
        for statement in statements:
            cur.execute(statement.sql)
    hubs = read(redshift, "sales.wf_hubs")
    assert int(hubs["open"].sum()) == 4 if "open" in hubs else len(hubs) == 4
    served = read(redshift, "sales.wf_hub_assignments")
    assert served["id"].is_unique and len(served) == 159
    scus, _ = georgia()
    want = direct("location_allocation", scus, workflow["steps"][1]["with"])
    assert sorted(served["facility"].unique()) == sorted(
        want.tables["assignments"]["facility"].unique())
    log = runs(redshift)
    assert {"territory_balancing", "location_allocation"} <= set(
        log.query("status == 'succeeded'")["component"])


def test_deploy_script_is_the_golden_file():
    assert_golden(ROOT / "tests" / "snapshots" / "redshift" / "deploy.sql", script(Target()))


def test_a_scheduled_rebalance_starts_from_the_published_alignment(redshift, tmp_path: Path):
    """The compiled workflow with a ``rebalance`` block, run as the schedule runs it: the
    first run has no alignment yet (every unit new), the second starts from the first's
    published one, after a county's population changed, and moves few units."""
    from workflows.compile import compile_statements

    scus, edges = georgia()
    load(redshift, "sched", "counties", scus)
    load(redshift, "sched", "adjacency", edges)
    params = {k: v for k, v in PARAMS.items() if k != "current"}
    workflow = {
        "name": "weekly", "warehouse": "redshift",
        "sources": {"counties": {"table": "counties"}, "adjacency": {"table": "adjacency"}},
        "rebalance": {"step": "balance", "alignment": "alignment", "disruption_weight": 10,
                      "max_moved": 0.2},
        "steps": [{"name": "balance", "uses": "territory_balancing",
                   "inputs": {"scus": "counties", "edges": "adjacency"}, "with": params,
                   "outputs": {"assignments": "alignment", "territories": "summary"}}]}
    path = tmp_path / "weekly.yaml"
    path.write_text(yaml.safe_dump(workflow, sort_keys=False))
    statements = compile_statements(path, "redshift", Location(data_schema="sched"))

    def run() -> pd.DataFrame:
        with redshift.cursor() as cur:
            for statement in statements:
                cur.execute(statement.sql)
        return read(redshift, "sched.alignment").set_index("id")

    first = run()
    assert len(first) == len(scus) and (first["previous_territory"] == "(new)").all()
    changed = scus.assign(population=scus["population"].where(scus["scu_id"] != "13001",
                                                               scus["population"] * 3))
    load(redshift, "sched", "counties", changed)
    second = run().reindex(first.index)
    # today's alignment went in as the current one ...
    assert (second["previous_territory"] == first["territory"]).all()
    # ... and the rebalance moved at most max_moved of the population away from it
    moved = second["territory"] != first["territory"]
    share = changed.set_index("scu_id").loc[moved[moved].index, "population"].sum() / \
        changed["population"].sum()
    assert share <= 0.2 + 1e-9, (int(moved.sum()), share)

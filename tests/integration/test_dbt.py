"""The dbt package on DuckDB, for real: `dbt build` of tests/dbt_project through dbt's
Python API (dbtRunner), with the bundled Georgia counties as seeds.

One project is built in a temporary folder and taken through a life: first build,
a data change (a county's population moves, a county is added), an infeasible request,
a failing solve, an accepted infeasible answer, and alignments broken on purpose. Every
invariant is checked here with its own oracle (pandas counts, scipy connected
components), not with the solver's flags or the package's own tests.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

pytest.importorskip("dbt.adapters.duckdb", reason="dbt-duckdb is not installed: "
                    "pip install -e '.[dev]' (make test installs it)")
from dbt.cli.main import dbtRunner

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "tests" / "dbt_project"
DATA = ROOT / "workflows" / "examples" / "data"
METRICS = ("population", "accounts")
TOLERANCE = 0.05
NEW_UNIT = "13999"

pytestmark = pytest.mark.slow


class Project:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.database = path / "warehouse.duckdb"

    def dbt(self, *args: str, vars: dict | None = None):
        argv = [*args, "--project-dir", str(self.path), "--profiles-dir", str(self.path)]
        if vars:
            argv += ["--vars", yaml.safe_dump(vars)]
        return dbtRunner().invoke(argv)

    def query(self, sql: str) -> pd.DataFrame:
        con = duckdb.connect(str(self.database))
        try:
            return con.execute(sql).df()
        finally:
            con.close()

    def seeds(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        units = pd.read_csv(self.path / "seeds" / "ga_counties.csv", dtype={"scu_id": str})
        edges = pd.read_csv(self.path / "seeds" / "ga_edges.csv", dtype=str)
        return units, edges


def accounts(units: pd.DataFrame) -> pd.DataFrame:
    """One row per account of each county, near its centroid, with a revenue (seeded)."""
    rng = np.random.default_rng(7)
    county = units.loc[units.index.repeat(units["accounts"])]
    return pd.DataFrame({
        "account_id": [f"A{i:05d}" for i in range(len(county))],
        "scu_id": county["scu_id"].to_numpy(),
        "lon": county["lon"].to_numpy() + rng.uniform(-0.02, 0.02, len(county)),
        "lat": county["lat"].to_numpy() + rng.uniform(-0.02, 0.02, len(county)),
        "revenue": rng.integers(100, 10_000, len(county)),
    })


def problems(result) -> object:
    """What went wrong in a dbt invocation: the failing nodes and messages, or the error."""
    if result.result is None or not hasattr(result.result, "results"):
        return result.exception
    return [(r.node.name, r.message) for r in result.result.results
            if str(r.status) not in ("success", "pass")]


def node(result, name: str):
    return next(r for r in result.result.results if r.node.name == name)


def check_alignment(alignment: pd.DataFrame, units: pd.DataFrame, edges: pd.DataFrame,
                    territories: int) -> None:
    """Oracles: each unit exactly once, balance within tolerance, each territory connected."""
    ids = units["scu_id"].astype(str)
    assert sorted(alignment["id"]) == sorted(ids), "every unit exactly once"
    assert alignment["territory"].notna().all()
    assert alignment["territory"].nunique() == territories
    joined = alignment.merge(units, left_on="id", right_on="scu_id")
    for metric in METRICS:
        totals = joined.groupby("territory")[metric].sum()
        ratio = totals / (units[metric].sum() / territories)
        assert ratio.between(1 - TOLERANCE - 1e-9, 1 + TOLERANCE + 1e-9).all(), (metric, ratio)
    index = {u: i for i, u in enumerate(alignment["id"])}
    where = dict(zip(alignment["id"], alignment["territory"], strict=True))
    same = [(index[a], index[b]) for a, b in zip(edges["from_id"], edges["to_id"], strict=True)
            if a in where and b in where and where[a] == where[b]]
    rows, cols = (np.array(x, dtype=int) for x in zip(*same, strict=True))
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(index),) * 2)
    _, labels = connected_components(graph, directed=False)
    parts = pd.Series(labels).groupby(alignment["territory"].to_numpy()).nunique()
    assert (parts == 1).all(), f"territories in several pieces: {parts[parts > 1].to_dict()}"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    path = tmp_path_factory.mktemp("dbt") / "project"
    shutil.copytree(PROJECT, path, ignore=shutil.ignore_patterns("target", "dbt_packages",
                                                                 "logs"))
    (path / "packages.yml").write_text(yaml.safe_dump(
        {"packages": [{"local": str(ROOT / "workflows" / "dbt")}]}))
    (path / "profiles.yml").write_text(yaml.safe_dump({"terraplan_dbt_test": {
        "target": "dev", "outputs": {"dev": {
            "type": "duckdb", "path": str(path / "warehouse.duckdb"), "threads": 1,
            "plugins": [{"module": "udfs.duckdb_dbt", "alias": "terraplan"}]}}}}))
    shutil.copy(DATA / "scus.csv", path / "seeds" / "ga_counties.csv")
    shutil.copy(DATA / "edges.csv", path / "seeds" / "ga_edges.csv")
    accounts(pd.read_csv(DATA / "scus.csv", dtype={"scu_id": str})).to_csv(
        path / "seeds" / "ga_accounts.csv", index=False)
    project = Project(path)
    assert project.dbt("deps").success
    return project


@pytest.fixture(scope="module")
def first(project: Project) -> pd.DataFrame:
    result = project.dbt("build")
    assert result.success, problems(result)
    return project.query("SELECT * FROM territory_alignment")


def test_first_build_solves_and_passes_its_tests(project: Project, first: pd.DataFrame) -> None:
    units, edges = project.seeds()
    check_alignment(first, units, edges, territories=6)
    assert first["run_id"].nunique() == 1
    history = project.query("SELECT * FROM territory_alignment__history")
    assert len(history) == len(units) and history["run_id"].nunique() == 1
    runs = project.query("SELECT * FROM territory_alignment__runs")
    assert runs["published"].tolist() == [True]
    assert runs["status"][0] in ("feasible", "optimal")

    # sources unchanged: the next build does not solve again, nor add a version
    result = project.dbt("run", "-s", "territory_alignment")
    assert result.success, problems(result)
    assert project.query("SELECT count(DISTINCT run_id) AS n FROM "
                         "territory_alignment__history")["n"][0] == 1
    pd.testing.assert_frame_equal(project.query("SELECT * FROM territory_alignment"), first)
    last = project.query("SELECT status, published FROM territory_alignment__runs "
                         "ORDER BY run_at DESC LIMIT 1")
    assert last.values.tolist() == [["unchanged", False]]

    # location allocation through the plain-table form: 5 hubs, each county at its nearest
    hubs = project.query("SELECT * FROM hubs WHERE open")
    assign = project.query("SELECT * FROM hub_assignments")
    assert len(hubs) == 5 and sorted(assign["id"]) == sorted(units["scu_id"])
    assert set(assign["facility"]) == set(hubs["id"])
    coords = units.set_index("scu_id")[["lon", "lat"]]
    lon, lat = (np.radians(coords.loc[assign["id"], c].to_numpy())[:, None] for c in ("lon", "lat"))
    hlon, hlat = (np.radians(coords.loc[hubs["id"], c].to_numpy())[None, :] for c in ("lon", "lat"))
    km = 2 * 6371.0088 * np.arcsin(np.sqrt(np.sin((hlat - lat) / 2) ** 2 + np.cos(lat)
                                           * np.cos(hlat) * np.sin((hlon - lon) / 2) ** 2))
    nearest = hubs["id"].to_numpy()[km.argmin(axis=1)]
    assert (nearest == assign["facility"].to_numpy()).mean() == 1.0  # p-median: closest hub
    costs = project.query("SELECT * FROM nearest_neighbours")
    assert costs.groupby("origin_id").size().eq(3).all()

    # SCUs aggregated in the warehouse from the account points: counts and sums as pandas
    points = pd.read_csv(project.path / "seeds" / "ga_accounts.csv", dtype={"scu_id": str})
    scus = project.query("SELECT * FROM scus_from_accounts").set_index("id").sort_index()
    expected = points.groupby("scu_id").agg(n=("account_id", "size"), revenue=("revenue", "sum"))
    assert scus["n_points"].tolist() == expected["n"].tolist()
    assert scus["revenue"].tolist() == expected["revenue"].astype(float).tolist()
    assert np.allclose(scus["lon"], points.groupby("scu_id")["lon"].mean())

    # adjacency from the centroids: pairs of distinct existing counties, none left out
    adjacency = project.query("SELECT * FROM county_adjacency")
    assert set(adjacency["from_id"]) | set(adjacency["to_id"]) <= set(units["scu_id"])
    assert (adjacency["from_id"] != adjacency["to_id"]).all()
    assert set(adjacency["from_id"]) | set(adjacency["to_id"]) == set(units["scu_id"])

    # one polygon per territory whose population is the territory's, by the alignment
    shapes = project.query("SELECT * FROM territory_shapes").set_index("territory")
    totals = first.merge(units, left_on="id", right_on="scu_id").groupby("territory")[
        "population"].sum()
    assert sorted(shapes.index) == sorted(totals.index)
    assert np.allclose(shapes.loc[totals.index, "population"], totals)
    assert shapes["wkt"].str.match(r"(MULTI)?POLYGON").all()


@pytest.fixture(scope="module")
def second(project: Project, first: pd.DataFrame) -> pd.DataFrame:
    units, edges = project.seeds()
    units.loc[units["scu_id"] == "13001", "population"] += 30_000   # a metric value moves
    new = {"scu_id": NEW_UNIT, "name": "New County", "state": "GA", "lon": -84.45,
           "lat": 33.85, "population": 20_000, "accounts": 8, "current_territory": "",
           "wkt": "POLYGON ((-84.47 33.83, -84.43 33.83, -84.43 33.87, -84.47 33.87, "
                  "-84.47 33.83))"}
    units = pd.concat([units, pd.DataFrame([new])], ignore_index=True)  # a unit is added
    edges = pd.concat([edges, pd.DataFrame({"from_id": [NEW_UNIT, NEW_UNIT],
                                            "to_id": ["13121", "13089"],
                                            "shared_km": ["5", "5"]})], ignore_index=True)
    units.to_csv(project.path / "seeds" / "ga_counties.csv", index=False)
    edges.to_csv(project.path / "seeds" / "ga_edges.csv", index=False)
    result = project.dbt("build")
    assert result.success, problems(result)
    return project.query("SELECT * FROM territory_alignment")


def test_rebalance_after_a_data_change_moves_few_units(project: Project, first: pd.DataFrame,
                                                       second: pd.DataFrame) -> None:
    units, edges = project.seeds()
    check_alignment(second, units, edges, territories=6)
    before = dict(zip(first["id"], first["territory"], strict=True))
    moved = [u for u, t in zip(second["id"], second["territory"], strict=True)
             if u in before and before[u] != t]
    # the previous version was fed in as the current alignment: few units move
    assert len(moved) <= 8, moved
    share = units.set_index("scu_id").loc[moved, "population"].sum() / units["population"].sum()
    assert share <= 0.2  # the configured max_moved
    flagged = second[second["moved"] & (second["id"] != NEW_UNIT)]["id"]
    assert sorted(flagged) == sorted(moved)
    assert second.set_index("id").loc[NEW_UNIT, "previous_territory"] == "(new)"
    history = project.query("SELECT run_id, count(*) AS n FROM territory_alignment__history "
                            "GROUP BY run_id ORDER BY min(run_at)")
    assert history["n"].tolist() == [159, 160]
    assert history["run_id"].tolist() == [first["run_id"][0], second["run_id"][0]]


def test_infeasible_and_failing_solves_keep_the_previous_version(project: Project,
                                                                  second: pd.DataFrame) -> None:
    kept = second.sort_values("id").reset_index(drop=True)

    def current() -> pd.DataFrame:
        return project.query("SELECT * FROM territory_alignment ORDER BY id")

    # a bound that cannot be met in the iteration budget: not published
    result = project.dbt("run", "-s", "territory_alignment",
                         vars={"tolerance": 0.001, "max_iterations": 5, "time_limit": 20})
    assert not result.success
    message = node(result, "territory_alignment").message
    # (missed tolerance, or the move cap of the rebalance: either is a missed bound)
    assert ("tolerance_not_met" in message or "constraint_violated" in message) \
        and "previous version stays" in message
    pd.testing.assert_frame_equal(current(), kept)

    # a proven infeasibility (one county above every territory's bound) fails the node
    result = project.dbt("run", "-s", "territory_alignment", vars={"territories": 20})
    assert not result.success
    message = node(result, "territory_alignment").message
    assert "13121" in message and "previous version stays" in message
    pd.testing.assert_frame_equal(current(), kept)

    runs = project.query("SELECT status, published, error FROM territory_alignment__runs "
                         "WHERE status IS DISTINCT FROM 'unchanged' ORDER BY run_at")
    assert runs["published"].tolist() == [True, True, False, False]
    assert runs["status"].iloc[2] in ("tolerance_not_met", "constraint_violated")
    assert "13121" in runs["error"].iloc[3]
    assert project.query("SELECT count(DISTINCT run_id) AS n FROM "
                         "territory_alignment__history")["n"][0] == 2

    # the user accepts an answer that misses a bound: it is published and versioned
    result = project.dbt("run", "-s", "territory_alignment",
                         vars={"tolerance": 0.001, "max_iterations": 5, "time_limit": 20,
                               "accept_infeasible": True})
    assert result.success
    status, published = project.query("SELECT status, published FROM territory_alignment__runs "
                                      "ORDER BY run_at DESC LIMIT 1").values.tolist()[0]
    assert status in ("tolerance_not_met", "constraint_violated") and published
    assert project.query("SELECT count(DISTINCT run_id) AS n FROM "
                         "territory_alignment__history")["n"][0] == 3


BROKEN = {
    # one county twice, one missing
    "broken_once": "select id, territory from {{ ref('territory_alignment') }} where id <> '13003'"
                   " union all select id, territory from {{ ref('territory_alignment') }}"
                   " where id = '13001'",
    # Fulton (the most populous county) moved to another territory: two territories off
    "broken_balance": "select id, case when id = '13121' then (select min(territory) from "
                      "{{ ref('territory_alignment') }} where territory <> (select territory "
                      "from {{ ref('territory_alignment') }} where id = '13121')) else "
                      "territory end as territory from {{ ref('territory_alignment') }}",
    # one county put in a territory none of its neighbours is in
    "broken_contiguity": "select id, case when id = '{unit}' then '{territory}' else territory"
                         " end as territory from {{ ref('territory_alignment') }}",
}


def test_generic_tests_fail_on_broken_alignments(project: Project, second: pd.DataFrame) -> None:
    _, edges = project.seeds()
    alignment = project.query("SELECT id, territory FROM territory_alignment")
    where = dict(zip(alignment["id"], alignment["territory"], strict=True))
    # an island: a unit whose neighbours' territories do not include some territory T
    neighbours = pd.concat([edges.rename(columns={"from_id": "a", "to_id": "b"}),
                            edges.rename(columns={"to_id": "a", "from_id": "b"})])
    unit, territory = next(
        (u, t) for u in sorted(where) for t in sorted(set(where.values()))
        if t != where[u] and t not in {where[b] for b in neighbours[neighbours["a"] == u]["b"]})
    models = project.path / "models" / "broken"
    models.mkdir()
    for name, sql in BROKEN.items():
        text = sql.replace("{unit}", unit).replace("{territory}", territory)
        (models / f"{name}.sql").write_text(text)
    tests = {"version": 2, "models": [{"name": name, "data_tests": [
        {"terraplan.assigned_once": {"arguments": {"units": "ref('scus')"}}},
        {"terraplan.balanced": {"arguments": {"units": "ref('scus')",
                                              "metrics": list(METRICS), "tolerance": 0.05}}},
        {"terraplan.contiguous": {"arguments": {"edges": "ref('scu_edges')"}}},
        {"terraplan.contiguous": {"arguments": {"edges": "ref('scu_edges')",
                                                "method": "labels", "max_hops": 40}}},
    ]} for name in BROKEN]}
    (models / "schema.yml").write_text(yaml.safe_dump(tests))
    try:
        result = project.dbt("build", "-s", "path:models/broken")
        outcome = {}
        for r in result.result.results:
            if r.node.resource_type == "test":
                kind = r.node.test_metadata.name + (
                    "_labels" if r.node.test_metadata.kwargs.get("method") else "")
                outcome[(r.node.attached_node.split(".")[-1], kind)] = (str(r.status), r.failures)
    finally:
        shutil.rmtree(models)
    # oracles: what each broken model breaks, and only that
    assert outcome[("broken_once", "assigned_once")] == ("fail", 2)  # 13001 twice, 13003 none
    assert outcome[("broken_balance", "assigned_once")] == ("pass", 0)
    assert outcome[("broken_balance", "balanced")][0] == "fail"
    assert outcome[("broken_contiguity", "assigned_once")] == ("pass", 0)
    for kind in ("contiguous", "contiguous_labels"):
        assert outcome[("broken_contiguity", kind)][0] == "fail"
        assert outcome[("broken_once", kind)] == ("pass", 0)
    # the moved unit is cut off from its new territory (or, if it was its territory's
    # lowest id, the rest of it is): at least one failing row either way
    assert outcome[("broken_contiguity", "contiguous")][1] >= 1
    assert outcome[("broken_contiguity", "contiguous")] == \
        outcome[("broken_contiguity", "contiguous_labels")]


def test_bad_parameters_fail_when_the_model_compiles(project: Project) -> None:
    model = project.path / "models" / "bad_params.sql"
    model.write_text("{{ terraplan.territory_balancing(scus=ref('scus'), params={"
                     "'territorys': 4, 'metrics': ['population']}) }}")
    try:
        result = project.dbt("compile", "-s", "bad_params")
    finally:
        model.unlink()
    assert not result.success
    text = str(result.exception or node(result, "bad_params").message)
    assert "no parameter 'territorys'" in text and "territories" in text

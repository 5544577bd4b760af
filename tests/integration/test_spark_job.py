"""The compiled Databricks job run locally, task by task, through the same handlers
(``terraplan databricks-task``) on a local Spark session with parquet tables in a
temporary ``spark-warehouse`` (Delta needs jars from Maven, which this machine cannot
download; on Databricks the same code writes Delta).

A two-step workflow: ``adjacency`` builds the county edges, ``territory_balancing``
reads them from this run's stage table. It is scheduled on a cron and ``on_change`` of
the counties, and rebalances from the published alignment. Checked here: the published
tables equal the component's own answer; an unchanged source runs nothing; a changed one
reruns from today's alignment and moves at most ``max_moved``; a failing step publishes
nothing and logs why; history keeps every published version.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml

from components import registry
from components.errors import ParameterError
from tests.conftest import ROOT
from tests.integration.spark_session import spark_session
from udfs.base import Location
from udfs.spark.cli import task_main
from udfs.spark.job import job_settings, run_locally
from udfs.spark.tables import RUN_STEP, Home
from workflows.schedule import workflow_schedule
from workflows.spec import load_workflow

pytestmark = pytest.mark.slow

DATA = ROOT / "workflows" / "examples" / "data"
BALANCE = {"territories": 6, "metrics": ["population", "accounts"], "id": "scu_id",
           "lon": "lon", "lat": "lat", "seed": 0, "max_iterations": 40, "tolerance": 0.08}
WORKFLOW = {
    "name": "ga_weekly",
    "sources": {"counties": {"table": "counties"}},
    "schedule": {"cron": "3 6 * * 1", "timezone": "UTC", "on_change": ["counties"]},
    "rebalance": {"step": "balance", "alignment": "ga_assignments", "max_moved": 0.25},
    "steps": [
        {"name": "edges", "uses": "adjacency", "inputs": {"units": "counties"},
         "with": {"source": "points", "id": "scu_id", "lon": "lon", "lat": "lat"},
         "outputs": {"edges": "ga_edges"}},
        {"name": "balance", "uses": "territory_balancing",
         "inputs": {"scus": "counties", "edges": "ga_edges"}, "with": BALANCE,
         "outputs": {"assignments": "ga_assignments", "territories": "ga_territories"}},
    ],
}


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    spark = spark_session()
    spark.sql("CREATE DATABASE IF NOT EXISTS sales")
    counties = pd.read_csv(DATA / "scus.csv", dtype={"scu_id": str}).drop(columns="wkt")
    spark.createDataFrame(counties).write.format("parquet").mode("overwrite").saveAsTable(
        "sales.counties")
    path = tmp_path_factory.mktemp("wf") / "ga_weekly.yaml"
    path.write_text(yaml.safe_dump(WORKFLOW, sort_keys=False), encoding="utf-8")
    wf = load_workflow(path)
    settings = job_settings(wf, Location(data_schema="sales"), workflow_schedule(wf))
    home = Home(None, "sales", "parquet")

    def run(run_id: str, settings=settings):
        return run_locally(settings, lambda argv: task_main(argv, spark=spark, fmt="parquet"),
                           run_id, trigger="PERIODIC")

    return SimpleNamespace(spark=spark, home=home, counties=counties, settings=settings,
                           run=run)


def table(spark, name: str) -> pd.DataFrame:
    return spark.table(name).toPandas()


def test_a_run_publishes_what_the_components_answer(job):
    spark, counties, run = job.spark, job.counties, job.run
    assert run("r1") == ["sources_changed", "if_sources_changed", "step_edges",
                         "step_balance", "publish"]
    edges = registry.get("adjacency").run(counties.copy(), **WORKFLOW["steps"][0]["with"])
    direct = registry.get("territory_balancing").run(
        counties.copy(), edges=edges.tables["edges"], **BALANCE)
    got = table(spark, "sales.ga_assignments")
    assert set(got["run_id"]) == {"r1"}
    want = direct.tables["assignments"].sort_values("id").reset_index(drop=True)
    got = got.drop(columns="run_id").sort_values("id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got[list(want.columns)], want, check_dtype=False)
    assert sorted(got["id"]) == sorted(counties["scu_id"])  # oracle: every county once
    assert set(table(spark, "sales.ga_assignments__history")["run_id"]) == {"r1"}
    log = table(spark, "sales.terraplan_runs")
    mine = log[log["run_id"] == "r1"]
    assert sorted(mine["step"]) == sorted([RUN_STEP, "edges", "balance"])
    assert set(mine["status"]) == {"succeeded"} and set(mine["trigger"]) == {"PERIODIC"}
    run_row = mine[mine["step"] == RUN_STEP].iloc[0]
    assert run_row["fingerprint"].startswith("counties=159:")
    assert run_row["started_at"] == mine["started_at"].min() <= run_row["finished_at"]
    assert not [t.name for t in spark.catalog.listTables("sales") if "__stage__" in t.name]


def test_an_unchanged_source_runs_no_step(job):
    spark, run = job.spark, job.run
    assert run("r2") == ["sources_changed", "if_sources_changed"]
    assert set(table(spark, "sales.ga_assignments")["run_id"]) == {"r1"}
    assert "r2" not in set(table(spark, "sales.terraplan_runs")["run_id"])


def test_a_changed_source_rebalances_from_todays_alignment(job):
    spark, counties, run = job.spark, job.counties, job.run
    before = table(spark, "sales.ga_assignments").set_index("id")["territory"]
    grown = counties.copy()
    grown["population"] = grown["population"].astype(float)
    grown.loc[grown["scu_id"] == "13121", "population"] *= 1.5  # Fulton grows by half
    spark.createDataFrame(grown).write.format("parquet").mode("overwrite").saveAsTable(
        "sales.counties")
    assert run("r3")[-1] == "publish"
    after = table(spark, "sales.ga_assignments")
    assert set(after["run_id"]) == {"r3"}
    moved = after[after["moved"]]
    assert len(moved) and (moved["previous_territory"] == before[moved["id"]].values).all()
    share = grown.set_index("scu_id").loc[moved["id"], "population"].sum() / \
        grown["population"].sum()
    assert share <= 0.25 + 1e-9  # oracle: the rebalance block's max_moved
    log = table(spark, "sales.terraplan_runs")
    report = json.loads(log[(log["run_id"] == "r3") & (log["step"] == "balance")]
                        ["report"].iloc[0])
    assert report["rebalance"]["alignment"] == "ga_assignments"
    assert report["rebalance"]["moved_units"] == len(moved)
    history = table(spark, "sales.ga_assignments__history")
    assert history.groupby("run_id").size().to_dict() == {"r1": 159, "r3": 159}


def test_a_failing_step_publishes_nothing_and_logs_why(job):
    spark, settings, run = job.spark, job.settings, job.run
    before = table(spark, "sales.ga_assignments")
    broken = json.loads(json.dumps(settings))
    step = next(t for t in broken["tasks"] if t["task_key"] == "step_balance")
    args = step["python_wheel_task"]["parameters"]
    spec = json.loads(args[-1])
    spec["params"]["tolerance"] = 7
    args[-1] = json.dumps(spec)
    changed = pd.read_csv(DATA / "scus.csv", dtype={"scu_id": str}).drop(columns="wkt")
    spark.createDataFrame(changed).write.format("parquet").mode("overwrite").saveAsTable(
        "sales.counties")
    with pytest.raises(ParameterError, match="tolerance"):
        run("r4", settings=broken)
    pd.testing.assert_frame_equal(table(spark, "sales.ga_assignments"), before)
    log = table(spark, "sales.terraplan_runs")
    mine = log[log["run_id"] == "r4"].set_index("step")
    assert mine.loc["edges", "status"] == "succeeded"
    assert mine.loc["balance", "status"] == "failed" and "tolerance" in mine.loc[
        "balance", "error"]
    assert mine.loc[RUN_STEP, "status"] == "failed"
    stages = {t.name for t in spark.catalog.listTables("sales") if "__stage__" in t.name}
    assert stages == {"ga_edges__stage__r4"}  # the failed run's staged edges, unpublished
    # the next good run publishes (the failed run's stage is not mistaken for its output)
    # and drops what the failed run left
    assert run("r5")[-1] == "publish"
    assert set(table(spark, "sales.ga_assignments")["run_id"]) == {"r5"}
    assert not [t.name for t in spark.catalog.listTables("sales") if "__stage__" in t.name]

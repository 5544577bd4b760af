"""What a Databricks SQL user calls, run from ``spark.sql`` on a local PySpark session.

The functions are registered with :func:`udfs.spark.udtf.register_session` (pyspark's
``spark.udtf.register`` for the partition UDTF, ``spark.udf.register`` for the packed
function): the same handler classes the Unity Catalog DDL names in ``HANDLER``. Answers
are compared with the component run on each region alone; contiguity and coverage are
checked by oracles here.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from components import registry
from tests.integration.spark_session import spark_session
from tests.integration.test_spark_frames import PARAMS, REGIONS, connected, regional
from udfs.spark.ddl import Target, packed_function, partition_function
from udfs.spark.udtf import HANDLERS, REPORT, STATUS, register_session

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark():
    session = spark_session()
    names = register_session(session)
    assert "terraplan_territory_balancing_by_partition" in names
    scus, edges = regional({**REGIONS, "tiny": (2, 1, 4)})
    session.createDataFrame(scus).createOrReplaceTempView("scus")
    session.createDataFrame(edges).createOrReplaceTempView("edges")
    return session


def direct(scus: pd.DataFrame, region: str, **extra):
    mine = scus[scus["region"] == region].drop(columns="region").reset_index(drop=True)
    return registry.get("territory_balancing").run(mine, **extra, **PARAMS)


def test_partition_udtf_answers_every_region_and_one_row_for_a_failing_one(spark):
    got = spark.sql(
        "SELECT * FROM terraplan_territory_balancing_by_partition("
        "TABLE(SELECT id, x, y, load, region FROM scus) PARTITION BY (region), :params)",
        args={"params": json.dumps(PARAMS)}).toPandas()
    scus, _ = regional({**REGIONS, "tiny": (2, 1, 4)})
    region_of = dict(zip(scus["id"], scus["region"], strict=True))
    failed = got[got[STATUS] == "failed"]
    assert len(failed) == 1 and failed["id"].isna().all()
    error = json.loads(failed[REPORT].iloc[0])
    assert error["kind"] == "input" and "territories" in error["error"]
    ok = got[got[STATUS] == "succeeded"].assign(region=lambda d: d["id"].map(region_of))
    assert set(ok["region"]) == set(REGIONS)
    for region in REGIONS:
        rows = ok[ok["region"] == region].sort_values("id").reset_index(drop=True)
        ref = direct(scus, region).tables["assignments"].sort_values("id").reset_index(
            drop=True)
        assert list(rows["id"]) == list(ref["id"])  # every unit once
        assert list(rows["territory"]) == list(ref["territory"])
        assert rows["previous_territory"].isna().all()  # a conditional column, NULL here
        assert rows[REPORT].notna().sum() == 1
        # no edges given: adjacency from the points (Delaunay), as the direct call
        assert rows["territory"].nunique() == 3


def test_packed_function_groups_by_region_in_sql(spark):
    docs = spark.sql(
        "WITH u AS (SELECT region, to_json(collect_list(struct(id, x, y, load))) AS units"
        "           FROM scus GROUP BY region),"
        "     e AS (SELECT region, to_json(collect_list(struct(from_id, to_id))) AS edges"
        "           FROM edges GROUP BY region) "
        "SELECT u.region, terraplan_territory_balancing(u.units, NULL, e.edges, :params) AS doc"
        " FROM u LEFT JOIN e ON e.region = u.region",
        args={"params": json.dumps(PARAMS)}).toPandas()
    scus, edges = regional({**REGIONS, "tiny": (2, 1, 4)})
    by_region = {r: json.loads(d) for r, d in zip(docs["region"], docs["doc"], strict=True)}
    assert "territories" in by_region.pop("tiny")["error"]
    for region, doc in by_region.items():
        mine_e = edges[edges["region"] == region].drop(columns="region")
        ref = direct(scus, region, edges=mine_e)
        got = pd.DataFrame.from_records(doc["tables"]["assignments"]).sort_values("id")
        want = ref.tables["assignments"].sort_values("id")
        assert list(got["territory"]) == list(want["territory"])
        assert doc["report"]["objective"] == pytest.approx(ref.report["objective"], rel=1e-12)
        for _, part in got.groupby("territory"):
            assert connected(list(part["id"]), mine_e)


def test_the_unity_catalog_bodies_run_the_same_handlers(spark):
    """The ``AS $$ ... $$`` bodies of the deployed DDL, executed as Databricks does: the
    UDTF body must bind the HANDLER name to our class; the scalar body is a function
    body over the declared parameters."""
    target = Target()
    for component, cls in HANDLERS.items():
        ddl = partition_function(component, target)
        handler = ddl.split("HANDLER '", 1)[1].split("'", 1)[0]
        scope: dict = {}
        exec(ddl.split("AS $$\n", 1)[1].rsplit("\n$$", 1)[0], scope)
        assert scope[handler] is cls
    ddl = packed_function("territory_balancing", target)
    body = ddl.split("AS $$\n", 1)[1].rsplit("\n$$", 1)[0]
    params = ddl.split("(", 1)[1].split(")", 1)[0]
    names = [p.strip().split()[0].strip("`") for p in params.split(",")]
    scope = {}
    exec(f"def f({', '.join(names)}):\n" + "\n".join("    " + line for line in
                                                      body.splitlines()), scope)
    scus, _ = regional()
    north = scus[scus["region"] == "north"].drop(columns="region")
    doc = json.loads(scope["f"](north.to_json(orient="records"), None, None,
                                json.dumps(PARAMS)))
    ref = direct(scus, "north")
    assert [r["territory"] for r in sorted(doc["tables"]["assignments"],
                                           key=lambda r: r["id"])] == \
        list(ref.tables["assignments"].sort_values("id")["territory"])

"""Spark partition parallelism: 1,000 regional balancing problems in one Spark job
(``udfs.spark.territory_balancing(df, by=["region"])``, applyInPandas on ``local[*]``)
against the same solver calls one by one in a Python loop.

Both paths solve the same problems with the same seed and an iteration budget, so they
do the same solver work; the job's answers are checked equal to the loop's. Figures are
wall time on the machine named in the table header (Spark's workers are other processes,
so this process's CPU time would not count them); the loop's CPU seconds are given too.
The session start (JVM) and a first two-region job that starts the Python workers are
reported apart and not counted in the job time (a cluster's workers are warm).
"""

from __future__ import annotations

import os
import sys
import time

import pandas as pd

from components import registry
from tests.conftest import grid_edges, grid_scus

PARAMS = {"territories": 4, "metrics": ["load"], "x": "x", "y": "y", "seed": 0,
          "max_iterations": 40, "starts": 1}


def problems(n: int, nx: int = 6, ny: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    scus, edges = [], []
    base_edges = grid_edges(nx, ny)
    for r in range(n):
        s = grid_scus(nx, ny, seed=r)
        s["id"] = f"r{r:04d}-" + s["id"]
        e = base_edges.copy()
        e[["from_id", "to_id"]] = f"r{r:04d}-" + e[["from_id", "to_id"]]
        scus.append(s.assign(region=f"r{r:04d}"))
        edges.append(e.assign(region=f"r{r:04d}"))
    return pd.concat(scus, ignore_index=True), pd.concat(edges, ignore_index=True)


def session():
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master("local[*]").appName("terraplan-bench")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", str(os.cpu_count() or 2))
            .config("spark.sql.adaptive.enabled", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .getOrCreate())


def run(quick: bool = False) -> list[dict]:
    from tests.integration.spark_session import spark_missing

    reason = spark_missing()
    if reason:  # make bench installs both: a missing one is a miss, said in one row
        return [{"benchmark": "spark_partitions", "case": "1,000 regions in one Spark job",
                 "value": "not run", "unit": "", "target": "runs", "met": False,
                 "note": reason}]
    import udfs.spark as tp

    n = 100 if quick else 1000
    scus, edges = problems(n)
    t0 = time.monotonic()
    spark = session()
    spark.sparkContext.setLogLevel("ERROR")
    started = time.monotonic() - t0
    sdf = spark.createDataFrame(scus).cache()
    sdf.count()
    sedges = spark.createDataFrame(edges)
    # the first job starts the Python workers (imports numpy/scipy/terraplan): counted apart
    t0 = time.monotonic()
    small = sdf.where(sdf.region.isin("r0000", "r0001"))
    tp.territory_balancing(small, by=["region"], edges=edges[edges["region"] <= "r0001"],
                           **PARAMS).count()
    warm = time.monotonic() - t0

    t0 = time.monotonic()
    job = tp.territory_balancing(sdf, by=["region"], edges=sedges, **PARAMS).toPandas()
    job_wall = time.monotonic() - t0

    comp = registry.get("territory_balancing")
    by_region = dict(tuple(scus.groupby("region")))
    edges_by = dict(tuple(edges.groupby("region")))
    loop = []
    t0, c0 = time.monotonic(), time.process_time()
    for region, frame in by_region.items():
        result = comp.run(frame.drop(columns="region").reset_index(drop=True),
                          edges=edges_by[region].drop(columns="region"), **PARAMS)
        loop.append(result.tables["assignments"].assign(region=region))
    loop_wall, loop_cpu = time.monotonic() - t0, time.process_time() - c0
    spark.stop()

    want = pd.concat(loop, ignore_index=True).sort_values("id").reset_index(drop=True)
    got = job.sort_values("id").reset_index(drop=True)
    same = (set(job[tp.STATUS]) == {"succeeded"} and list(got["id"]) == list(want["id"])
            and list(got["territory"]) == list(want["territory"]))
    cores = os.cpu_count() or 1
    size = f"{n:,} regions x 30 units, 4 territories"
    return [
        {"benchmark": "spark_partitions", "case": f"{size}: one Spark job (local[{cores}])",
         "value": round(job_wall, 2), "unit": "s wall", "target": "",
         "note": f"JVM start {started:.1f} s and worker warm-up {warm:.1f} s not counted"},
        {"benchmark": "spark_partitions", "case": f"{size}: one by one (Python loop)",
         "value": round(loop_wall, 2), "unit": "s wall", "target": "",
         "note": f"{loop_cpu:.1f} CPU s in this process"},
        {"benchmark": "spark_partitions", "case": "job speed-up over the loop",
         "value": round(loop_wall / job_wall, 2), "unit": "x", "target": "> 1",
         "note": f"{cores} cores: at most ~{cores}x minus Arrow/JVM overhead"},
        {"benchmark": "spark_partitions", "case": "job answers = loop answers",
         "value": "yes" if same else "no", "unit": "", "target": "identical", "met": same,
         "note": "every region's territory per unit"},
    ]


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)

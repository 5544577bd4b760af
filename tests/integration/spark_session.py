"""One local PySpark session for every Spark test (starting one takes tens of seconds).

Skips with the reason when pyspark or a Java runtime is missing (``make spark`` installs
both). Bound to 127.0.0.1, UI off, two shuffle partitions: small data, shared machine.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import sys

import pytest


def spark_missing() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed: make spark (or pip install -e '.[spark]')"
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        return "no Java runtime: make spark installs openjdk-17-jre-headless"
    return None


@functools.lru_cache(maxsize=1)
def _session():
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers: this venv
    os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("terraplan-tests")
             .config("spark.driver.host", "127.0.0.1")
             .config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", "2")
             .config("spark.default.parallelism", "2")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true")
             .config("spark.driver.memory", "1g")
             .config("spark.sql.warehouse.dir", os.path.join(
                 os.environ.get("TMPDIR", "/tmp"), f"terraplan-spark-{os.getpid()}"))
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def spark_session():
    reason = spark_missing()
    if reason:
        pytest.skip(reason)
    return _session()

"""One local PySpark session for every Spark test (starting one takes seconds, not ms).

Skips with the reason when pyspark or a Java 17+ runtime is missing (``make test`` installs
the ``spark`` extra and, best effort, Debian's ``default-jre-headless`` through ``make
java``). Small and fast on a shared CI machine: ``local[2]``, two shuffle partitions, no
UI, bound to 127.0.0.1, the warehouse (``spark-warehouse``) in a temporary directory, one
session per test session, stopped at exit.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest


@functools.lru_cache(maxsize=1)
def spark_missing() -> str | None:
    """Why the Spark tests cannot run here (None: they can)."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed: make test installs it (pip install -e '.[spark]')"
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        return "no Java runtime: make java installs Debian's default-jre-headless"
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"{java} -version failed: {err}"
    match = re.search(r'version "(\d+)', out.stderr + out.stdout)
    if not match or int(match.group(1)) < 17:
        return f"Spark 4 needs Java 17 or later; {java} is {(out.stderr or '?').splitlines()[0]}"
    return None


@functools.lru_cache(maxsize=1)
def _session():
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers: this venv, this PYTHONPATH
    os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
    from pyspark.sql import SparkSession

    warehouse = tempfile.mkdtemp(prefix="terraplan-spark-")
    spark = (SparkSession.builder.master("local[2]").appName("terraplan-tests")
             .config("spark.driver.host", "127.0.0.1")
             .config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", "2")
             .config("spark.default.parallelism", "2")
             .config("spark.sql.adaptive.enabled", "false")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true")
             .config("spark.driver.memory", "1g")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.warehouse.dir", os.path.join(warehouse, "spark-warehouse"))
             .config("spark.driver.extraJavaOptions",
                     f"-Dderby.system.home={warehouse} -XX:+UseSerialGC")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")

    def stop() -> None:
        spark.stop()
        shutil.rmtree(warehouse, ignore_errors=True)

    atexit.register(stop)
    return spark


def spark_session():
    """The shared session, or a skip that says what is missing."""
    reason = spark_missing()
    if reason:
        pytest.skip(reason)
    return _session()

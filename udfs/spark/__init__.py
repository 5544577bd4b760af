"""Databricks / Spark adapter: the scale-out engine and Databricks SQL.

* :mod:`.frames`: ``udfs.spark.<component>(df, by=[...], **params)``, one independent
  problem per group through ``groupBy(...).applyInPandas(...)``;
* :mod:`.udtf`: the Python UDTF (``TABLE(t) PARTITION BY ...``) and packed-JSON scalar
  function that Databricks SQL calls, registered in Unity Catalog by
  :mod:`.ddl` / ``terraplan deploy databricks`` (:mod:`.cli`);
* :mod:`.job`: the workflow as a Databricks job (Jobs API settings / Asset Bundle) whose
  python_wheel_tasks (:mod:`.cli`, ``terraplan databricks-task``) run the steps and
  publish Delta tables through :mod:`.tables`; :mod:`.adapter`: the adapter (compile and
  schedule).

``import udfs.spark`` loads no pyspark: it is imported when a function runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from components import registry
from udfs.spark.frames import ERROR, REPORT, STATUS, run_grouped

__all__ = ["ERROR", "FUNCTIONS", "REPORT", "STATUS", "run_grouped"]


def _entry_point(component: str) -> Callable[..., Any]:
    @functools.wraps(run_grouped)
    def run(df: Any, by: Any = (), **kwargs: Any) -> Any:
        return run_grouped(component, df, by, **kwargs)

    run.__name__ = run.__qualname__ = component
    run.__doc__ = (f"{registry.get(component).spec.title}: one problem per ``by`` group "
                   "(see :mod:`udfs.spark.frames`).")
    return run


FUNCTIONS: dict[str, Callable[..., Any]] = {n: _entry_point(n) for n in registry.components()}
globals().update(FUNCTIONS)
__all__ += list(FUNCTIONS)

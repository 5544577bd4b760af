"""Many independent problems in one Spark job: ``groupBy(by).applyInPandas(...)``.

``udfs.spark.territory_balancing(df, by=["region"], **params)`` (one such function per
component, :data:`udfs.spark.FUNCTIONS`) solves one problem per group of ``df`` on the
executors and returns a Spark DataFrame of one output table of the component
(``output=``, default its first) for every group at once::

    from udfs import spark as tp
    out = tp.territory_balancing(scus, by=["region"], edges=edges,
                                 territories=4, metrics=["population"], id="scu_id",
                                 lon="lon", lat="lat")

Columns: the ``by`` keys, the output's columns from the component spec (``<metric>``
columns expanded with ``metrics``, typed by :func:`udfs.base.output_columns`), then
``terraplan_status`` (``succeeded`` | ``empty`` | ``input`` | ``infeasible`` | ``failed``),
``terraplan_error`` (the message) and ``terraplan_report`` (the group's report as JSON,
on its first row only). ``empty``: the group solved and this output has no rows; its one
row carries the keys and the report, every result column NULL. A group that fails (bad
input, an infeasible request, or any other exception: status ``failed``, the message
prefixed with the exception's type) does not fail the job: it answers with a single row
holding its keys, NULL results and the error, and every other group still answers.

Other input tables (``centers``, ``edges``...) are pandas or Spark DataFrames small
enough to ship to every task; when they carry every ``by`` column they are split by
group like ``df``, otherwise every group gets all of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from components import registry
from components.errors import InfeasibleError, InputError, TerraplanError
from components.result import jsonable
from udfs.base import output_columns

STATUS, ERROR, REPORT = "terraplan_status", "terraplan_error", "terraplan_report"
SPARK_TYPES = {"string": "string", "double": "double", "bigint": "bigint",
               "boolean": "boolean", "timestamp": "timestamp", "json": "string"}


def error_kind(err: Exception) -> str:
    return ("infeasible" if isinstance(err, InfeasibleError) else
            "input" if isinstance(err, InputError) else "failed")


def result_columns(component: str, output: str | None, params: Mapping[str, Any]
                   ) -> tuple[str, list[tuple[str, str]]]:
    """The output's name and its ``(column, logical type)`` list."""
    spec = registry.get(component).spec
    name = output or spec.outputs[0].name
    return name, output_columns(component, name, params)


def _cast(values: pd.Series, kind: str) -> pd.Series:
    """A result column as Arrow will take it for ``kind`` (missing values as None)."""
    if kind == "string":
        return pd.Series([None if v is None or (isinstance(v, float) and np.isnan(v))
                          else str(v) for v in values], dtype=object, index=values.index)
    if kind == "boolean":
        return pd.Series([None if pd.isna(v) else bool(v) for v in values], dtype=object,
                         index=values.index)
    if kind == "bigint":
        return pd.to_numeric(values).astype("Int64")
    return pd.to_numeric(values).astype("float64")


def _key(key: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(k.item() if isinstance(k, np.generic) else k for k in key)


class Split:
    """An input table split by the ``by`` keys once, on the driver (not filtered again for
    every group on the executors)."""

    def __init__(self, table: pd.DataFrame, by: Sequence[str]) -> None:
        self.empty = table.iloc[0:0].reset_index(drop=True)
        self.parts = {_key(k if isinstance(k, tuple) else (k,)): part.reset_index(drop=True)
                      for k, part in table.groupby(list(by), sort=False, dropna=False)}


def solve_group(component: str, output: str, columns: Sequence[tuple[str, str]],
                by: Sequence[str], key: tuple[Any, ...], frame: pd.DataFrame,
                extra: Mapping[str, Any], params: Mapping[str, Any]) -> pd.DataFrame:
    """One group's rows: the output table with the keys in front, or one error row."""
    names = [c for c, _ in columns]
    try:
        tables = {}
        for name, table in extra.items():
            if isinstance(table, Split):
                table = table.parts.get(_key(key), table.empty)
            tables[name] = table
        result = registry.get(component).run(frame.reset_index(drop=True), **tables, **params)
        table = result.tables[output].reset_index(drop=True)
        out = pd.DataFrame({c: _cast(table[c], k) if c in table.columns
                            else pd.Series([None] * len(table), dtype=object)
                            for c, k in columns}, index=table.index)
        out[STATUS] = "succeeded"
        out[ERROR] = None
        out[REPORT] = [json.dumps(jsonable(result.report))] + [None] * (len(out) - 1) \
            if len(out) else []
    except Exception as err:  # any failure is this group's row, not the whole job's
        out = pd.DataFrame({c: pd.Series([None], dtype=object) for c in names})
        out[STATUS] = error_kind(err)
        out[ERROR] = str(err) if isinstance(err, TerraplanError) else \
            f"{type(err).__name__}: {err}"
        out[REPORT] = None
    for i, (b, k) in enumerate(zip(by, key, strict=True)):
        out.insert(i, b, k.item() if isinstance(k, np.generic) else k)
    if not len(out):  # a group with no output rows still says it ran, and how
        out = pd.DataFrame([{**{b: k.item() if isinstance(k, np.generic) else k
                                for b, k in zip(by, key, strict=True)},
                             **dict.fromkeys(names), STATUS: "empty", ERROR: None,
                             REPORT: json.dumps(jsonable(result.report))}])
    return out


def _pandas(table: Any, name: str) -> pd.DataFrame:
    if isinstance(table, pd.DataFrame):
        return table
    if hasattr(table, "toPandas"):
        return table.toPandas()
    raise InputError(f"input table '{name}' must be a pandas or Spark DataFrame; got "
                     f"{type(table).__name__}", column=name)


def run_grouped(component: str, df: Any, by: Sequence[str] | str = (), *,
                output: str | None = None, **kwargs: Any) -> Any:
    """``component`` on every ``by`` group of the Spark DataFrame ``df`` (see the module
    docstring); keyword arguments named like the component's other inputs are tables,
    the rest are its parameters (checked against its spec before the job starts)."""
    from pyspark.sql import functions as F

    comp = registry.get(component)
    spec = comp.spec
    by = [by] if isinstance(by, str) else list(by)
    missing = [b for b in by if b not in df.columns]
    if missing:
        raise InputError(f"by column(s) {missing} not in the DataFrame (columns: "
                         f"{', '.join(df.columns)})", column=missing[0])
    inputs = {t.name for t in spec.inputs[1:]}
    extra: dict[str, Any] = {}
    for k, v in kwargs.items():
        if k in inputs and v is not None:
            table = _pandas(v, k)
            extra[k] = Split(table, by) if by and all(b in table.columns for b in by) else table
    params = {k: v for k, v in kwargs.items() if k not in inputs}
    spec.validate_params(params)  # bad parameters fail here, once, not in every task
    name, columns = result_columns(component, output, params)
    clash = [c for c, _ in columns if c in by] + [b for b in by if b in (STATUS, ERROR, REPORT)]
    if clash:
        raise InputError(f"by column(s) {clash} clash with the {name} output's columns; "
                         "rename them first", column=clash[0])
    key_types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    schema = ", ".join([f"`{b}` {key_types[b]}" for b in by]
                       + [f"`{c}` {SPARK_TYPES[k]}" for c, k in columns]
                       + [f"`{STATUS}` string", f"`{ERROR}` string", f"`{REPORT}` string"])

    def solve(key: tuple[Any, ...], frame: pd.DataFrame) -> pd.DataFrame:
        return solve_group(component, name, columns, by, key, frame, extra, params)

    if not by:  # one problem: a constant key keeps the same code path
        const = "__terraplan_group"
        grouped = df.withColumn(const, F.lit(0)).groupBy(const)

        def solve_one(key: tuple[Any, ...], frame: pd.DataFrame) -> pd.DataFrame:
            return solve_group(component, name, columns, [], (),
                               frame.drop(columns=const), extra, params)

        return grouped.applyInPandas(solve_one, schema=schema)
    return df.groupBy(*by).applyInPandas(solve, schema=schema)

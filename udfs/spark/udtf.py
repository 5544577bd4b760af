"""What Databricks SQL calls: a partition UDTF and a packed-JSON scalar function.

* ``<component>_by_partition(TABLE(t) PARTITION BY (key), params)``: a Python UDTF (Unity
  Catalog, or ``spark.udtf.register`` in open-source Spark 4; the parentheses around the
  partition key are needed when a scalar argument follows). ``eval`` collects a
  partition's rows, ``terminate`` solves and yields the component's first output with
  its fixed columns from the spec, then ``partition_status`` and ``partition_report``
  (report JSON on the first row; ``{"error": ...}`` on a failed partition's single
  row, the other partitions still answer). For point components (``id``, ``x``, ``y``
  parameters) whose other inputs are optional.
* ``<component>(t1 STRING, ..., params STRING) RETURNS STRING``: the packed-JSON
  contract of :mod:`udfs.protocol` (the same as DuckDB and BigQuery), for inputs
  packed with ``to_json(collect_list(struct(*)))``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
from sqlglot import exp

from components import registry
from components.errors import TerraplanError
from components.result import jsonable
from components.spec import ComponentSpec
from udfs.base import RUN_ID_COLUMN, column_type
from udfs.protocol import call_packed, error_document, parse_params

STATUS, REPORT = "partition_status", "partition_report"


def eligible(spec: ComponentSpec) -> bool:
    """Point-table components whose other inputs are all optional."""
    names = {p.name for p in spec.params}
    return ({"id", "x", "y"} <= names and bool(spec.outputs)
            and all(not t.required for t in spec.inputs[1:]))


TYPES = {"string": "STRING", "double": "DOUBLE", "bigint": "BIGINT", "boolean": "BOOLEAN",
         "timestamp": "TIMESTAMP", "json": "STRING"}


def spark_ident(name: str) -> str:
    """A quoted Databricks identifier (backticks), from sqlglot."""
    return exp.to_identifier(name, quoted=True).sql("databricks")


def partition_schema(component: str) -> str:
    """The UDTF's columns as a Spark DDL schema string (``id STRING, ...``)."""
    spec = registry.get(component).spec
    return ", ".join(f"{spark_ident(c)} {TYPES[t]}" for c, t in partition_columns(spec))


def partition_columns(spec: ComponentSpec) -> list[tuple[str, str]]:
    """``RETURNS TABLE`` columns (logical types): the first output's fixed columns (every
    conditional one included, NULL when not written), then status and report."""
    cols = [(c, column_type(c)) for c in spec.outputs[0].columns if "<" not in c]
    return [*cols, (STATUS, "string"), (REPORT, "string")]


def _value(value: Any, kind: str) -> Any:
    value = jsonable(value)
    if value is None:
        return None
    if kind == "string":
        return str(value)
    if kind == "double":
        return float(value)
    if kind == "bigint":
        return int(value)
    if kind == "boolean":
        return bool(value)
    return value


class PartitionUDTF:
    """UDTF handler: ``eval(row, params)`` per input row, ``terminate()`` per partition."""

    component = ""  # set by :func:`_handler`

    def __init__(self) -> None:
        self._rows: list[dict[str, Any]] = []
        self._params: Any = None

    def eval(self, row: Any, params: Any = None) -> Iterator[tuple[Any, ...]]:
        self._rows.append(row.asDict(recursive=True) if hasattr(row, "asDict") else dict(row))
        if self._params is None and params is not None:
            self._params = params
        yield from ()

    def terminate(self) -> Iterator[tuple[Any, ...]]:
        spec = registry.get(self.component).spec
        columns = partition_columns(spec)[:-2]
        try:
            params = parse_params(self._params)
            result = registry.get(self.component).run(pd.DataFrame.from_records(self._rows),
                                                      **params)
            table = result.tables[spec.outputs[0].name]
            report = json.dumps(jsonable(result.report))
            status = "succeeded"
        except (TerraplanError, json.JSONDecodeError) as err:
            table = pd.DataFrame({"id": [None]})
            report = json.dumps(error_document(err))
            status = "failed"
        data = {c: table[c].tolist() for c in table.columns if c != RUN_ID_COLUMN}
        for i in range(len(table)):
            row = [_value(data[c][i], k) if c in data else None for c, k in columns]
            yield (*row, status, report if i == 0 else None)


def _handler(component: str) -> type[PartitionUDTF]:
    name = "".join(part.title() for part in component.split("_")) + "Partition"
    return type(name, (PartitionUDTF,), {"component": component})


HANDLERS: dict[str, type[PartitionUDTF]] = {
    n: _handler(n) for n, c in registry.components().items() if eligible(c.spec)}
globals().update({cls.__name__: cls for cls in HANDLERS.values()})


def packed(component: str, *args: Any) -> str:
    """The scalar function body: input tables as JSON text, then the parameters."""
    *tables, params = args
    return call_packed(component, tables, params)


def register_session(spark: Any, prefix: str = "terraplan_") -> list[str]:
    """Register every function in a Spark session (open-source Spark 4, or a Databricks
    notebook without Unity Catalog): ``<prefix><component>`` (packed JSON) and
    ``<prefix><component>_by_partition`` (UDTF). Returns the names registered."""
    from pyspark.sql.functions import udtf


    names = []
    for name in registry.components():
        def call(*args: Any, _name: str = name) -> str:
            return packed(_name, *args)

        spark.udf.register(f"{prefix}{name}", call, "string")
        names.append(f"{prefix}{name}")
        if name in HANDLERS:
            spark.udtf.register(f"{prefix}{name}_by_partition",
                                udtf(HANDLERS[name], returnType=partition_schema(name)))
            names.append(f"{prefix}{name}_by_partition")
    return names


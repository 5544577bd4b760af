"""A UDTF that solves one problem per ``PARTITION BY`` group (region, district, scenario).

For components whose first input is a table of points (``id``, ``x``, ``y`` parameters)
and whose other inputs are optional, ``<schema>.<COMPONENT>_BY_PARTITION`` takes one
row per unit and answers with the rows of the component's first output, per partition::

    SELECT s.region, r.*
    FROM scus AS s,
         TABLE(TERRAPLAN.TERRITORY_BALANCING_BY_PARTITION(
             s.id, s.x, s.y, OBJECT_CONSTRUCT('population', s.population),
             {'territories': 4, 'metrics': ['population']})
           OVER (PARTITION BY s.region)) AS r;

Arguments: ``ID VARCHAR, X FLOAT, Y FLOAT, ATTRIBUTES OBJECT`` (metric and other
columns by name) and ``PARAMS VARIANT`` (the component's parameters; read from the
partition's first row). Columns are ``id``, ``x``, ``y`` plus the attribute keys;
``{'lon': 'x', 'lat': 'y'}`` says the coordinates are degrees. Adjacency comes from
the points (Delaunay), since a partition has no edges table.

Output: the first output's columns (``ID, TERRITORY, CENTER, ...`` for territory
balancing), ``PARTITION_STATUS`` and ``PARTITION_REPORT`` (the component's report on
the partition's first row, NULL on the others). A partition with bad input or an
infeasible request does not stop the query: it comes back as rows with NULL results
(one per unit when the output is per unit), ``PARTITION_STATUS = 'failed'`` and
``PARTITION_REPORT = {"error": ...}``.

Time: Snowflake stops a UDTF whose ``end_partition`` runs longer than 10 minutes (the
docs say only that a handler taking "too long" is killed; the error observed in the
field reads "Iterating over output iterator values timed out ... vs. max of 10m"). So
a partition solves for at most ``PARTITION_BUDGET_SECONDS`` (480 s, leaving time to
build the frame and yield the rows): ``time_limit`` defaults to what is left of that
budget when the solve starts, an explicit ``time_limit`` over 480 is an error row
naming it, and a partition whose rows took the whole budget to read is an error row
that says to partition more finely. Components without a ``time_limit`` (cost
matrices, adjacency) are polynomial and are not capped.

Snowpark local testing cannot run UDTFs with column arguments, so the tests call
``process`` / ``end_partition`` directly and keep the DDL as a golden file.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from components import highs, registry
from components.errors import InputError, TerraplanError
from components.result import jsonable
from components.spec import ComponentSpec
from udfs.protocol import parse_params
from udfs.snowflake import procedures  # noqa: F401  (imports components and scipy up front)
from udfs.snowflake.names import resolve_column_params, to_component_columns

ARGUMENTS = (("ID", "VARCHAR"), ("X", "FLOAT"), ("Y", "FLOAT"), ("ATTRIBUTES", "OBJECT"),
             ("PARAMS", "VARIANT"))
# Snowflake types of known output columns (plus: "id" and "*_id" are VARCHAR); anything
# else comes back as VARIANT.
OUTPUT_TYPES = {
    "territory": "VARCHAR", "center": "VARCHAR", "previous_territory": "VARCHAR",
    "facility": "VARCHAR", "source": "VARCHAR", "status": "VARCHAR", "reason": "VARCHAR",
    "distance": "FLOAT", "cost": "FLOAT", "length": "FLOAT", "weight": "FLOAT",
    "weighted_cost": "FLOAT", "moved": "BOOLEAN", "artificial": "BOOLEAN",
}
# Added after the component's columns; named so no output column can collide with them.
STATUS, REPORT = "PARTITION_STATUS", "PARTITION_REPORT"
RESERVED = ("id", "x", "y")
# Snowflake ends end_partition after 10 minutes; the solve gets 8 of them at most.
PARTITION_LIMIT_SECONDS = 600.0
PARTITION_BUDGET_SECONDS = 480.0


def eligible(spec: ComponentSpec) -> bool:
    """Point-table components whose other inputs are all optional."""
    names = {p.name for p in spec.params}
    return ({"id", "x", "y"} <= names and bool(spec.outputs)
            and all(not t.required for t in spec.inputs[1:]))


def _type(column: str) -> str:
    if column == "id" or column.endswith("_id"):
        return "VARCHAR"
    return OUTPUT_TYPES.get(column, "VARIANT")


def output_columns(spec: ComponentSpec) -> list[tuple[str, str]]:
    """``RETURNS TABLE`` columns: the first output's fixed columns, then
    ``PARTITION_STATUS`` and ``PARTITION_REPORT``."""
    cols = [(c.upper(), _type(c)) for c in spec.outputs[0].columns
            if "<" not in c]  # "<metric>" columns vary by call: not in a signature
    return [*cols, (STATUS, "VARCHAR"), (REPORT, "VARIANT")]


def _typed(value: Any, kind: str) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if kind == "VARCHAR":
        return str(value)
    if kind == "FLOAT":
        out = float(value)
        return out if math.isfinite(out) else None
    if kind == "BOOLEAN":
        return bool(value)
    return jsonable(value)


class PartitionSolver:
    """UDTF handler: collects a partition's rows, solves in ``end_partition``."""

    component = ""  # set by :func:`_solver_class`
    clock: Callable[[], float] = time.monotonic  # injectable: tests simulate slow partitions

    def __init__(self) -> None:
        self._ids: list[Any] = []
        self._x: list[Any] = []
        self._y: list[Any] = []
        self._attributes: list[dict[str, Any]] = []
        self._params: Any = None

    def process(self, id: Any, x: Any, y: Any, attributes: Any, params: Any) -> None:
        self._ids.append(id)
        self._x.append(x)
        self._y.append(y)
        self._attributes.append(parse_params(attributes))
        if self._params is None and params is not None:
            self._params = params

    def frame(self) -> pd.DataFrame:
        attributes = pd.DataFrame.from_records(self._attributes, index=range(len(self._ids)))
        attributes = to_component_columns(attributes)
        clash = [c for c in attributes.columns if str(c).lower() in RESERVED]
        if clash:
            raise InputError(f"attribute key(s) {clash} clash with the ID, X and Y arguments; "
                             "rename them in OBJECT_CONSTRUCT", column="attributes")
        base = pd.DataFrame({"id": self._ids, "x": self._x, "y": self._y})
        return pd.concat([base, attributes], axis=1)

    def solve(self) -> tuple[pd.DataFrame, dict[str, Any]]:
        component = registry.get(self.component)
        spec = component.spec
        frame = self.frame()
        params = parse_params(self._params)
        params.setdefault("id", "id")
        if not any(params.get(k) for k in ("x", "y", "lon", "lat")):
            params.update(x="x", y="y")
        params = resolve_column_params(spec, params, [frame])
        params = self._budgeted(spec, params)
        with highs.in_process():
            result = component.run(frame, **params)
        return result.tables[spec.outputs[0].name], jsonable(result.report)

    def _budgeted(self, spec: ComponentSpec, params: dict[str, Any]) -> dict[str, Any]:
        """``time_limit`` capped by what is left of the partition's budget."""
        budget = PARTITION_BUDGET_SECONDS
        left = budget - (type(self).clock() - self._started)
        if left <= 0:
            raise InputError(
                f"this partition of {len(self._ids):,} rows used the {budget:.0f} s a "
                "Snowflake partition may take before the solve started (Snowflake stops "
                "end_partition after 10 minutes); PARTITION BY a finer column",
                column="PARTITION BY")
        if not any(p.name == "time_limit" for p in spec.params):
            return params
        asked = params.get("time_limit")
        if asked is not None and float(asked) > budget:
            raise InputError(
                f"time_limit {asked} is over the {budget:.0f} s a partition may solve for "
                "(Snowflake stops end_partition after 10 minutes); use time_limit <= "
                f"{budget:.0f}, or the stored procedure for one long solve", column="time_limit")
        default = next(p.default for p in spec.params if p.name == "time_limit")
        return {**params, "time_limit": min(float(asked if asked is not None else default),
                                            left)}

    def end_partition(self) -> Iterator[tuple[Any, ...]]:
        self._started = type(self).clock()
        columns = output_columns(registry.get(self.component).spec)
        try:
            table, report = self.solve()
            status = "succeeded"
        except TerraplanError as err:
            # one row per unit when the output is per unit, else a single row
            per_unit = any(name == "ID" for name, _ in columns)
            table = pd.DataFrame({"id": self._ids} if per_unit else {"id": [None]})
            report, status = {"error": str(err), "error_type": type(err).__name__}, "failed"
        data = {c.upper(): table[c].tolist() for c in table.columns}
        n = len(table)
        for i in range(n):
            row = [_typed(data[name][i], kind) if name in data else None
                   for name, kind in columns[:-2]]
            yield (*row, status, report if i == 0 else None)


def _solver_class(component_name: str) -> type[PartitionSolver]:
    name = "".join(part.title() for part in component_name.split("_")) + "Partition"
    return type(name, (PartitionSolver,), {"component": component_name})


SOLVERS: dict[str, type[PartitionSolver]] = {
    n: _solver_class(n) for n, c in registry.components().items() if eligible(c.spec)}
globals().update(SOLVERS)  # HANDLER = 'udfs.snowflake.partition.<component>'

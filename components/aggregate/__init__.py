"""Aggregate a point table (accounts, customers, stops) to one row per SCU.

SQL-native: in a warehouse the step is the rendered ``sql/scu/aggregate`` template,
run where the data lives (:func:`to_sql`); :func:`run` is the same computation in
pandas for files and the Python API. A test holds the two to the same answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlglot import exp

from components.errors import MissingColumnError
from components.result import ComponentResult
from components.scu import SCUColumns, validate_scus
from components.spec import COORDINATE_PARAMS, REQUIRED, ComponentSpec, Param, Table

SPEC = ComponentSpec(
    name="scu_aggregation",
    title="Aggregate to SCUs",
    summary=("Roll a point table (accounts, customers, stops) up to one row per SCU: mean "
             "coordinates, summed metrics and a point count; in a warehouse it runs as SQL."),
    inputs=(Table("points", "one row per point: SCU key, coordinates, metric columns"),),
    params=(
        Param("scu_id", "str", "column holding each point's SCU (ZIP, county, cell)",
              default=REQUIRED, metavar="COL"),
        Param("metrics", "list[str]", "metric column(s) to sum per SCU", default=REQUIRED,
              cli="metric", metavar="COL"),
        *COORDINATE_PARAMS,  # shared (components.spec)
    ),
    outputs=(Table("scus", "one row per SCU", columns=("id", "<coords>", "n_points",
                                                      "<metrics>")),),
    examples=("terraplan aggregate accounts.csv --scu-id zip --metric revenue --out scus.csv",),
    command="aggregate",
    cli_out="file",
)


def _columns(points: pd.DataFrame, p: dict[str, Any]) -> SCUColumns:
    """Resolved columns; every one must exist (the same message in pandas and SQL)."""
    present = [str(c) for c in points.columns]
    cols = SCUColumns(id=p["scu_id"], x=p["x"], y=p["y"], lon=p["lon"], lat=p["lat"],
                      metrics=tuple(p["metrics"])).resolve(present)
    for name in (cols.id, *cols.coordinate_columns, *cols.metrics):
        if name not in present:
            raise MissingColumnError(f"column '{name}' not found in the point table; columns "
                                     f"present: {', '.join(present)}", column=name)
    return cols


def run(points: pd.DataFrame, **params: Any) -> ComponentResult:
    """Points to SCUs in pandas (the SQL template's twin)."""
    p = SPEC.validate_params(params)
    cols = _columns(points, p)
    keyed = points[points[cols.id].notna()] if cols.id in points.columns else points
    dropped = len(points) - len(keyed)
    # points are not units: ids repeat by design, so validate everything but the key
    check = keyed.reset_index(drop=True).assign(__row=np.arange(len(keyed)))
    validate_scus(check, SCUColumns(id="__row", x=cols.x, y=cols.y, lon=cols.lon, lat=cols.lat,
                                    metrics=cols.metrics), table="point table")
    c1, c2 = cols.coordinate_columns
    grouped = keyed.groupby(cols.id, sort=True)
    out = pd.DataFrame({"id": grouped.size().index})
    out[c1] = grouped[c1].mean().to_numpy()
    out[c2] = grouped[c2].mean().to_numpy()
    out["n_points"] = grouped.size().to_numpy()
    for m in cols.metrics:
        out[m] = grouped[m].sum().to_numpy()
    return ComponentResult(tables={"scus": out},
                           report=make_report(len(points), len(out), dropped, cols.id))


def make_report(points: int, scus: int, without_scu: int, key: str) -> dict[str, Any]:
    """The report, the same whether pandas or the warehouse did the work."""
    report: dict[str, Any] = {"component": SPEC.name, "status": "ok", "points": int(points),
                              "scus": int(scus), "points_without_scu": int(without_scu)}
    if without_scu:
        report["warnings"] = [f"{without_scu} point(s) have no '{key}' and were left out"]
    return report


def sql_report(points_columns: list[str], source: exp.Table, params: dict[str, Any],
               run: Any, scus: int, dialect: str = "duckdb") -> dict[str, Any]:
    """Counts for :func:`make_report` computed where the data lives (``run(sql)`` -> rows)."""
    p = SPEC.validate_params(params)
    cols = _columns(pd.DataFrame(columns=points_columns), p)
    key = exp.column(exp.to_identifier(cols.id, quoted=True))
    query = exp.select(exp.func("COUNT", exp.Star()).as_("n"),
                       exp.func("COUNT", key).as_("keyed")).from_(source)
    n, keyed = run(query.sql(dialect=dialect))[0]
    return make_report(n, scus, n - keyed, cols.id)


def to_sql(points_columns: list[str], source: exp.Table, params: dict[str, Any],
           dialect: str = "duckdb") -> str:
    """The same aggregation as SQL for ``dialect``, reading table ``source``."""
    from components.sqlgen import Ident, ident, render

    p = SPEC.validate_params(params)
    cols = _columns(pd.DataFrame(columns=points_columns), p)
    return render("scu/aggregate", dialect, source=source, scu_id=ident(cols.id),
                  coord=[Ident(c) for c in cols.coordinate_columns],
                  metric=[Ident(m) for m in cols.metrics])

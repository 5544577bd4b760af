"""Cost steps as SQL in the warehouse: the straight-line templates and the component's
``to_sql`` contract.

:func:`cost_sql` renders ``costs/planar`` or ``costs/great_circle``. A workflow step
runs ``cost_matrix`` as SQL where the data lives when :func:`sql_ready` finds a template
for its parameters (all pairs of straight-line costs, no ``k``/``cutoff``, an untouched
transform, no road network) and the shared SCU profile (:mod:`components.profile`) finds
the points clean (no NULL/duplicate id, no NULL/out-of-range coordinate) and the pair
count within ``max_pairs``; otherwise the Python path runs and gives its exact message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from sqlglot import exp

from components.costs.component import _straight_metric
from components.costs.metrics import earth_radius
from components.costs.spec import SPEC
from components.errors import InputError, ParameterError
from components.profile import profile_sql
from components.scu import SCUColumns

Run = Callable[[str], list[tuple[Any, ...]]]
_PROFILE = ("n_rows", "null_ids", "duplicate_ids", "null_coordinates",
            "coordinates_out_of_range")


def cost_sql(origins: str | tuple[str, ...] | exp.Table,
             destinations: str | tuple[str, ...] | exp.Table | None = None,
             *, dialect: str = "duckdb", metric: str = "euclidean", id: str = "id",
             coords: tuple[str, str] = ("x", "y"), destination_id: str | None = None,
             destination_coords: tuple[str, str] | None = None, unit: str = "km",
             cutoff: float | None = None) -> str:
    """SQL computing the long cost table in the warehouse (straight-line metrics only).

    ``euclidean`` renders ``costs/planar``: ``sqrt((x1-x2)^2 + (y1-y2)^2)``;
    ``haversine`` renders ``costs/great_circle`` with ``R = 6371.0088 km`` (or miles),
    the same numbers :func:`~components.costs.point_costs` gives. Table names are given as
    parts (``"t"`` or ``("db", "schema", "t")``) and column names as plain strings; all
    become quoted identifiers. ``destinations=None`` means all pairs of ``origins``.

    >>> "cost <= 5.0" in cost_sql("scus", cutoff=5.0, dialect="snowflake")
    True
    """
    from components import sqlgen  # sqlglot loads only when SQL is wanted (fast CLI start)

    if metric not in ("euclidean", "haversine"):
        raise ParameterError(f"cost_sql renders metric 'euclidean' or 'haversine'; got "
                             f"{metric!r} (road costs need the cost_matrix component)",
                             column="metric")
    if cutoff is not None and (isinstance(cutoff, bool) or not np.isfinite(cutoff)
                               or cutoff <= 0):
        raise ParameterError(f"cutoff must be a finite number > 0 or None; got {cutoff!r}",
                             column="cutoff")
    dest_table = origins if destinations is None else destinations
    d_coords = destination_coords or coords
    names = ("x", "y") if metric == "euclidean" else ("lon", "lat")
    bindings: dict[str, Any] = {
        "origins": _table(origins), "destinations": _table(dest_table),
        "origin_id": sqlgen.ident(id), "destination_id": sqlgen.ident(destination_id or id),
        "cutoff": None if cutoff is None else float(cutoff),
    }
    for side, pair in (("origin", coords), ("destination", d_coords)):
        for name, column in zip(names, pair, strict=True):
            bindings[f"{side}_{name}"] = sqlgen.ident(column)
    if metric == "haversine":
        bindings["radius"] = earth_radius(unit)
    template = "costs/planar" if metric == "euclidean" else "costs/great_circle"
    return sqlgen.render(template, dialect, **bindings)


def _table(name: str | tuple[str, ...] | exp.Table) -> Any:
    from components.sqlgen import table

    if isinstance(name, exp.Table):
        return name
    return table(name) if isinstance(name, str) else table(*name)


def _plan(columns: Mapping[str, list[str]], params: Mapping[str, Any]
          ) -> dict[str, Any] | None:
    """How the step's costs come out of a template, or None (the Python path runs)."""
    p = SPEC.validate_params(params)
    if (set(columns) - {"points", "to"} or p["distance"] == "network" or p["k"] is not None
            or p["cutoff"] is not None or p["transform"] != "linear" or p["scale"] != 1.0):
        return None
    try:
        cols = SCUColumns(id=p["id"], x=p["x"], y=p["y"], lon=p["lon"],
                          lat=p["lat"]).resolve(columns["points"])
        metric = _straight_metric(p["distance"], cols.coordinate_kind)
    except InputError:
        return None  # the Python path says what is wrong
    to_id = None
    if "to" in columns:
        to_id = p["to_id"] or (p["id"] if p["id"] in columns["to"] else "id")
    return {"metric": metric, "id": cols.id, "coords": tuple(cols.coordinate_columns),
            "destination_id": to_id, "unit": p["unit"], "max_pairs": p["max_pairs"]}


def sql_ready(columns: Mapping[str, list[str]], sources: Mapping[str, exp.Table],
              params: Mapping[str, Any], run: Run, dialect: str = "duckdb") -> bool:
    """True when this step can run as SQL: a template fits and the data are clean."""
    plan = _plan(columns, params)
    if plan is None:
        return False
    rows = []
    for name, source in sources.items():
        coords = dict(zip(("lon", "lat") if plan["metric"] == "haversine" else ("x", "y"),
                          plan["coords"], strict=True))
        query = profile_sql(source, columns[name], {
            "id": plan["destination_id"] if name == "to" else plan["id"], **coords}, dialect)
        if query is None:
            return False
        profile = dict(zip(_PROFILE, run(query.rstrip().rstrip(";"))[0], strict=False))
        if any(profile[k] for k in _PROFILE[1:]) or not profile["n_rows"]:
            return False
        rows.append(int(profile["n_rows"]))
    pairs = rows[0] * (rows[1] if len(rows) > 1 else rows[0])
    return bool(pairs <= plan["max_pairs"])


def to_sql(columns: list[str], source: exp.Table, params: Mapping[str, Any],
           dialect: str = "duckdb", *, to: tuple[exp.Table, list[str]] | None = None
           ) -> str | None:
    """The long cost table as SQL for ``dialect`` (ids as text, as the Python path writes
    them), or None when no template covers these parameters."""
    ins = {"points": columns, **({"to": to[1]} if to else {})}
    plan = _plan(ins, params)
    if plan is None:
        return None
    inner = cost_sql(source, to[0] if to else None, dialect="duckdb", metric=plan["metric"],
                     id=plan["id"], coords=plan["coords"],
                     destination_id=plan["destination_id"], unit=plan["unit"])
    tree = exp.select(
        exp.cast(exp.column("origin_id"), "VARCHAR").as_("origin_id"),
        exp.cast(exp.column("destination_id"), "VARCHAR").as_("destination_id"),
        exp.column("cost")).from_(exp.paren(exp.maybe_parse(inner.rstrip().rstrip(";"),
                                                             dialect="duckdb")).as_("pairs"))
    return tree.order_by("origin_id", "destination_id").sql(dialect=dialect)


def sql_report(columns: list[str], source: exp.Table, params: Mapping[str, Any], run: Run,
               rows: int, dialect: str = "duckdb", *,
               to: tuple[exp.Table, list[str]] | None = None) -> dict[str, Any]:
    """The report of a cost step run as SQL: the Python path's report, from counts and
    cost statistics taken in the warehouse."""
    p = SPEC.validate_params(params)
    plan = _plan({"points": columns, **({"to": to[1]} if to else {})}, params) or {}
    count = exp.select(exp.func("COUNT", exp.Star()))
    n = int(run(count.from_(source).sql(dialect=dialect))[0][0])
    m = int(run(count.from_(to[0]).sql(dialect=dialect))[0][0]) if to else n
    report: dict[str, Any] = {
        "status": "ok", "n_origins": n, "n_destinations": m, "all_pairs_of_input": to is None,
        "mode": "all pairs", "k": None, "cutoff": None, "pairs_considered": n * m,
        "metric": plan.get("metric"),
        "unit": p["unit"] if plan.get("metric") == "haversine" else "coordinate units",
        "unreachable_pairs": 0, "transform": {"kind": "linear", "scale": 1.0},
        "warnings": [], "pairs_written": rows}
    query = to_sql(columns, source, params, dialect, to=to)
    if rows and query is not None:
        pairs: exp.Expression = exp.maybe_parse(query, dialect=dialect).subquery("pairs")
        cost = exp.column("cost")
        low, mean, high = run(exp.select(exp.func("MIN", cost), exp.func("AVG", cost),
                                         exp.func("MAX", cost)).from_(pairs)
                              .sql(dialect=dialect))[0]
        report["cost"] = {"min": float(low), "mean": float(mean), "max": float(high)}
    return report

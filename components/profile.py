"""The one SCU data-quality profile query (``sql/scu/profile``), for every warehouse.

Counts of rows, NULL and duplicate ids, NULL and out-of-range coordinates, NULL and
negative metrics, computed where the data lives before anything moves. The DuckDB
runner, the Snowflake procedures and the cost step's SQL path all render it here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlglot import exp

from components.errors import InputError
from components.scu import SCUColumns
from components.sqlgen import Ident, ident, render

_BIG = 1e308


def profile_sql(source: exp.Table, columns: list[str], params: Mapping[str, Any],
                dialect: str, *, names: Mapping[str, str] | None = None,
                pretty: bool = True) -> str | None:
    """The profile query of ``source`` (whose columns are ``columns``, as the component
    names them), or None when a named column is missing (the component's own validation
    then gives the message). ``names`` maps a component column to the warehouse's
    (Snowflake's upper case) when they differ."""
    back = dict(names or {c: c for c in columns})
    try:
        cols = SCUColumns(id=params.get("id") or "id", x=params.get("x"), y=params.get("y"),
                          lon=params.get("lon"), lat=params.get("lat"),
                          metrics=tuple(params.get("metrics") or ())).resolve(list(back))
    except InputError:
        return None
    if any(c not in back for c in (cols.id, *cols.coordinate_columns, *cols.metrics)):
        return None
    lonlat = cols.coordinate_kind == "lonlat"
    x, y = cols.coordinate_columns
    return render(
        "scu/profile", dialect, pretty=pretty, source=source, id=ident(back[cols.id]),
        x=ident(back[x]), y=ident(back[y]),
        x_min=-180 if lonlat else -_BIG, x_max=180 if lonlat else _BIG,
        y_min=-90 if lonlat else -_BIG, y_max=90 if lonlat else _BIG,
        metric=[Ident(back[m], alias=f"null__{m}") for m in cols.metrics],
        metric_neg=[Ident(back[m], alias=f"negative__{m}") for m in cols.metrics],
    )


def counts(row: Mapping[str, Any]) -> dict[str, int]:
    """A profile row as ``{lower-case name: int}`` (NULL sums of an empty table are 0)."""
    return {str(k).lower(): int(0 if v is None or v != v else v) for k, v in row.items()}


def clean(profile: Mapping[str, int]) -> bool:
    """No NULL or duplicate id, no NULL or out-of-range coordinate, no bad metric."""
    return all(v == 0 for k, v in profile.items() if k != "n_rows")

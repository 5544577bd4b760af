"""The SCU data-quality profile (``sql/scu/profile``), computed in Snowflake before data moves.

Run on an account only (local testing runs no SQL). An empty SCU table fails here,
before anything is pulled out of the warehouse.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from snowflake.snowpark import Session
from snowflake.snowpark.exceptions import SnowparkSQLException
from sqlglot import exp

from components.errors import InputError
from components.scu import SCUColumns
from components.sqlgen import Ident, ident, render
from udfs.snowflake.names import DIALECT, to_component_columns


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if len(name) > 1 and name[0] == name[-1] == '"' \
        else name


def profile_sql(source: exp.Table, columns: list[str], params: dict[str, Any]) -> str | None:
    """The profile query for an SCU table with these (warehouse) columns, or None.

    ``params`` name columns as the component sees them (see :mod:`.names`); None when
    a named column is missing (the component's own validation gives the message).
    """
    renamed = to_component_columns(pd.DataFrame(columns=columns))
    back = dict(zip(renamed.columns, columns, strict=True))
    try:
        cols = SCUColumns(id=params.get("id") or "id", x=params.get("x"), y=params.get("y"),
                          lon=params.get("lon"), lat=params.get("lat"),
                          metrics=tuple(params.get("metrics") or ())).resolve(list(back))
    except InputError:
        return None
    needed = [cols.id, *cols.coordinate_columns, *cols.metrics]
    if any(c not in back for c in needed):
        return None
    lonlat = cols.coordinate_kind == "lonlat"
    big = 1e308
    x, y = cols.coordinate_columns
    return render(
        "scu/profile", DIALECT, pretty=False, source=source, id=ident(back[cols.id]),
        x=ident(back[x]), y=ident(back[y]),
        x_min=-180 if lonlat else -big, x_max=180 if lonlat else big,
        y_min=-90 if lonlat else -big, y_max=90 if lonlat else big,
        metric=[Ident(back[m], alias=f"null__{m}") for m in cols.metrics],
        metric_neg=[Ident(back[m], alias=f"negative__{m}") for m in cols.metrics],
    )


def profile_scus(session: Session, source: exp.Table, params: dict[str, Any]) -> dict[str, Any]:
    """Counts of rows, NULL/duplicate ids, bad coordinates and NULL/negative metrics."""
    try:
        columns = [_unquote(f.name) for f in session.table(source.sql(DIALECT)).schema.fields]
    except SnowparkSQLException:
        return {}  # reading the table reports it with the table's name
    try:
        query = profile_sql(source, columns, params)
    except FileNotFoundError as err:  # templates not readable from this package layout
        return {"skipped": str(err)}
    if query is None:
        return {}
    row = session.sql(query.rstrip().rstrip(";")).collect()[0].as_dict()
    return {str(k).lower(): int(0 if v is None else v) for k, v in row.items()}

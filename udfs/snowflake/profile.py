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

from components.profile import profile_sql as shared_profile_sql
from udfs.snowflake.names import DIALECT, to_component_columns


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if len(name) > 1 and name[0] == name[-1] == '"' \
        else name


def profile_sql(source: exp.Table, columns: list[str], params: dict[str, Any]) -> str | None:
    """The one profile query (:mod:`components.profile`) for an SCU table with these
    (warehouse) columns, or None; ``params`` name columns as the component sees them."""
    renamed = to_component_columns(pd.DataFrame(columns=columns))
    names = dict(zip(renamed.columns, columns, strict=True))
    return shared_profile_sql(source, list(names), params, DIALECT, names=names, pretty=False)


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

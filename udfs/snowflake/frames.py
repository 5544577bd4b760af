"""Tables in and out of Snowpark: ``session.table`` to pandas, pandas to Snowpark DataFrames.

Snowpark's ``create_dataframe(pandas_df)`` is slow (and in local testing very
slow), so in local testing result tables go in as lists of Python values plus an
explicit schema. On an account they go in with ``write_pandas`` (:func:`to_loadable`):
``create_dataframe`` of more than a few hundred cells would create an unqualified
temporary table in the session's current schema and fill it with bound INSERTs.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from snowflake.snowpark import DataFrame, Session
from snowflake.snowpark.exceptions import SnowparkSQLException
from snowflake.snowpark.types import (
    BooleanType,
    DataType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
    VariantType,
)
from sqlglot import exp

from components.errors import InputError
from components.result import jsonable
from udfs.snowflake.names import sql


def read_table(session: Session, name: exp.Table, label: str) -> pd.DataFrame:
    """The whole table as pandas; a missing table is an InputError naming it."""
    try:
        return session.table(sql(name)).to_pandas()
    except SnowparkSQLException as err:
        raise InputError(f"{label} table {sql(name)} cannot be read: {err.message}",
                         column=label) from None


def _none_if_missing(values: list[Any]) -> list[Any]:
    return [None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v
            for v in values]


def column_values(series: pd.Series) -> tuple[DataType, list[Any]]:
    """A Snowflake type for a pandas column and its values as plain Python objects."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return BooleanType(), [None if pd.isna(v) else bool(v) for v in series.tolist()]
    if pd.api.types.is_integer_dtype(dtype):
        return LongType(), [None if pd.isna(v) else int(v) for v in series.tolist()]
    if pd.api.types.is_float_dtype(dtype):
        return DoubleType(), _none_if_missing([float(v) for v in series.tolist()])
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return TimestampType(), [None if pd.isna(v) else v.to_pydatetime().replace(tzinfo=None)
                                 for v in series]
    values = [None if v is None or (not isinstance(v, (list, dict, np.ndarray)) and pd.isna(v))
              else jsonable(v) for v in series.tolist()]
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return BooleanType(), values
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return LongType(), values
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       for v in present):
        return DoubleType(), _none_if_missing([None if v is None else float(v) for v in values])
    if present and all(isinstance(v, datetime) for v in present):
        return TimestampType(), values
    if any(isinstance(v, (dict, list)) for v in present):
        return VariantType(), values
    return StringType(), [None if v is None else str(v) for v in values]


def to_snowpark(session: Session, df: pd.DataFrame) -> DataFrame:
    """A Snowpark DataFrame holding ``df`` (column names kept exactly, as quoted identifiers)."""
    fields, columns = [], []
    for name in df.columns:
        kind, values = column_values(df[name])
        fields.append(StructField(sql(exp.to_identifier(str(name), quoted=True)), kind,
                                  nullable=True))
        columns.append(values)
    rows = [list(r) for r in zip(*columns, strict=True)]
    return session.create_dataframe(rows, schema=StructType(fields))


def to_loadable(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with one plain dtype per column, as ``write_pandas`` loads it (via Parquet).

    Types follow :func:`column_values`: integers as nullable Int64 (NUMBER), floats
    (FLOAT), booleans (BOOLEAN), timestamps (TIMESTAMP_NTZ) and text; lists and dicts
    as their JSON text, since Parquet has no VARIANT (``PARSE_JSON`` reads them back).
    """
    out: dict[str, Any] = {}  # one column each: numpy, pandas extension or object arrays
    for name in df.columns:
        kind, values = column_values(df[name])
        if isinstance(kind, LongType):
            out[name] = pd.array(values, dtype="Int64")
        elif isinstance(kind, DoubleType):
            out[name] = np.array([np.nan if v is None else v for v in values], dtype=float)
        elif isinstance(kind, BooleanType):
            out[name] = pd.array(values, dtype="boolean")
        elif isinstance(kind, TimestampType):
            out[name] = pd.to_datetime(pd.Series(values, dtype=object))
        elif isinstance(kind, VariantType):
            out[name] = pd.Series([None if v is None else json.dumps(v) for v in values],
                                  dtype=object)
        else:
            out[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))

"""Snowflake names: user table names as quoted identifiers, and Snowflake's column case rules.

Table names reach a procedure as text (``'ANALYTICS.PUBLIC.GA_COUNTIES'``). They are
split into database, schema and table the way Snowflake reads them and every part
becomes a *quoted* sqlglot identifier, so a name is never pasted into SQL:

* ``"..."`` parts are taken verbatim (``""`` is an escaped quote);
* bare parts that are valid unquoted identifiers are upper-cased, as Snowflake
  resolves them (``ga_counties`` is the table ``GA_COUNTIES``);
* any other bare part is kept verbatim as one odd identifier, so
  ``x; DROP TABLE y --`` names a table called ``x; DROP TABLE y --``.

Columns follow Snowflake's case rule too. Unquoted column names are stored upper
case (``POPULATION``), while components use lower-case conventions (``id``,
``from_id``, ``lon``/``lat``). Input columns in that stored form are therefore
lower-cased for the component, column parameters (params whose metavar is ``COL``)
match case-insensitively when they are valid unquoted identifiers, and lower-case
output columns are written upper case, so ``SELECT territory FROM assignments``
works without quotes. A rename that would collide with another column is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from sqlglot import exp

from components.errors import InputError
from components.spec import ComponentSpec
from components.sqlgen import table

DIALECT = "snowflake"
_UNQUOTED = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")
_STORED_UNQUOTED = re.compile(r"[A-Z_][A-Z0-9_$]*\Z")
_LOWER_UNQUOTED = re.compile(r"[a-z_][a-z0-9_$]*\Z")


def split_name(text: str, what: str = "table") -> list[str]:
    """The identifiers Snowflake resolves ``text`` to: 1 to 3 parts (see module docstring)."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{what} name must be a non-empty string; got {text!r}", column=what)
    parts: list[str] = []
    i, s = 0, text.strip()
    while True:
        if s.startswith('"', i):
            j, buf = i + 1, []
            while True:
                k = s.find('"', j)
                if k < 0:
                    raise InputError(f"{what} name {text!r} has an unclosed double quote",
                                     column=what)
                buf.append(s[j:k])
                if s.startswith('""', k):
                    buf.append('"')
                    j = k + 2
                    continue
                break
            part, i = "".join(buf), k + 1
            if i < len(s) and s[i] != ".":
                raise InputError(f"{what} name {text!r}: expected '.' after a quoted part",
                                 column=what)
        else:
            k = s.find(".", i)
            k = len(s) if k < 0 else k
            raw = s[i:k]
            part, i = (raw.upper() if _UNQUOTED.match(raw) else raw), k
        if not part:
            raise InputError(f"{what} name {text!r} has an empty part", column=what)
        parts.append(part)
        if i >= len(s):
            break
        i += 1  # the dot
        if i >= len(s):
            raise InputError(f"{what} name {text!r} ends with a dot", column=what)
    if len(parts) > 3:
        raise InputError(f"{what} name {text!r} has {len(parts)} parts; use at most "
                         "database.schema.name", column=what)
    return parts


def parse_table(text: str, what: str = "table") -> exp.Table:
    """A user table name as an ``exp.Table`` of quoted identifiers."""
    return table(*split_name(text, what))


def sql(node: exp.Expression) -> str:
    return node.sql(dialect=DIALECT)


def sibling(target: exp.Table, name: str) -> exp.Table:
    """A table called ``name`` in the same database and schema as ``target``."""
    parts = [p.name for p in (target.args.get("catalog"), target.args.get("db")) if p]
    return table(*parts, name)


def stage_for(target: exp.Table, run_id: str) -> exp.Table:
    """The staging table for ``target`` in this run (same schema, so SWAP/RENAME work)."""
    token = re.sub(r"[^0-9A-Za-z]", "_", run_id).upper()
    return sibling(target, f"{target.name}__TERRAPLAN_STAGE_{token}")


def _renames(columns: Iterable[Any], pattern: re.Pattern[str], change) -> dict[Any, Any]:
    cols = list(columns)
    wanted = {c: change(c) for c in cols if isinstance(c, str) and pattern.match(c)}
    final = [wanted.get(c, c) for c in cols]
    clash = {n for n in final if final.count(n) > 1}
    return {c: n for c, n in wanted.items() if n != c and n not in clash}


def to_component_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Stored-unquoted (upper-case) column names lower-cased for the component."""
    renames = _renames(df.columns, _STORED_UNQUOTED, str.lower)
    return df.rename(columns=renames) if renames else df


def to_warehouse_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Lower-case column names upper-cased, so they read as unquoted identifiers."""
    renames = _renames(df.columns, _LOWER_UNQUOTED, str.upper)
    return df.rename(columns=renames) if renames else df


def column_params(spec: ComponentSpec) -> list[str]:
    """Parameters naming columns: by the spec convention their metavar is ``COL``
    (or ``COL=...`` for ``column=value`` items)."""
    return [p.name for p in spec.params
            if p.metavar and p.metavar.split("=")[0] == "COL" and p.type in ("str", "list[str]")]


def resolve_column_params(spec: ComponentSpec, params: Mapping[str, Any],
                          frames: Iterable[pd.DataFrame | None]) -> dict[str, Any]:
    """Column parameters matched to the (lower-cased) input columns, case-insensitively."""
    present: set[str] = set()
    for df in frames:
        if df is not None:
            present.update(str(c) for c in df.columns)

    def match(value: Any, keyed: bool) -> Any:
        if not isinstance(value, str):
            return value
        key, sep, rest = value.partition("=") if keyed else (value, "", "")
        if key not in present and _UNQUOTED.match(key) and key.lower() in present:
            return key.lower() + sep + rest
        return value

    out = dict(params)
    for name in column_params(spec):
        param, value = spec.param(name), out.get(name)
        keyed = "=" in (param.metavar or "")
        if param.type == "list[str]" and isinstance(value, str):
            value = param.coerce(value)  # "a,b" or '["a","b"]' as a list
        if isinstance(value, (list, tuple)):
            out[name] = [match(v, keyed) for v in value]
        elif value is not None:
            out[name] = match(value, keyed)
    return out

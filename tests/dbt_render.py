"""Renders the dbt package's macros for any adapter without a warehouse or its dbt adapter.

The macro files are compiled by dbt's own Jinja environment
(``dbt_common.clients.jinja.get_environment``, which names macros and parses ``{% test %}``
and ``{% materialization %}`` blocks the way dbt does). The context is the part of dbt's
that the macros use, acting as dbt does for the adapter named: ``adapter.dispatch`` looks up
``<adapter>__name``, then ``spark__name`` for databricks, then ``default__name`` (dbt's
order); ``return()`` ends a macro with its value; ``this``, ``config``, ``var`` and
``flags`` describe the model being compiled; relations render quoted for the dialect.
Only introspection answers are given here instead of asked of a warehouse: whether the
model's previous version exists and which columns a table has.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dbt_common.clients.jinja import get_environment
from sqlglot import exp

MACROS = Path(__file__).resolve().parents[1] / "workflows" / "dbt" / "macros"
DIALECTS = {"duckdb": "duckdb", "snowflake": "snowflake", "bigquery": "bigquery",
            "databricks": "databricks", "redshift": "redshift"}
FALLBACK = {"databricks": ("spark",)}


class CompilerError(Exception):
    """exceptions.raise_compiler_error"""


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


def _return(value: Any) -> None:
    raise _Return(value)


@dataclass(frozen=True)
class Relation:
    database: str | None
    schema: str
    identifier: str
    dialect: str
    type: str = "table"

    def incorporate(self, path: Mapping[str, str] | None = None, type: str | None = None
                    ) -> Relation:
        out = self
        for key, value in (path or {}).items():
            out = replace(out, **{key: value})
        return replace(out, type=type or self.type)

    def __str__(self) -> str:
        parts = [p for p in (self.database, self.schema) if p]
        table = exp.Table(this=exp.to_identifier(self.identifier, quoted=True),
                          db=exp.to_identifier(parts[-1], quoted=True) if parts else None,
                          catalog=exp.to_identifier(parts[0], quoted=True)
                          if len(parts) == 2 else None)
        return table.sql(dialect=self.dialect)


@dataclass(frozen=True)
class Column:
    name: str


@dataclass
class Adapter:
    name: str
    namespace: dict[str, Callable[..., Any]]
    previous: bool = False
    columns: dict[str, list[str]] = field(default_factory=dict)

    def dispatch(self, name: str, package: str = "terraplan") -> Callable[..., Any]:
        for prefix in (self.name, *FALLBACK.get(self.name, ()), "default"):
            found = self.namespace.get(f"{prefix}__{name}")
            if found is not None:
                return found
        raise CompilerError(f"no macro {name} for {self.name}")

    def get_relation(self, database: str | None, schema: str, identifier: str
                     ) -> Relation | None:
        if not self.previous:
            return None
        return Relation(database, schema, identifier, DIALECTS[self.name])

    def get_columns_in_relation(self, relation: Relation) -> list[Column]:
        return [Column(c) for c in self.columns[relation.identifier]]


class Namespace(dict):
    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class Config:
    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = dict(values)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


def _raise(message: str) -> None:
    raise CompilerError(message)


def _tojson(value: Any, default: Any = None, sort_keys: bool = False) -> str:
    return json.dumps(value, sort_keys=sort_keys)


class Renderer:
    """The package's macros, for one adapter and one model being compiled."""

    def __init__(self, adapter: str, *, materialized: str = "table",
                 config: Mapping[str, Any] | None = None, previous: bool = False,
                 columns: Mapping[str, list[str]] | None = None,
                 variables: Mapping[str, Any] | None = None,
                 this: tuple[str | None, str, str] = ("analytics", "sales", "territory_alignment"),
                 target: Mapping[str, Any] | None = None) -> None:
        dialect = DIALECTS[adapter]
        self.dialect = dialect
        namespace = Namespace()
        self.adapter = Adapter(adapter, namespace, previous, dict(columns or {}))
        variables = dict(variables or {})
        context: dict[str, Any] = {
            "adapter": self.adapter,
            "terraplan": namespace,
            "exceptions": Namespace(raise_compiler_error=_raise),
            "return": _return,
            "tojson": _tojson,
            "fromjson": json.loads,
            "config": Config({"materialized": materialized, **(config or {})}),
            "this": Relation(*this, dialect),
            "execute": True,
            "var": lambda name, default=None: variables.get(name, default),
            "flags": Namespace(FULL_REFRESH=False),
            "modules": Namespace(re=re),
            "target": dict(target or {}),
        }
        module = _template().make_module(vars=context)
        for attr in dir(module):
            if attr.startswith("dbt_macro__"):
                namespace[attr.removeprefix("dbt_macro__")] = _callable(getattr(module, attr))

    def relation(self, identifier: str, schema: str = "sales",
                 database: str | None = "analytics") -> Relation:
        return Relation(database, schema, identifier, self.dialect)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        return self.adapter.namespace[name]


@functools.lru_cache(maxsize=1)
def _template() -> Any:
    """Every macro file, compiled once (the context is given per renderer)."""
    env = get_environment(None, capture_macros=True)
    return env.from_string("\n".join(p.read_text() for p in sorted(MACROS.rglob("*.sql"))))


def _callable(macro: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            out = macro(*args, **kwargs)
        except _Return as done:
            return done.value
        return str(out)

    return call

"""SQL generation: canonical templates in sql/, rendered to every dialect by sqlglot.

Templates are written once in DuckDB's dialect with ``$name`` placeholders
(DuckDB's own named-parameter syntax, so a template is valid DuckDB SQL as it
stands). :func:`render` parses a template into an expression tree, fills the
placeholders with *quoted* identifiers or literals built by sqlglot (never by
pasting strings), expands list placeholders, and renders to the target dialect
with ``unsupported_level=RAISE``: a feature a warehouse lacks fails here, when
SQL is generated, not in the customer's scheduler.

List placeholders: a projection ``SUM($metric) AS metric`` whose placeholder is
bound to a list of columns is repeated once per column and aliased with that
column's output name.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from components.errors import InputError

DIALECTS = ("duckdb", "snowflake", "bigquery", "databricks", "redshift")
TEMPLATE_DIALECT = "duckdb"


def sql_root() -> Path:
    """Folder holding the templates: ``sql/`` in a checkout, ``components/sql`` in a wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "sql", here / "sql"):
        if (candidate / "scu").is_dir():
            return candidate
    raise FileNotFoundError(
        f"terraplan SQL templates not found next to {here}; reinstall the package"
    )


@dataclass(frozen=True)
class Ident:
    """A user-supplied column name; always rendered as a quoted identifier."""

    name: str
    alias: str | None = None  # output name when expanded from a list

    @property
    def output_name(self) -> str:
        return self.alias or self.name


def ident(name: str) -> Ident:
    if not isinstance(name, str) or not name:
        raise InputError(f"column name must be a non-empty string; got {name!r}")
    return Ident(name)


def idents(names: Iterable[str]) -> list[Ident]:
    return [ident(n) for n in names]


def table(*parts: str) -> exp.Table:
    """A table reference from separate, unparsed parts: (db, schema, name) or (name,).

    Each part becomes a quoted identifier, so ``table("x; DROP TABLE y --")`` is a
    table with an odd name, not an injection.
    """
    if not parts or len(parts) > 3 or not all(isinstance(p, str) and p for p in parts):
        raise InputError(f"table name must be 1 to 3 non-empty parts; got {parts!r}")
    ids = [exp.to_identifier(p, quoted=True) for p in parts]
    name = ids[-1]
    db = ids[-2] if len(ids) >= 2 else None
    catalog = ids[-3] if len(ids) == 3 else None
    return exp.Table(this=name, db=db, catalog=catalog)


@functools.lru_cache(maxsize=64)
def _template_text(name: str) -> str:
    try:
        path = sql_root() / f"{name}.sql"
    except FileNotFoundError:
        # inside a zip (a Snowflake stage import) paths are not directories: ask the
        # import system, which reads the packaged copy under components/sql
        from importlib import resources

        packaged = resources.files("components").joinpath("sql", f"{name}.sql")
        if packaged.is_file():
            return packaged.read_text(encoding="utf-8")
        raise
    if not path.is_file():
        raise FileNotFoundError(f"no SQL template '{name}' in {sql_root()}")
    return path.read_text(encoding="utf-8")


def template_names() -> list[str]:
    root = sql_root()
    return sorted(str(p.relative_to(root).with_suffix("")) for p in root.rglob("*.sql"))


def parse_template(name: str) -> list[exp.Expr]:
    """The template's statements as fresh expression trees (DuckDB dialect)."""
    statements = sqlglot.parse(_template_text(name), dialect=TEMPLATE_DIALECT)
    return [s for s in statements if s is not None]


Binding = Ident | Sequence[Ident] | exp.Expr | str | int | float | bool | None


def _to_expression(value: Binding) -> exp.Expr:
    if isinstance(value, Ident):
        return exp.column(exp.to_identifier(value.name, quoted=True))
    if isinstance(value, exp.Expr):
        return value.copy()
    return exp.convert(value)


def _expand_lists(tree: exp.Expr, lists: Mapping[str, Sequence[Ident]]) -> exp.Expr:
    for select in list(tree.find_all(exp.Select)):
        new_items: list[exp.Expr] = []
        for item in select.expressions:
            names = {p.name for p in item.find_all(exp.Placeholder)} & set(lists)
            if not names:
                new_items.append(item)
                continue
            if len(names) > 1:
                raise ValueError(f"projection mixes list placeholders {sorted(names)}")
            key = names.pop()
            for col in lists[key]:
                copy = item.copy()
                copy = exp.replace_placeholders(copy, **{key: _to_expression(col)})
                inner = copy.this if isinstance(copy, exp.Alias) else copy
                new_items.append(exp.alias_(inner, exp.to_identifier(col.output_name,
                                                                     quoted=True)))
        select.set("expressions", new_items)
    return tree


def build(name: str, **bindings: Binding) -> list[exp.Expr]:
    """Fill a template's placeholders; returns the statements as expression trees."""
    lists = {k: list(v) for k, v in bindings.items()
             if isinstance(v, (list, tuple)) and all(isinstance(i, Ident) for i in v)}
    scalars = {k: _to_expression(v) for k, v in bindings.items() if k not in lists}
    out = []
    for statement in parse_template(name):
        statement = _expand_lists(statement, lists)
        statement = exp.replace_placeholders(statement, **scalars)
        missing = sorted({p.name for p in statement.find_all(exp.Placeholder)})
        if missing:
            raise KeyError(f"template '{name}' needs bindings for: {', '.join(missing)}")
        out.append(statement)
    return out


def _radians_as_arithmetic(expression: exp.Expr, *, dialect: str) -> exp.Expr:
    """BigQuery has no RADIANS(): write x * ACOS(-1) / 180 (sqlglot passes it through)."""
    if dialect != "bigquery":
        return expression

    def rewrite(node: exp.Expr) -> exp.Expr:
        if (isinstance(node, exp.Anonymous) and node.name.upper() == "RADIANS") \
                or type(node).__name__ == "Radians":
            arg = node.expressions[0] if isinstance(node, exp.Anonymous) else node.this
            pi = exp.func("ACOS", exp.Literal.number(-1))
            return exp.Div(this=exp.Mul(this=exp.paren(arg.copy()), expression=pi),
                           expression=exp.Literal.number(180))
        return node

    return expression.transform(rewrite)


def _variant_paths(expression: exp.Expr, *, dialect: str) -> exp.Expr:
    """Snowflake reads nested fields as paths: ``a.col.key`` -> ``GET_PATH(a.col, 'key')``.

    DuckDB's (and BigQuery's) struct field access ``r.rule.max_speed.unit`` would be read
    by Snowflake as a qualified column name; its nested data is VARIANT/OBJECT/ARRAY (and
    FLATTEN's value column is VARIANT), reached with ``:`` paths. A column reference with
    more than two parts whose first part is a table alias in the statement is such a path.
    """
    if dialect != "snowflake":
        return expression
    aliases = {a.name for a in expression.find_all(exp.TableAlias) if a.name}
    aliases |= {t.alias_or_name for t in expression.find_all(exp.Table)}

    def rewrite(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Column):
            return node
        parts = [p for p in (node.args.get("catalog"), node.args.get("db"),
                             node.args.get("table"), node.this) if p is not None]
        if len(parts) < 3 or parts[0].name not in aliases:
            return node
        keys = [exp.JSONPathKey(this=p.name, quoted=p.quoted) for p in parts[2:]]
        return exp.JSONExtract(
            this=exp.column(parts[1].copy(), table=parts[0].copy()),
            expression=exp.JSONPath(expressions=[exp.JSONPathRoot(), *keys]),
            variant_extract=True, requires_json=True)

    return expression.transform(rewrite)


# rewrites applied before rendering: small functions rule(expression, *, dialect)
RULES = (_radians_as_arithmetic, _variant_paths)


def render(name: str, dialect: str = "duckdb", *, pretty: bool = True,
           **bindings: Binding) -> str:
    """Render template ``name`` for ``dialect``; unsupported features raise here."""
    if dialect not in DIALECTS:
        raise InputError(f"unknown SQL dialect '{dialect}'; choose one of {', '.join(DIALECTS)}")
    statements = build(name, **bindings)
    for rule in RULES:
        statements = [rule(s, dialect=dialect) for s in statements]
    return ";\n".join(
        s.sql(dialect=dialect, pretty=pretty, unsupported_level=ErrorLevel.RAISE)
        for s in statements
    ) + ";\n"

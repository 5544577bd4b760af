"""Snowflake DDL for terraplan, generated from the component specs.

Per component: ``CREATE OR REPLACE PROCEDURE <schema>.<COMPONENT>(<input tables>,
<output>_OUT tables, PARAMS VARIANT) RETURNS VARIANT`` (handler
:mod:`udfs.snowflake.procedures`) and, for point-table components,
``CREATE OR REPLACE FUNCTION <schema>.<COMPONENT>_BY_PARTITION(...) RETURNS TABLE``
(handler :mod:`udfs.snowflake.partition`). Every name and literal is a sqlglot node
rendered for Snowflake; clauses are emitted in the order of Snowflake's reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlglot import exp

from components import registry
from components.spec import ComponentSpec
from components.sqlgen import table
from udfs.snowflake import partition, procedures
from udfs.snowflake.names import DIALECT, split_name, sql
from udfs.snowflake.pins import PINS, RUNTIME_VERSION

# Anaconda-channel packages the zipped code imports (tests check this list against the
# zip's imports), pinned to the versions the "warehouse runtime" job tests (pins.py:
# make .venv-sfruntime runs the handlers on exactly these, without fork). Pure-Python
# dependencies are not listed: the zip carries the exact versions the tests ran
# (deploy.BUNDLED), so no channel version of sqlglot can change a statement.
PACKAGES = tuple(f"{name}=={version}" for name, version in PINS.items())
# Polygon and H3 adjacency (imported lazily); listed when the account's channel has them
# (deploy checks INFORMATION_SCHEMA.PACKAGES), else those two features say why not.
GEO_PACKAGES = ("shapely", "h3-py")
ZIP_NAME = "terraplan.zip"
DEFAULT_SCHEMA = "TERRAPLAN"
DEFAULT_STAGE = "TERRAPLAN_STAGE"
# The stage lives in its own schema: Snowflake cannot clone or replicate a schema whose
# Python UDFs import from a stage in that same schema.
DEFAULT_STAGE_SCHEMA = "TERRAPLAN_CODE"


@dataclass(frozen=True)
class Target:
    """Where terraplan is deployed: [database.]schema, and the stage holding the zip."""

    database: str | None = None
    schema: str = DEFAULT_SCHEMA
    stage: str = DEFAULT_STAGE
    stage_schema: str = DEFAULT_STAGE_SCHEMA
    packages: tuple[str, ...] = PACKAGES + GEO_PACKAGES

    def __post_init__(self) -> None:
        if self.stage_schema == self.schema:
            from components.errors import InputError

            raise InputError(f"--stage-schema {self.stage_schema!r} is the schema of the "
                             "procedures; Snowflake cannot clone or replicate a schema whose "
                             "functions import from a stage in it: use another schema, e.g. "
                             f"{DEFAULT_STAGE_SCHEMA}", column="stage_schema")

    @classmethod
    def parse(cls, database: str | None = None, schema: str | None = None,
              stage: str | None = None, stage_schema: str | None = None) -> Target:
        """From user text, with Snowflake's case rule (see :func:`names.split_name`)."""
        one = lambda text, what: _single(split_name(text, what), text, what)  # noqa: E731
        return cls(database=one(database, "database") if database else None,
                   schema=one(schema, "schema") if schema else DEFAULT_SCHEMA,
                   stage=one(stage, "stage") if stage else DEFAULT_STAGE,
                   stage_schema=(one(stage_schema, "stage schema") if stage_schema
                                 else DEFAULT_STAGE_SCHEMA))

    def object(self, name: str) -> exp.Table:
        return table(*([self.database] if self.database else []), self.schema, name)

    def schema_node(self) -> exp.Table:
        return table(*([self.database] if self.database else []), self.schema)

    def stage_schema_node(self) -> exp.Table:
        return table(*([self.database] if self.database else []), self.stage_schema)

    def stage_node(self) -> exp.Table:
        return table(*([self.database] if self.database else []), self.stage_schema,
                     self.stage)

    @property
    def stage_location(self) -> str:
        """``@"DB"."TERRAPLAN_CODE"."STAGE"`` for PUT and IMPORTS."""
        return "@" + sql(self.stage_node())

    @property
    def import_path(self) -> str:
        return f"{self.stage_location}/{ZIP_NAME}"


def _single(parts: list[str], text: str, what: str) -> str:
    if len(parts) != 1:
        from components.errors import InputError

        raise InputError(f"{what} {text!r} must be one name, not a dotted path", column=what)
    return parts[0]


def procedure_name(spec: ComponentSpec) -> str:
    return spec.name.upper()


def partition_name(spec: ComponentSpec) -> str:
    return f"{spec.name.upper()}_BY_PARTITION"


def procedure_arguments(spec: ComponentSpec) -> list[tuple[str, str]]:
    """Table names as VARCHAR, then PARAMS as VARIANT (names from the handler's module)."""
    return [(n, "VARIANT" if n == "PARAMS" else "VARCHAR")
            for n in procedures.procedure_arguments(spec.name)]


def _column_defs(columns: Sequence[tuple[str, str]]) -> list[exp.ColumnDef]:
    return [exp.ColumnDef(this=exp.to_identifier(n, quoted=True),
                          kind=exp.DataType.build(t, dialect=DIALECT)) for n, t in columns]


def string_literal(value: str) -> str:
    return sql(exp.Literal.string(value))


def _create(kind: str, name: exp.Table, arguments: Sequence[tuple[str, str]], returns: str,
            handler: str, comment: str, execute_as: str | None, target: Target) -> str:
    signature = exp.UserDefinedFunction(this=name, expressions=_column_defs(arguments),
                                        wrapped=True)
    packages = ", ".join(string_literal(p) for p in target.packages)
    lines = [
        f"CREATE OR REPLACE {kind} {sql(signature)}",
        f"RETURNS {returns}",
        "LANGUAGE PYTHON",
        f"RUNTIME_VERSION = {string_literal(RUNTIME_VERSION)}",
        f"PACKAGES = ({packages})",
        f"IMPORTS = ({string_literal(target.import_path)})",
        f"HANDLER = {string_literal(handler)}",
        f"COMMENT = {string_literal(comment)}",
    ]
    if execute_as:
        lines.append(f"EXECUTE AS {execute_as}")
    return "\n".join(lines)


def procedure_ddl(spec: ComponentSpec, target: Target) -> str:
    return _create("PROCEDURE", target.object(procedure_name(spec)), procedure_arguments(spec),
                   "VARIANT", f"udfs.snowflake.procedures.{spec.name}",
                   f"terraplan: {spec.summary}", execute_as="CALLER", target=target)


def partition_ddl(spec: ComponentSpec, target: Target) -> str:
    returns = sql(exp.Schema(this=exp.var("TABLE"),
                             expressions=_column_defs(partition.output_columns(spec))))
    return _create("FUNCTION", target.object(partition_name(spec)), partition.ARGUMENTS,
                   returns.replace("TABLE(", "TABLE (", 1),
                   f"udfs.snowflake.partition.{spec.name}",
                   f"terraplan: {spec.title}, one problem per PARTITION BY group",
                   execute_as=None, target=target)


def setup_ddl(target: Target) -> list[str]:
    schema = exp.Create(this=target.schema_node(), kind="SCHEMA", exists=True)
    code = exp.Create(this=target.stage_schema_node(), kind="SCHEMA", exists=True)
    stage = exp.Create(this=target.stage_node(), kind="STAGE", exists=True)
    return [sql(schema), sql(code), sql(stage)]


def package_name(package: str) -> str:
    return package.split("==", 1)[0]


def packages_query(names: Sequence[str]) -> str:
    """Which versions of ``names`` the account's Anaconda channel offers for the runtime
    (columns PACKAGE_NAME, VERSION, LANGUAGE, RUNTIME_VERSION of INFORMATION_SCHEMA.PACKAGES)."""
    wanted = exp.In(this=exp.column("PACKAGE_NAME"),
                    expressions=[exp.Literal.string(package_name(n)) for n in names])
    query = (exp.select(exp.column("PACKAGE_NAME"), exp.column("VERSION")).distinct()
             .from_(exp.to_table("INFORMATION_SCHEMA.PACKAGES"))
             .where(exp.and_(exp.EQ(this=exp.column("LANGUAGE"),
                                    expression=exp.Literal.string("python")),
                             exp.EQ(this=exp.column("RUNTIME_VERSION"),
                                    expression=exp.Literal.string(RUNTIME_VERSION)), wanted)))
    return sql(query)


def function_ddl(target: Target) -> list[str]:
    """Every procedure, then every partition UDTF, in component order."""
    specs = [c.spec for c in registry.components().values()]
    return ([procedure_ddl(s, target) for s in specs]
            + [partition_ddl(s, target) for s in specs if partition.eligible(s)])

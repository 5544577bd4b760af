"""Redshift DDL: the Lambda external functions, the procedures that take table names, the
run log.

For each component::

    CREATE OR REPLACE EXTERNAL FUNCTION "terraplan"."f_territory_balancing"(
        VARCHAR(MAX), VARCHAR(MAX), VARCHAR(MAX), VARCHAR(MAX))
    RETURNS VARCHAR(MAX) VOLATILE LAMBDA 'terraplan-redshift' IAM_ROLE '...'
    MAX_BATCH_ROWS 1;

    CALL "terraplan"."territory_balancing"('sales.ga_counties', NULL, 'sales.ga_edges',
         'sales.assignments', 'sales.territories', '{"territories": 8, ...}');

The procedure (PL/pgSQL, :mod:`udfs.redshift.plpgsql`) packs each input table into JSON
text with ``"terraplan"."pack_table"``, calls the external function once, and on success
publishes every output with ``"terraplan"."publish_output"`` inside one transaction, then
adds one ``terraplan_runs`` row. A failed call logs a ``failed`` row, commits it, and
raises the error text; no output changes. Table names are split on dots and every part
goes through ``quote_ident`` in the dynamic SQL; nothing a user passes is pasted unquoted.

Limits: a Lambda UDF argument and result is a ``VARCHAR`` of at most 65,535 bytes, so a
packed table (and an answer) is at most 64 KB: regional problems of several hundred
units (one CALL per region). Larger problems belong on the Spark adapter or DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from components import __version__, registry
from components.errors import InputError
from udfs.base import RUN_LOG_COLUMNS, RUN_LOG_TABLE
from udfs.redshift import plpgsql

DIALECT = "redshift"
DEFAULT_SCHEMA = "terraplan"
DEFAULT_LAMBDA = "terraplan-redshift"
TYPES = {"string": "VARCHAR(65535)", "double": "DOUBLE PRECISION", "bigint": "BIGINT",
         "boolean": "BOOLEAN", "timestamp": "TIMESTAMP", "json": "SUPER"}


@dataclass(frozen=True)
class Target:
    schema: str = DEFAULT_SCHEMA
    lambda_name: str = DEFAULT_LAMBDA
    iam_role: str = "default"

    def object(self, name: str) -> exp.Table:
        if not self.schema or len(self.schema.encode()) > 127:
            raise InputError(f"--schema {self.schema!r} is not a Redshift schema name "
                             "(1-127 bytes)", column="schema")
        return exp.Table(this=exp.to_identifier(name, quoted=True),
                         db=exp.to_identifier(self.schema, quoted=True))

    def sql(self, name: str) -> str:
        return self.object(name).sql(DIALECT)


def lit(text: str) -> str:
    return exp.Literal.string(text).sql(DIALECT)


def ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(DIALECT)


def external_function(component: str, target: Target) -> str:
    n = len(registry.get(component).spec.inputs) + 1
    args = ", ".join(["VARCHAR(MAX)"] * n)
    role = "default" if target.iam_role == "default" else lit(target.iam_role)
    return (f"CREATE OR REPLACE EXTERNAL FUNCTION {target.sql('f_' + component)}({args})\n"
            f"RETURNS VARCHAR(MAX) VOLATILE\nLAMBDA {lit(target.lambda_name)}\n"
            f"IAM_ROLE {role}\nMAX_BATCH_ROWS 1")


def run_log(target: Target) -> str:
    from udfs.redshift.adapter import ADAPTER

    cols = ",\n  ".join(f"{ident(c)} {t}" for c, t in ADAPTER.run_log_columns())
    return f"CREATE TABLE IF NOT EXISTS {target.sql(RUN_LOG_TABLE)} (\n  {cols}\n)"


def procedure(component: str, target: Target) -> str:
    """``<component>(in_<input>..., out_<output>..., params)``: the prefixes keep an input
    and an output of the same name (adjacency's ``edges``) apart."""
    spec = registry.get(component).spec
    ins = [t.name for t in spec.inputs]
    outs = [t.name for t in spec.outputs]
    args = ", ".join([*(f"in_{n} VARCHAR(65535)" for n in ins),
                      *(f"out_{n} VARCHAR(65535)" for n in outs), "params VARCHAR(65535)"])
    declare = "\n".join(f"  packed_{n} VARCHAR(65535);" for n in ins)
    pack = "\n".join(f"  CALL {target.sql('pack_table')}(in_{n}, packed_{n});" for n in ins)
    publish = "\n".join(
        f"  CALL {target.sql('publish_output')}('terraplan_answer_tmp', {lit(o)}, out_{o}, run);"
        for o in outs)
    outputs = " || ".join(
        [lit("{")] + [f"{lit(('' if i == 0 else ',') + chr(34) + o + chr(34) + ':')} || "
                      f"COALESCE('\"' || out_{o} || '\"', 'null')" for i, o in enumerate(outs)]
        + [lit("}")])
    return plpgsql.PROCEDURE.format(
        name=target.sql(component), args=args, declare=declare, pack=pack,
        function=target.sql("f_" + component), packed=", ".join(f"packed_{n}" for n in ins),
        log=target.sql(RUN_LOG_TABLE), component=lit(component), component_text=component,
        log_columns=", ".join(ident(c) for c, _ in RUN_LOG_COLUMNS[:12]),
        publish=publish, outputs=outputs)


def helper_procedures(target: Target) -> list[Statement]:
    """``pack_table`` and ``publish_output``, shared by every component's procedure."""
    return [Statement(plpgsql.PACK_TABLE.format(name=target.sql("pack_table"),
                                                escape=plpgsql.ESCAPE), "procedure"),
            Statement(plpgsql.PUBLISH_OUTPUT.format(name=target.sql("publish_output"),
                                                    digits=plpgsql.DIGITS), "procedure")]


@dataclass(frozen=True)
class Statement:
    """One deploy statement and its kind: ``schema``, ``table``, ``procedure`` or
    ``external_function`` (the one kind only Redshift itself can run)."""

    sql: str
    kind: str


def deploy_statements(target: Target, components: list[str] | None = None
                      ) -> list[Statement]:
    names = components or list(registry.components())
    for n in names:
        registry.get(n)
    out = [Statement(f"CREATE SCHEMA IF NOT EXISTS {ident(target.schema)}", "schema"),
           Statement(run_log(target), "table"), *helper_procedures(target)]
    for n in names:
        out += [Statement(external_function(n, target), "external_function"),
                Statement(procedure(n, target), "procedure")]
    return out


def statements(target: Target, components: list[str] | None = None) -> list[str]:
    return [s.sql for s in deploy_statements(target, components)]


def script(target: Target, components: list[str] | None = None) -> str:
    head = (f"-- terraplan {__version__} for Amazon Redshift; generated by 'terraplan deploy "
            "redshift', do not edit.\n")
    return head + "\n".join(s + ";\n" for s in statements(target, components))

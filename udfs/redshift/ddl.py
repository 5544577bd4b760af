# ruff: noqa: E501  (the PL/pgSQL templates below are SQL text, kept one statement a line)
"""Redshift DDL: the Lambda external functions, the procedures that take table names, the
run log.

For each component::

    CREATE OR REPLACE EXTERNAL FUNCTION "terraplan"."f_territory_balancing"(
        VARCHAR(MAX), VARCHAR(MAX), VARCHAR(MAX), VARCHAR(MAX))
    RETURNS VARCHAR(MAX) VOLATILE LAMBDA 'terraplan-redshift' IAM_ROLE '...'
    MAX_BATCH_ROWS 1;

    CALL "terraplan"."territory_balancing"('sales.ga_counties', NULL, 'sales.ga_edges',
         'sales.assignments', 'sales.territories', '{"territories": 8, ...}');

The procedure (PL/pgSQL) packs each input table into JSON text with
``"terraplan"."pack_table"`` (columns read from ``SVV_COLUMNS``, values escaped, rows
joined with ``LISTAGG``), calls the external function once, and on success publishes
every output inside its own transaction: each output is built from the answer with
PartiQL (``JSON_PARSE`` then ``FROM doc.tables.<output> AS r``) into a staging table,
the previous table dropped and the staging table renamed (Redshift DDL is
transactional, so readers see all old or all new outputs), one ``terraplan_runs`` row
added. A failed call logs a ``failed`` row, commits it, and raises the error text;
no output changes. Table names are split on dots and every part goes through
``quote_ident`` in the dynamic SQL; nothing a user passes is pasted unquoted.

Limits: LISTAGG and VARCHAR hold 65,535 bytes, so a packed table (and an answer) is
at most 64 KB: regional problems of a few hundred units. Larger problems belong on
the Spark adapter or DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from components import __version__, registry
from components.errors import InputError
from udfs.base import RUN_LOG_TABLE, output_columns

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


# PL/pgSQL: identifiers and literals below come from sqlglot (ident/lit); the table names
# the procedures receive at run time go through quote_ident part by part.
PACK_TABLE = """CREATE OR REPLACE PROCEDURE {name}(tbl VARCHAR(65535), INOUT packed VARCHAR(65535))
AS $$
DECLARE
  rec RECORD;
  expr VARCHAR(65535) := '';
  sch VARCHAR(127);
  rel VARCHAR(127);
BEGIN
  IF tbl IS NULL THEN
    packed := NULL;
    RETURN;
  END IF;
  IF POSITION('.' IN tbl) > 0 THEN
    sch := SPLIT_PART(tbl, '.', 1);
    rel := SPLIT_PART(tbl, '.', 2);
  ELSE
    sch := CURRENT_SCHEMA();
    rel := tbl;
  END IF;
  FOR rec IN SELECT column_name, data_type FROM svv_columns
      WHERE table_schema = sch AND table_name = rel ORDER BY ordinal_position LOOP
    IF expr <> '' THEN
      expr := expr || ' || '','' || ';
    END IF;
    expr := expr || quote_literal('"' || REPLACE(rec.column_name, '"', '\\\\"') || '":') || ' || ';
    IF rec.data_type IN ('smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision') THEN
      expr := expr || 'COALESCE(CAST(' || quote_ident(rec.column_name) || ' AS VARCHAR), ''null'')';
    ELSIF rec.data_type = 'boolean' THEN
      expr := expr || 'CASE WHEN ' || quote_ident(rec.column_name) || ' IS NULL THEN ''null'' WHEN '
        || quote_ident(rec.column_name) || ' THEN ''true'' ELSE ''false'' END';
    ELSE
      expr := expr || 'COALESCE(''"'' || REPLACE(REPLACE(CAST(' || quote_ident(rec.column_name)
        || ' AS VARCHAR), ''\\\\'', ''\\\\\\\\''), ''"'', ''\\\\"'') || ''"'', ''null'')';
    END IF;
  END LOOP;
  IF expr = '' THEN
    RAISE EXCEPTION 'terraplan: table % not found (or has no columns); pass schema.table', tbl;
  END IF;
  EXECUTE 'SELECT ''['' || LISTAGG(''{{'' || ' || expr || ' || ''}}'', '','') || '']'' FROM '
    || quote_ident(sch) || '.' || quote_ident(rel) INTO packed;
END;
$$ LANGUAGE plpgsql"""

PROCEDURE = """CREATE OR REPLACE PROCEDURE {name}({args})
AS $$
DECLARE
  doc VARCHAR(65535);
  started TIMESTAMP := GETDATE();
  run VARCHAR(64) := TO_CHAR(GETDATE(), 'YYYYMMDD"T"HH24MISSUS"Z"') || '-' || SUBSTRING(MD5(RANDOM()::VARCHAR), 1, 8);
  target VARCHAR(65535);
  stage VARCHAR(127);
{declare}
BEGIN
{pack}
  SELECT {function}({packed}, params) INTO doc;
  IF JSON_EXTRACT_PATH_TEXT(doc, 'error') <> '' THEN
    INSERT INTO {log} (run_id, workflow, step, component, status, started_at, finished_at, params, report, error, outputs)
      VALUES (run, 'call', {component}, {component}, 'failed', started, GETDATE(), params, '', JSON_EXTRACT_PATH_TEXT(doc, 'error'), '');
    COMMIT;
    RAISE EXCEPTION 'terraplan {component_text}: %', JSON_EXTRACT_PATH_TEXT(doc, 'error');
  END IF;
{publish}
  INSERT INTO {log} (run_id, workflow, step, component, status, started_at, finished_at, params, report, error, outputs)
    VALUES (run, 'call', {component}, {component}, 'succeeded', started, GETDATE(), params, JSON_EXTRACT_PATH_TEXT(doc, 'report'), '', {outputs});
END;
$$ LANGUAGE plpgsql"""

PUBLISH = """  IF {table} IS NOT NULL THEN
    target := CASE WHEN POSITION('.' IN {table}) > 0 THEN quote_ident(SPLIT_PART({table}, '.', 1)) || '.' || quote_ident(SPLIT_PART({table}, '.', 2)) ELSE quote_ident({table}) END;
    stage := 'terraplan_stage_' || SUBSTRING(MD5(run || {output}), 1, 12);
    EXECUTE 'CREATE TEMP TABLE ' || stage || ' AS SELECT ' || quote_literal(run) || '::VARCHAR(64) AS run_id, {select}'
      || ' FROM (SELECT JSON_PARSE(' || quote_literal(doc) || ') AS d) AS t, t.d.tables.{output_path} AS r';
    EXECUTE 'DROP TABLE IF EXISTS ' || target;
    EXECUTE 'CREATE TABLE ' || target || ' AS SELECT * FROM ' || stage;
    EXECUTE 'DROP TABLE ' || stage;
  END IF;"""


def _select(component: str, output: str) -> str:
    """The projection of one output from the answer's rows ``r`` (PartiQL), as a SQL
    string literal's content (quotes doubled). Metric columns come from ``params``."""
    fixed = output_columns(component, output, {"metrics": [], "current": "c"})
    parts = [f"r.{ident(c)}::{TYPES[t]} AS {ident(c)}" for c, t in fixed]
    return ", ".join(parts).replace("'", "''")


def procedure(component: str, target: Target) -> str:
    spec = registry.get(component).spec
    ins = [t.name for t in spec.inputs]
    outs = [t.name for t in spec.outputs]
    args = ", ".join(f"{n} VARCHAR(65535)" for n in [*ins, *outs, "params"])
    declare = "\n".join(f"  packed_{n} VARCHAR(65535);" for n in ins)
    pack = "\n".join(f"  CALL {target.sql('pack_table')}({n}, packed_{n});" for n in ins)
    publish = "\n".join(PUBLISH.format(table=o, output=lit(o), output_path=ident(o),
                                       select=_select(component, o)) for o in outs)
    outputs = " || ".join(
        [lit("{")] + [f"{lit(('' if i == 0 else ',') + chr(34) + o + chr(34) + ':')} || "
                      f"COALESCE('\"' || {o} || '\"', 'null')" for i, o in enumerate(outs)]
        + [lit("}")])
    return PROCEDURE.format(
        name=target.sql(component), args=args, declare=declare, pack=pack,
        function=target.sql("f_" + component), packed=", ".join(f"packed_{n}" for n in ins),
        log=target.sql(RUN_LOG_TABLE), component=lit(component), component_text=component,
        publish=publish, outputs=outputs)


def statements(target: Target, components: list[str] | None = None) -> list[str]:
    names = components or list(registry.components())
    for n in names:
        registry.get(n)
    out = [f"CREATE SCHEMA IF NOT EXISTS {ident(target.schema)}", run_log(target),
           PACK_TABLE.format(name=target.sql("pack_table"))]
    for n in names:
        out += [external_function(n, target), procedure(n, target)]
    return out


def script(target: Target, components: list[str] | None = None) -> str:
    head = (f"-- terraplan {__version__} for Amazon Redshift; generated by 'terraplan deploy "
            "redshift', do not edit.\n")
    return head + "\n".join(s + ";\n" for s in statements(target, components))

"""GoogleSQL for BigQuery: the remote functions and the procedures that wrap them.

Per component ``c`` (from the registry, nothing hand-listed):

* ``terraplan_<c>(<input> STRING, ..., params STRING) RETURNS STRING`` - packed mode,
  ``user_defined_context = [("component", c), ("mode", "packed")]``;
* ``terraplan_<c>_tables(request STRING) RETURNS STRING`` - table-reference mode;
* ``PROCEDURE <c>(<input>_table STRING, ..., out_<output> STRING, ..., params JSON)``
  which a user CALLs. It checks and quotes every table name, measures the input,
  estimates the reply (:mod:`udfs.bigquery.sizing`), packs the input with
  ``TO_JSON_STRING(ARRAY_AGG(t))`` and calls the packed function when input and reply
  fit BigQuery's limits (else, or when the reply still comes back too large, the tables
  function, which reads and writes the tables itself), RAISEs the component's message on
  bad input, writes each output to a staging table and only then over its target
  (``CREATE OR REPLACE TABLE``, first column ``run_id``), and records the run, failed
  ones included, in ``terraplan_runs``.

Both functions use ``max_batching_rows = 1``: a call is a whole problem, so each
gets its own request (and Cloud Run instance) and no batch nears the 15 MB
response limit.

Identifiers given at deploy time (project, dataset, connection, endpoint) are
validated and rendered as quoted sqlglot identifiers and literals. Table names
given at CALL time are text inside the procedure: they are matched against
BigQuery's naming rules (no backtick, quote, semicolon or backslash can pass)
and only then wrapped in backticks. The function and table DDL is produced by
sqlglot from expression trees; sqlglot cannot represent BigQuery scripting
(IF/RAISE/EXECUTE IMMEDIATE/EXCEPTION), so the procedure body is a template whose
every variable part is a sqlglot-rendered identifier or literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from components import registry
from components.errors import InputError
from components.spec import ComponentSpec
from udfs.base import RUN_LOG_TABLE
from udfs.bigquery.adapter import ADAPTER
from udfs.bigquery.sizing import PARAM_VARIABLES, mode_expression
from udfs.bigquery.tables import _DATASET, _PROJECT

DIALECT = "bigquery"

# the one run record (udfs.base.RUN_LOG_COLUMNS) in BigQuery's types
RUN_LOG_SCHEMA: tuple[tuple[str, str], ...] = tuple(ADAPTER.run_log_columns())

# BigQuery's rules, as RE2 inside the procedure: [project.]dataset.table, where the
# table name is letters, marks, digits, connectors, dashes and spaces.
TABLE_NAME_RE2 = (r"^(?:(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]*[a-z0-9][.])?[A-Za-z0-9_]+[.]"
                  r"[\p{L}\p{M}\p{N}\p{Pc}\p{Pd}\p{Zs}]+$")
UNQUALIFIED_RE2 = r"^[A-Za-z0-9_]+[.][^.]+$"
COLUMN_RE2 = r"^[A-Za-z_][A-Za-z0-9_]*$"

_LOCATION = re.compile(r"^[a-z]+(?:-[a-z0-9]+)*$")
_CONNECTION_ID = re.compile(r"^[A-Za-z0-9_-]{1,1024}$")
_ENDPOINT = re.compile(r"^https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]*)?$")


@dataclass(frozen=True)
class Target:
    """Where the SQL objects go and which service they call."""

    project: str
    dataset: str
    connection: str  # location.connection_id or project.location.connection_id
    endpoint: str    # the Cloud Run service URL (https)

    def __post_init__(self) -> None:
        if not _PROJECT.match(self.project):
            raise InputError(f"--project {self.project!r} is not a BigQuery project id",
                             column="project")
        if not _DATASET.match(self.dataset):
            raise InputError(f"--dataset {self.dataset!r} is not a BigQuery dataset name "
                             "(letters, digits, underscores)", column="dataset")
        parts = self.connection.split(".")
        ok = len(parts) in (2, 3) and _LOCATION.match(parts[-2]) and \
            _CONNECTION_ID.match(parts[-1]) and (len(parts) == 2 or _PROJECT.match(parts[0]))
        if not ok:
            raise InputError(f"--connection {self.connection!r} must be LOCATION.CONNECTION_ID "
                             "or PROJECT.LOCATION.CONNECTION_ID (a CLOUD_RESOURCE connection), "
                             "e.g. us.terraplan", column="connection")
        if not _ENDPOINT.match(self.endpoint):
            raise InputError(f"--endpoint {self.endpoint!r} must be the https URL of the Cloud "
                             "Run service, e.g. https://terraplan-bigquery-abc123-uc.a.run.app",
                             column="endpoint")

    @property
    def location(self) -> str:
        """The connection's BigQuery location (``us``, ``eu``, ``europe-west3``)."""
        return self.connection.split(".")[-2].lower()

    @property
    def connection_path(self) -> str:
        parts = self.connection.split(".")
        return ".".join(parts if len(parts) == 3 else [self.project, *parts])


@dataclass(frozen=True)
class Statement:
    name: str   # e.g. "function/terraplan_territory_balancing"
    kind: str   # "table" | "function" | "procedure"
    sql: str


# -- sqlglot pieces -------------------------------------------------------------------------

def ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect=DIALECT)


def literal(text: str) -> str:
    return exp.Literal.string(text).sql(dialect=DIALECT)


def qualified(target: Target, name: str) -> exp.Table:
    return exp.Table(this=exp.to_identifier(name, quoted=True),
                     db=exp.to_identifier(target.dataset, quoted=True),
                     catalog=exp.to_identifier(target.project, quoted=True))


def _q(target: Target, name: str) -> str:
    return qualified(target, name).sql(dialect=DIALECT)


def _canonical(sql: str) -> str:
    """Parse with sqlglot (read=bigquery) and print it back: proof it is one statement."""
    tree = sqlglot.parse_one(sql, read=DIALECT)
    return tree.sql(dialect=DIALECT, pretty=True)


def function_name(component: str, mode: str) -> str:
    return f"terraplan_{component}" + ("_tables" if mode == "tables" else "")


def input_args(spec: ComponentSpec) -> list[str]:
    return [f"{t.name}_table" for t in spec.inputs]


def output_args(spec: ComponentSpec) -> list[str]:
    return [f"out_{t.name}" for t in spec.outputs]


# -- DDL ----------------------------------------------------------------------------------

def dataset(target: Target) -> Statement:
    """The dataset, in the connection's location (a remote function must be in it)."""
    name = exp.Table(this=exp.to_identifier(target.dataset, quoted=True),
                     db=exp.to_identifier(target.project, quoted=True)).sql(dialect=DIALECT)
    # not through _canonical: sqlglot prints OPTIONS (location = ...) as LOCATION '...',
    # which BigQuery does not take
    sql = (f"CREATE SCHEMA IF NOT EXISTS {name} OPTIONS (location = "
           f"{literal(target.location)})")
    return Statement(f"dataset/{target.dataset}", "dataset", sql)


def run_log_table(target: Target) -> Statement:
    columns = ", ".join(f"{ident(n)} {t}" for n, t in RUN_LOG_SCHEMA)
    sql = f"CREATE TABLE IF NOT EXISTS {_q(target, RUN_LOG_TABLE)} ({columns})"
    return Statement(f"table/{RUN_LOG_TABLE}", "table", _canonical(sql))


def run_log_columns(target: Target) -> Statement:
    """A log made by an older deploy grows the columns it lacks (and keeps its rows)."""
    adds = ", ".join(f"ADD COLUMN IF NOT EXISTS {ident(n)} {t}" for n, t in RUN_LOG_SCHEMA)
    sql = f"ALTER TABLE {_q(target, RUN_LOG_TABLE)} {adds}"
    return Statement(f"table/{RUN_LOG_TABLE}/columns", "table", _canonical(sql))


def remote_function(target: Target, spec: ComponentSpec, mode: str) -> Statement:
    name = function_name(spec.name, mode)
    if mode == "packed":
        args = [f"{ident(t.name)} STRING" for t in spec.inputs] + [f"{ident('params')} STRING"]
    else:
        args = [f"{ident('request')} STRING"]
    context = f"[({literal('component')}, {literal(spec.name)}), ({literal('mode')}, " \
              f"{literal(mode)})]"
    sql = (f"CREATE OR REPLACE FUNCTION {_q(target, name)}({', '.join(args)}) RETURNS STRING "
           f"REMOTE WITH CONNECTION {ident(target.connection_path)} "
           f"OPTIONS (endpoint = {literal(target.endpoint)}, user_defined_context = {context}, "
           f"max_batching_rows = 1)")
    return Statement(f"function/{name}", "function", _canonical(sql))


def _check_name(var: str, arg: str, component: str, required: bool) -> list[str]:
    """Validate one table-name argument and set its quoted/qualified forms."""
    absent = f"{arg} IS NULL OR " if required else ""
    message = literal(f"terraplan {component}: {arg} must be a table name like "
                      "dataset.table or project.dataset.table; got ")
    full = f"IF(REGEXP_CONTAINS({arg}, {literal(UNQUALIFIED_RE2)}), @@project_id || '.', '') " \
           f"|| {arg}"
    return [
        f"IF {absent}NOT REGEXP_CONTAINS({arg}, name_pattern) THEN",
        f"  RAISE USING MESSAGE = {message} || IFNULL({arg}, 'NULL');",
        "END IF;",
        f"SET {var}_full = {full};",
        f"SET {var}_q = '`' || {var}_full || '`';",
    ]


def procedure(target: Target, spec: ComponentSpec) -> Statement:
    c = spec.name
    ins = [(t.name, a, t.required or i == 0) for i, (t, a) in
           enumerate(zip(spec.inputs, input_args(spec), strict=True))]
    outs = list(zip([t.name for t in spec.outputs], output_args(spec), strict=True))
    signature = ", ".join([f"{a} STRING" for _, a, _ in ins] + [f"{a} STRING" for _, a in outs]
                          + ["params JSON"])
    declare = [
        "DECLARE run_id STRING DEFAULT FORMAT_TIMESTAMP('%Y%m%dT%H%M%E6SZ', "
        "CURRENT_TIMESTAMP()) || '-' || SUBSTR(TO_HEX(MD5(GENERATE_UUID())), 1, 8);",
        "DECLARE started_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP();",
        f"DECLARE name_pattern STRING DEFAULT r'{TABLE_NAME_RE2}';",
        f"DECLARE column_pattern STRING DEFAULT r'{COLUMN_RE2}';",
        "DECLARE mode STRING;",
        "DECLARE n_rows INT64;",
        "DECLARE n_bytes INT64;",
        "DECLARE packed_rows INT64 DEFAULT 0;",
        "DECLARE packed_bytes INT64 DEFAULT 0;",
        "DECLARE result STRING;",
        "DECLARE doc JSON;",
        "DECLARE projection STRING;",
        "DECLARE bad_columns INT64;",
        *(f"DECLARE {v} INT64;" for v in PARAM_VARIABLES),
    ]
    for name, _, _ in ins:
        declare += [f"DECLARE {name}_full STRING;", f"DECLARE {name}_q STRING;",
                    f"DECLARE {name}_json STRING;", f"DECLARE {name}_rows INT64 DEFAULT 0;"]
    for name, _ in outs:
        declare += [f"DECLARE out_{name}_full STRING;", f"DECLARE out_{name}_q STRING;",
                    f"DECLARE out_{name}_stage STRING;", f"DECLARE out_{name}_cols STRING;"]

    body = ["-- 1. every table name is checked against BigQuery's rules, then quoted"]
    for name, arg, required in ins:
        lines = _check_name(name, arg, c, required)
        if not required:
            lines = [f"IF {arg} IS NOT NULL THEN", *("  " + x for x in lines), "END IF;"]
        body += lines
    for name, arg in outs:
        body += _check_name(f"out_{name}", arg, c, True)
        body.append(f"SET out_{name}_stage = '`' || REGEXP_REPLACE(out_{name}_full, "
                    f"r'[.][^.]+$', '') || '._terraplan_stage_' || "
                    f"REGEXP_REPLACE(run_id, r'[^A-Za-z0-9]', '_') || {literal('_' + name)} "
                    "|| '`';")

    body.append("-- 2. measure the input: packed JSON when it fits BigQuery's limits")
    for name, _, required in ins:
        lines = [f"EXECUTE IMMEDIATE FORMAT('SELECT COUNT(*), COALESCE(SUM(BYTE_LENGTH("
                 f"TO_JSON_STRING(t)) + 1), 0) FROM %s AS t', {name}_q) INTO n_rows, n_bytes;",
                 f"SET {name}_rows = n_rows;",
                 "SET packed_rows = packed_rows + n_rows;",
                 "SET packed_bytes = packed_bytes + n_bytes;"]
        body += lines if required else [f"IF {name}_q IS NOT NULL THEN",
                                         *("  " + x for x in lines), "END IF;"]
    body.append("SET packed_bytes = packed_bytes + IFNULL(BYTE_LENGTH(TO_JSON_STRING(params)), "
                "0);")
    body += [f"SET {v} = SAFE_CAST(JSON_VALUE(params, {literal(path)}) AS INT64);"
             for v, path in PARAM_VARIABLES.items()]
    body.append("-- the reply must fit too: a cost matrix can be 60x its input")
    body.append(f"SET mode = {mode_expression(spec).sql(dialect=DIALECT)};")

    body.append("-- 3. solve (the service raises nothing: bad input comes back as $.error)")
    body.append("IF mode = 'packed' THEN")
    for name, _, required in ins:
        line = (f"EXECUTE IMMEDIATE FORMAT('SELECT TO_JSON_STRING(ARRAY_AGG(t)) FROM %s AS t', "
                f"{name}_q) INTO {name}_json;")
        body += [f"  {line}"] if required else [f"  IF {name}_q IS NOT NULL THEN",
                                                 f"    {line}", "  END IF;"]
    packed_args = ", ".join([f"{name}_json" for name, _, _ in ins] + ["TO_JSON_STRING(params)"])
    body.append(f"  SET result = (SELECT {_q(target, function_name(c, 'packed'))}"
                f"({packed_args}));")
    body.append("  -- a reply over BigQuery's limit after all: solve again in table mode")
    body.append("  IF JSON_VALUE(PARSE_JSON(result, wide_number_mode => 'round'), '$.kind') = "
                "'reply_too_large' THEN")
    body.append("    SET mode = 'tables';")
    body.append("  END IF;")
    body.append("END IF;")
    body.append("IF mode = 'tables' THEN")
    inputs_obj = ", ".join(f"{literal(n)}, {n}_full" for n, _, _ in ins)
    outputs_obj = ", ".join(f"{literal(n)}, out_{n}_full" for n, _ in outs)
    body.append(f"  SET result = (SELECT {_q(target, function_name(c, 'tables'))}"
                f"(TO_JSON_STRING(JSON_OBJECT('inputs', JSON_OBJECT({inputs_obj}), "
                f"'outputs', JSON_OBJECT({outputs_obj}), 'params', params, "
                "'run_id', run_id))));")
    body.append("END IF;")
    body += [
        "SET doc = PARSE_JSON(result, wide_number_mode => 'round');",
        "IF JSON_VALUE(doc, '$.error') IS NOT NULL THEN",
        f"  RAISE USING MESSAGE = {literal(f'terraplan {c}: ')} || JSON_VALUE(doc, '$.error');",
        "END IF;",
    ]

    body.append("-- 4. packed mode: stage every output and prepare its target "
                "(tables mode: the service did both)")
    body.append("IF mode = 'packed' THEN")
    for name, _ in outs:
        path = literal(f"$.schema.{name}")
        body += [
            f"  SET bad_columns = (SELECT COUNTIF(NOT (REGEXP_CONTAINS(JSON_VALUE(f, '$.name'), "
            f"column_pattern) AND JSON_VALUE(f, '$.type') IN ('STRING', 'INT64', 'FLOAT64', "
            f"'BOOL'))) FROM UNNEST(JSON_QUERY_ARRAY(doc, {path})) AS f);",
            "  IF bad_columns > 0 THEN",
            f"    RAISE USING MESSAGE = {literal(f'terraplan {c}: output {name} has column names')}"
            " || ' BigQuery cannot take (use letters, digits and underscores)';",
            "  END IF;",
            "  SET projection = (SELECT STRING_AGG(FORMAT(\"LAX_%s(r['%s']) AS `%s`\", "
            "JSON_VALUE(f, '$.type'), JSON_VALUE(f, '$.name'), JSON_VALUE(f, '$.name')), ', ' "
            f"ORDER BY pos) FROM UNNEST(JSON_QUERY_ARRAY(doc, {path})) AS f WITH OFFSET AS pos);",
            "  EXECUTE IMMEDIATE FORMAT(\"CREATE OR REPLACE TABLE %s OPTIONS (expiration_timestamp"
            " = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS SELECT @run_id AS run_id, "
            f"%s FROM UNNEST(JSON_QUERY_ARRAY(@doc, '$.tables.{name}')) AS r\", "
            f"out_{name}_stage, projection) USING run_id AS run_id, doc AS doc;",
        ]
        body += [
            "  -- the target keeps its table (partitioning, clustering, descriptions): made if "
            "absent, given new columns (DDL, so before the transaction)",
            "  SET projection = (SELECT STRING_AGG(FORMAT('`%s` %s', JSON_VALUE(f, '$.name'), "
            f"JSON_VALUE(f, '$.type')), ', ') FROM UNNEST(JSON_QUERY_ARRAY(doc, {path})) AS f);",
            "  EXECUTE IMMEDIATE FORMAT('CREATE TABLE IF NOT EXISTS %s (`run_id` STRING, %s)', "
            f"out_{name}_q, projection);",
            "  EXECUTE IMMEDIATE FORMAT('ALTER TABLE %s ADD COLUMN IF NOT EXISTS `run_id` STRING, "
            "%s', "
            f"out_{name}_q, (SELECT STRING_AGG(FORMAT('ADD COLUMN IF NOT EXISTS `%s` %s', "
            "JSON_VALUE(f, '$.name'), JSON_VALUE(f, '$.type')), ', ') FROM "
            f"UNNEST(JSON_QUERY_ARRAY(doc, {path})) AS f));",
            f"  SET out_{name}_cols = (SELECT '`run_id`, ' || STRING_AGG(FORMAT('`%s`', "
            "JSON_VALUE(f, '$.name')), ', ' ORDER BY pos) FROM "
            f"UNNEST(JSON_QUERY_ARRAY(doc, {path})) AS f WITH OFFSET AS pos);",
        ]
    body.append("END IF;")

    log = _q(target, RUN_LOG_TABLE)
    columns = ", ".join(n for n, _ in RUN_LOG_SCHEMA)
    outputs_json = f"TO_JSON_STRING(JSON_OBJECT({outputs_obj}))"
    inputs_json = f"TO_JSON_STRING(JSON_OBJECT({inputs_obj}))"
    log_row = (f"INSERT INTO {log} ({columns}) VALUES (run_id, 'bigquery', mode, {literal(c)}, "
               "'succeeded', started_at, CURRENT_TIMESTAMP(), TO_JSON_STRING(params), "
               f"TO_JSON_STRING(JSON_QUERY(doc, '$.report')), NULL, {outputs_json}, 'call', "
               f"NULL, {inputs_json});")
    body += ["-- 5. publish every output and the run row in one transaction (packed mode; "
             "the service did the same in tables mode)",
             "IF mode = 'packed' THEN",
             "  BEGIN TRANSACTION;"]
    for name, _ in outs:
        body += [f"  EXECUTE IMMEDIATE FORMAT('DELETE FROM %s WHERE TRUE', out_{name}_q);",
                 "  EXECUTE IMMEDIATE FORMAT('INSERT INTO %s (%s) SELECT %s FROM %s', "
                 f"out_{name}_q, out_{name}_cols, out_{name}_cols, out_{name}_stage);"]
    body += [f"  {log_row}", "  COMMIT TRANSACTION;"]
    body += [f"  EXECUTE IMMEDIATE FORMAT('DROP TABLE %s', out_{name}_stage);" for name, _ in outs]
    body += ["ELSE", f"  {log_row}", "END IF;",
             "SELECT run_id, mode, JSON_VALUE(doc, '$.report.status') AS status, "
             "JSON_QUERY(doc, '$.report') AS report;"]
    failed = [
        "IF @@transaction_id IS NOT NULL THEN",
        "  ROLLBACK TRANSACTION;",
        "END IF;",
        f"INSERT INTO {log} ({columns}) VALUES (run_id, 'bigquery', mode, {literal(c)}, "
        "'failed', started_at, CURRENT_TIMESTAMP(), TO_JSON_STRING(params), NULL, "
        f"@@error.message, NULL, 'call', NULL, {inputs_json});",
        "RAISE USING MESSAGE = @@error.message;",
    ]
    lines = [f"CREATE OR REPLACE PROCEDURE {_q(target, c)}({signature})",
             "BEGIN",
             f"  -- terraplan {c}: generated by 'terraplan deploy bigquery'; do not edit.",
             *("  " + x for x in declare),
             "  BEGIN",
             *("    " + x for x in body),
             "  EXCEPTION WHEN ERROR THEN",
             *("    " + x for x in failed),
             "  END;",
             "END"]
    return Statement(f"procedure/{c}", "procedure", "\n".join(lines))


def statements(target: Target, components: list[str] | None = None) -> list[Statement]:
    """Every statement ``terraplan deploy bigquery`` runs, in order."""
    known = registry.components()
    names = components or list(known)
    out = [dataset(target), run_log_table(target), run_log_columns(target)]
    for name in names:
        spec = registry.get(name).spec
        out += [remote_function(target, spec, "packed"), remote_function(target, spec, "tables"),
                procedure(target, spec)]
    return out


def script(target: Target, components: list[str] | None = None) -> str:
    """All statements as one GoogleSQL script (what ``--dry-run`` prints)."""
    parts = [f"-- {s.name}\n{s.sql};" for s in statements(target, components)]
    return "\n\n".join(parts) + "\n"

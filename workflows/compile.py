"""Compile a workflow to one SQL script per warehouse that calls the deployed components.

``terraplan compile WORKFLOW --warehouse duckdb|snowflake|bigquery`` prints a script
that runs the workflow's steps in order, inside the warehouse, through what
``terraplan deploy`` installed:

* **snowflake**: ``CALL <db>.<schema>.<COMPONENT>(<input tables>, <output tables>,
  <params object constant>)`` per step (:mod:`udfs.snowflake.ddl`): table names are
  string arguments in canonical quoted form (``'"SALES"."GA_COUNTIES"'``), resolved by
  the procedure with Snowflake's rules, NULL for an optional input or output not wired;
* **bigquery**: ``CALL `project`.`dataset`.<component>(<input tables>, <output tables>,
  JSON '<params>')`` per step (:mod:`udfs.bigquery.ddl`): table names are
  ``dataset.table`` strings, every output is named (the wrapper needs one per output:
  unmapped outputs go to ``<workflow>__<step>__<output>``);
* **duckdb**: the SQL functions of :func:`udfs.duckdb.register_functions`. Each step
  packs its inputs with ``(SELECT to_json(list(t)) FROM tbl AS t)``, calls
  ``terraplan_<component>(...)`` once into a temporary table, stops with ``error()`` on
  ``$.error``, and unpacks every mapped output with ``unnest(from_json(...))`` whose
  structure is read from the result (``json_structure``, kept in a variable because
  ``from_json`` needs a constant), inside one transaction with its run-log row.

Table names come from the sources (``table:``, or the source's own name) and from the
earlier steps' outputs. Identifiers are quoted sqlglot identifiers and every user
string is a sqlglot string literal; nothing a user wrote is pasted into SQL. Each
statement is built as a sqlglot tree where sqlglot can represent it (``Statement.tree``);
it cannot represent ``CALL`` (it keeps it as an opaque command) nor Snowflake's object
constants (it rewrites ``{...}`` to ``OBJECT_CONSTRUCT``, which drops NULLs), so those
are assembled from sqlglot-rendered pieces.

Not compiled (they are ``terraplan run`` features on DuckDB): ``rebalance`` (joining
the current alignment in), ``scenarios`` and ``exports``; the script says so in a
comment. Top-level parameters set to null are left out (the component's default).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from components import registry
from components.errors import InputError
from components.sqlgen import table
from udfs.base import RUN_LOG_TABLE
from workflows.spec import Step, Workflow, load_workflow

WAREHOUSES = ("duckdb", "snowflake", "bigquery")
DEFAULT_BQ_DATASET = "terraplan"
# The run-log columns every version of the DuckDB log has (newer ones add columns with
# ALTER TABLE ... ADD COLUMN IF NOT EXISTS, so an explicit column list stays valid).
DUCKDB_RUN_LOG = (("run_id", "VARCHAR"), ("workflow", "VARCHAR"), ("step", "VARCHAR"),
                  ("component", "VARCHAR"), ("status", "VARCHAR"),
                  ("started_at", "TIMESTAMP"), ("finished_at", "TIMESTAMP"),
                  ("params", "VARCHAR"), ("report", "VARCHAR"), ("error", "VARCHAR"),
                  ("outputs", "VARCHAR"))
DOC_TABLE = "__terraplan_step"
RUN_ID_VAR = "terraplan_run_id"
UTC_NOW = "CAST(get_current_timestamp() AT TIME ZONE 'UTC' AS TIMESTAMP)"


@dataclass(frozen=True)
class Statement:
    """One statement of a script: its SQL, and its sqlglot tree when sqlglot has one."""

    sql: str
    tree: exp.Expression | None = None  # None: sqlglot cannot represent it (see module doc)
    comment: str = ""                   # printed above the statement


@dataclass(frozen=True)
class Location:
    """Where the deployed objects and the data live (each warehouse uses its own fields)."""

    database: str | None = None       # snowflake: database of the procedures
    schema: str | None = None         # snowflake: schema of the procedures (TERRAPLAN)
    data_database: str | None = None  # snowflake: qualifies unqualified table names
    data_schema: str | None = None
    project: str | None = None        # bigquery: project of the procedures and run log
    dataset: str | None = None        # bigquery: their dataset (terraplan)
    data_dataset: str | None = None   # bigquery: dataset of unqualified tables (= dataset)


# -- shared helpers ---------------------------------------------------------------------------

def as_workflow(workflow: Workflow | str | Path) -> Workflow:
    return workflow if isinstance(workflow, Workflow) else load_workflow(workflow)


def check_warehouse(warehouse: str) -> str:
    if warehouse not in WAREHOUSES:
        raise InputError(f"--warehouse must be one of {', '.join(WAREHOUSES)}; got "
                         f"{warehouse!r}", column="warehouse")
    return warehouse


def comment_text(value: str) -> str:
    """A user string safe inside a ``--`` comment: JSON-quoted, so no line break survives."""
    return json.dumps(value, ensure_ascii=True)


def table_text(wf: Workflow, name: str) -> str:
    """The warehouse table a step input/output names: a source's table, else the name."""
    return wf.source_table(name) if name in wf.sources else name


def params_of(step: Step) -> dict[str, Any]:
    """The step's parameters as JSON values; null ones dropped (the component's default)."""
    out = {k: v for k, v in step.params.items() if v is not None}
    for key, value in out.items():
        _check_json(value, f"step '{step.name}': parameter '{key}'")
    return out


def _check_json(value: Any, where: str) -> None:
    if isinstance(value, Mapping):
        for v in value.values():
            _check_json(v, where)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _check_json(v, where)
    elif isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{where}: {value!r} has no JSON form; use a finite number",
                         column=where)
    elif not (value is None or isinstance(value, (str, int, float, bool))):
        raise InputError(f"{where}: value {value!r} ({type(value).__name__}) has no JSON form; "
                         "quote it in the YAML to pass it as text", column=where)


def params_json(params: Mapping[str, Any]) -> str:
    return json.dumps(params, ensure_ascii=True)


def render(statements: Sequence[Statement], header: Sequence[str]) -> str:
    """The script: header comment lines, then each statement (with its comment) and ';'."""
    lines = [f"-- {h}" if h else "--" for h in header]
    body = []
    for s in statements:
        text = f"-- {s.comment}\n" if s.comment else ""
        body.append(f"{text}{s.sql};")
    return "\n".join(lines) + "\n\n" + "\n".join(body) + "\n"


def _steps_header(wf: Workflow, warehouse: str) -> list[str]:
    inputs = sorted({table_text(wf, t) for s in wf.steps for t in s.inputs.values()
                     if t in wf.sources})
    lines = [f"terraplan workflow {comment_text(wf.name)} for {warehouse}: "
             f"{len(wf.steps)} step(s); generated by 'terraplan compile', do not edit.",
             "source tables: " + ", ".join(comment_text(t) for t in inputs)]
    skipped = [k for k in ("rebalance", "scenarios") if getattr(wf, k, None)]
    if skipped:
        lines.append(f"not compiled ({', '.join(skipped)}): 'terraplan run' applies them on "
                     "DuckDB; here each step runs with its own 'with' parameters.")
    return lines


def _spec_args(step: Step) -> tuple[Any, list[str | None], list[str | None]]:
    """The component's spec, and the step's table per input and output (None: not wired)."""
    spec = registry.get(step.uses).spec
    ins = [step.inputs.get(t.name) for t in spec.inputs]
    outs = [step.outputs.get(t.name) for t in spec.outputs]
    return spec, ins, outs


def _call(name: exp.Table, args: Sequence[str], dialect: str) -> str:
    """``CALL name(args)``: sqlglot keeps CALL as an opaque command, so the procedure name
    is a rendered sqlglot table of quoted identifiers and each argument a rendered
    sqlglot literal (or a Snowflake constant built from them)."""
    return f"CALL {name.sql(dialect=dialect)}({', '.join(args)})"


# -- snowflake --------------------------------------------------------------------------------

def snowflake_table(text: str, loc: Location) -> exp.Table:
    """A table name the way Snowflake resolves it, qualified by the data schema if bare."""
    from udfs.snowflake.names import split_name

    parts = split_name(text, "table")
    if len(parts) == 1 and loc.data_schema:
        from udfs.snowflake.ddl import Target

        data = Target.parse(loc.data_database, loc.data_schema)
        parts = [*([data.database] if data.database else []), data.schema, parts[0]]
    return table(*parts)


def snowflake_constant(value: Any) -> str:
    """A Snowflake object/array constant (``{'k': v}``, ``[...]``) from JSON values; every
    string is a sqlglot string literal, every number a sqlglot number literal."""
    if isinstance(value, Mapping):
        items = [f"{exp.Literal.string(str(k)).sql('snowflake')}: {snowflake_constant(v)}"
                 for k, v in value.items() if v is not None]
        return "{" + ", ".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(snowflake_constant(v) for v in value) + "]"
    return exp.convert(value).sql(dialect="snowflake")


def snowflake_call(wf: Workflow, step: Step, loc: Location) -> Statement:
    from udfs.snowflake.ddl import Target, procedure_name

    spec, ins, outs = _spec_args(step)
    target = Target.parse(loc.database, loc.schema)
    name = target.object(procedure_name(spec))
    args = [exp.Literal.string(snowflake_table(table_text(wf, t), loc).sql("snowflake"))
            .sql("snowflake") if t else "NULL" for t in [*ins, *outs]]
    args.append(snowflake_constant(params_of(step)))
    return Statement(_call(name, args, "snowflake"), None,
                     f"step {step.name}: {step.uses}")


# -- bigquery ---------------------------------------------------------------------------------

def bigquery_location(loc: Location) -> tuple[str | None, str, str]:
    """(project, dataset of the procedures, dataset of the data), validated."""
    from udfs.bigquery.tables import _DATASET, _PROJECT

    if loc.project is not None and not _PROJECT.match(loc.project):
        raise InputError(f"--project {loc.project!r} is not a BigQuery project id (lower-case "
                         "letters, digits and hyphens)", column="project")
    dataset = loc.dataset or DEFAULT_BQ_DATASET
    data = loc.data_dataset or dataset
    for flag, value in (("--dataset", dataset), ("--data-dataset", data)):
        if not _DATASET.match(value):
            raise InputError(f"{flag} {value!r} is not a BigQuery dataset name (letters, "
                             "digits, underscores)", column=flag)
    return loc.project, dataset, data


def bigquery_object(loc: Location, name: str) -> exp.Table:
    project, dataset, _ = bigquery_location(loc)
    return exp.Table(this=exp.to_identifier(name, quoted=True),
                     db=exp.to_identifier(dataset, quoted=True),
                     catalog=exp.to_identifier(project, quoted=True) if project else None)


def bigquery_table_text(text: str, loc: Location) -> str:
    """``[project.]dataset.table`` as the wrapper procedure takes it (bare names get the
    data dataset); the procedure checks it against BigQuery's naming rules."""
    _, _, data = bigquery_location(loc)
    return text if "." in text else f"{data}.{text}"


def scratch_name(wf: Workflow, step: Step, output: str) -> str:
    """Table for an output the workflow does not map (BigQuery's wrapper needs a name)."""
    slug = re.sub(r"[^A-Za-z0-9_]", "_", wf.name)
    return f"{slug}__{step.name}__{output}"


def bigquery_call(wf: Workflow, step: Step, loc: Location) -> Statement:
    spec, ins, outs = _spec_args(step)
    name = bigquery_object(loc, spec.name)
    lit = lambda text: exp.Literal.string(text).sql("bigquery")  # noqa: E731
    args = [lit(bigquery_table_text(table_text(wf, t), loc)) if t else "NULL" for t in ins]
    args += [lit(bigquery_table_text(t or scratch_name(wf, step, o.name), loc))
             for t, o in zip(outs, spec.outputs, strict=True)]
    params = exp.ParseJSON(this=exp.Literal.string(params_json(params_of(step))),
                           is_literal=True)
    args.append(params.sql(dialect="bigquery"))
    return Statement(_call(name, args, "bigquery"), None, f"step {step.name}: {step.uses}")


# -- duckdb -----------------------------------------------------------------------------------

def duckdb_table(text: str) -> exp.Table:
    """``[db.][schema.]table`` as quoted identifiers (split on dots, never parsed)."""
    return table(*text.split("."))


def _duck(template: str, **bindings: exp.Expression) -> exp.Expression:
    """A DuckDB statement from a constant template with ``$name`` placeholders."""
    tree = sqlglot.parse_one(template, read="duckdb")
    return exp.replace_placeholders(tree, **bindings)


def _duck_statement(tree: exp.Expression, comment: str = "") -> Statement:
    return Statement(tree.sql(dialect="duckdb"), tree, comment)


def duckdb_prelude() -> list[Statement]:
    run_id = _duck(f"SET VARIABLE {RUN_ID_VAR} = strftime({UTC_NOW}, '%Y%m%dT%H%M%S%fZ') "
                   "|| '-' || substr(md5(CAST(uuid() AS VARCHAR)), 1, 8)")
    log = exp.Create(this=exp.Schema(this=table(RUN_LOG_TABLE), expressions=[
        exp.ColumnDef(this=exp.to_identifier(c, quoted=True), kind=exp.DataType.build(t))
        for c, t in DUCKDB_RUN_LOG]), kind="TABLE", exists=True)
    return [_duck_statement(run_id, "one run id for every step of this run"),
            _duck_statement(log, "the run log terraplan run writes too")]


def duckdb_step(wf: Workflow, step: Step, index: int) -> list[Statement]:
    spec, ins, _ = _spec_args(step)
    doc = table(DOC_TABLE)
    packed = [_duck("(SELECT to_json(list(t)) FROM $tbl AS t)",
                    tbl=duckdb_table(table_text(wf, t))) if t else exp.null() for t in ins]
    params = params_of(step)
    call = exp.Anonymous(this=f"terraplan_{spec.name}",
                         expressions=[*packed, exp.Literal.string(params_json(params))])
    out: list[Statement] = [_duck_statement(
        _duck(f"CREATE OR REPLACE TEMPORARY TABLE $doc AS SELECT {UTC_NOW} AS started_at, "
              "$call AS doc", doc=doc, call=call),
        f"step {index}/{len(wf.steps)}: {step.name} ({step.uses})")]
    prefix = exp.Literal.string(f"terraplan step {step.name}: ")
    out.append(_duck_statement(_duck(
        "SELECT error($prefix || json_extract_string(doc, '$.error')) FROM $doc "
        "WHERE json_extract_string(doc, '$.error') IS NOT NULL", prefix=prefix, doc=doc),
        "stop here on bad input (the message names the column or parameter)"))
    mapped = [(t.name, step.outputs[t.name]) for t in spec.outputs if t.name in step.outputs]
    for name, _ in mapped:
        # from_json needs a constant structure: read it from the result into a variable
        out.append(_duck_statement(_duck(
            f"SET VARIABLE terraplan_shape_{name} = (SELECT replace(json_structure("
            "json_extract(doc, $path)), '\"UBIGINT\"', '\"BIGINT\"') FROM $doc)",
            path=exp.Literal.string(f"$.tables.{name}"), doc=doc)))
    out.append(_duck_statement(exp.Transaction(), "publish every output and the log row "
                                                  "at once"))
    for name, target in mapped:
        out.append(_duck_statement(_duck(
            f"CREATE OR REPLACE TABLE $target AS SELECT getvariable('{RUN_ID_VAR}') AS run_id, "
            f"unnest(from_json(json_extract(doc, $path), getvariable('terraplan_shape_{name}')),"
            " max_depth := 2) FROM $doc",
            target=duckdb_table(target), path=exp.Literal.string(f"$.tables.{name}"), doc=doc)))
    columns = ", ".join(c for c, _ in DUCKDB_RUN_LOG)
    values = dict(workflow=exp.Literal.string(wf.name), step=exp.Literal.string(step.name),
                  component=exp.Literal.string(step.uses),
                  params=exp.Literal.string(params_json(params)),
                  outputs=exp.Literal.string(json.dumps(dict(mapped))), log=table(RUN_LOG_TABLE),
                  doc=doc)
    out.append(_duck_statement(_duck(
        f"INSERT INTO $log ({columns}) SELECT getvariable('{RUN_ID_VAR}'), $workflow, $step, "
        f"$component, 'succeeded', started_at, {UTC_NOW}, $params, "
        "CAST(json_extract(doc, '$.report') AS VARCHAR), '', $outputs FROM $doc", **values)))
    out.append(_duck_statement(exp.Commit()))
    return out


def duckdb_statements(wf: Workflow) -> list[Statement]:
    out = duckdb_prelude()
    for i, step in enumerate(wf.steps, 1):
        out += duckdb_step(wf, step, i)
    out.append(_duck_statement(_duck("DROP TABLE IF EXISTS $doc", doc=table(DOC_TABLE))))
    return out


# -- entry points -----------------------------------------------------------------------------

def compile_statements(workflow: Workflow | str | Path, warehouse: str,
                       location: Location | None = None) -> list[Statement]:
    """Every statement of the compiled script, in order (see the module docstring)."""
    wf = as_workflow(workflow)
    loc = location or Location()
    check_warehouse(warehouse)
    if warehouse == "duckdb":
        return duckdb_statements(wf)
    make = snowflake_call if warehouse == "snowflake" else bigquery_call
    return [make(wf, step, loc) for step in wf.steps]


def compile_workflow(workflow: Workflow | str | Path, warehouse: str, *,
                     database: str | None = None, schema: str | None = None,
                     data_database: str | None = None, data_schema: str | None = None,
                     project: str | None = None, dataset: str | None = None,
                     data_dataset: str | None = None) -> str:
    """The workflow as one SQL script for ``warehouse`` (duckdb, snowflake or bigquery).

    Snowflake: ``database``/``schema`` locate the procedures (default schema TERRAPLAN),
    ``data_database``/``data_schema`` qualify bare table names (default: the session's).
    BigQuery: ``project``/``dataset`` locate the procedures (default dataset terraplan),
    ``data_dataset`` holds bare table names (default: ``dataset``). DuckDB: the tables
    are in the connection's current schema; ``register_functions`` must have been called.
    """
    wf = as_workflow(workflow)
    loc = Location(database, schema, data_database, data_schema, project, dataset,
                   data_dataset)
    statements = compile_statements(wf, warehouse, loc)
    header = _steps_header(wf, warehouse)
    if warehouse == "duckdb":
        header.append("needs the terraplan_<component> SQL functions: "
                      "udfs.duckdb.register_functions(con)")
    else:
        header.append(f"needs 'terraplan deploy {warehouse}' (one procedure per component)")
    return render(statements, header)

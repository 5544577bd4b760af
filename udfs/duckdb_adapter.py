"""The DuckDB adapter: metadata and the compiled script of a workflow.

Each step packs its inputs with ``(SELECT to_json(list(t)) FROM tbl AS t)``, calls
``terraplan_<component>(...)`` (:func:`udfs.duckdb.register_functions`) once into a
temporary table, stops with ``error()`` on ``$.error``, and unpacks every mapped output
with ``unnest(from_json(...))`` whose structure is read from the result
(``json_structure``, kept in a variable because ``from_json`` needs a constant), inside
one transaction with its run-log row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar, cast

import sqlglot
from sqlglot import exp

from components.sqlgen import table
from udfs.base import (
    RUN_LOG_TABLE,
    Capabilities,
    Location,
    NameRules,
    Statement,
    WarehouseAdapter,
    params_json,
    params_of,
    spec_args,
    table_text,
)

DOC_TABLE = "__terraplan_step"
RUN_ID_VAR = "terraplan_run_id"
UTC_NOW = "CAST(get_current_timestamp() AT TIME ZONE 'UTC' AS TIMESTAMP)"


def duckdb_table(text: str) -> exp.Table:
    """``[db.][schema.]table`` as quoted identifiers (split on dots, never parsed)."""
    return table(*text.split("."))


def _duck(template: str, **bindings: exp.Expression) -> exp.Expression:
    """A DuckDB statement from a constant template with ``$name`` placeholders."""
    tree = sqlglot.parse_one(template, read="duckdb")
    return cast(exp.Expression, exp.replace_placeholders(tree, **bindings))


def _duck_statement(tree: exp.Expression, comment: str = "") -> Statement:
    return Statement(tree.sql(dialect="duckdb"), tree, comment)


class DuckDBAdapter(WarehouseAdapter):
    name = "duckdb"
    dialect = "duckdb"
    type_map: ClassVar[Mapping[str, str]] = {
        "string": "VARCHAR", "double": "DOUBLE", "bigint": "BIGINT",
                "boolean": "BOOLEAN", "timestamp": "TIMESTAMP", "json": "JSON"}
    names = NameRules(max_length=2**31, folds="none")
    capabilities = Capabilities(transactional_ddl=True, python_udfs=True)

    def prelude(self, wf: Any, loc: Location) -> list[Statement]:
        run_id = _duck(f"SET VARIABLE {RUN_ID_VAR} = strftime({UTC_NOW}, '%Y%m%dT%H%M%S%fZ') "
                       "|| '-' || substr(md5(CAST(uuid() AS VARCHAR)), 1, 8)")
        log = exp.Create(this=exp.Schema(this=table(RUN_LOG_TABLE), expressions=[
            exp.ColumnDef(this=exp.to_identifier(c, quoted=True), kind=exp.DataType.build(t))
            for c, t in self.run_log_columns()]), kind="TABLE", exists=True)
        # a log written by an older version grows the columns it lacks
        grow = [_duck_statement(exp.Alter(this=table(RUN_LOG_TABLE), kind="TABLE", actions=[
            exp.ColumnDef(this=exp.to_identifier(c, quoted=True), kind=exp.DataType.build(t),
                          exists=True)])) for c, t in self.run_log_columns()]
        return [_duck_statement(run_id, "one run id for every step of this run"),
                _duck_statement(log, "the run log terraplan run writes too"), *grow]

    def compile_step(self, wf: Any, step: Any, index: int, loc: Location) -> list[Statement]:
        spec, ins, _ = spec_args(step)
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
        mapped = [(t.name, step.outputs[t.name]) for t in spec.outputs
                  if t.name in step.outputs]
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
                f"CREATE OR REPLACE TABLE $target AS SELECT getvariable('{RUN_ID_VAR}') AS "
                f"run_id, unnest(from_json(json_extract(doc, $path), "
                f"getvariable('terraplan_shape_{name}')), max_depth := 2) FROM $doc",
                target=duckdb_table(target), path=exp.Literal.string(f"$.tables.{name}"),
                doc=doc)))
        columns = ", ".join(c for c, _ in self.run_log_columns())
        values = dict(workflow=exp.Literal.string(wf.name), step=exp.Literal.string(step.name),
                      component=exp.Literal.string(step.uses),
                      params=exp.Literal.string(params_json(params)),
                      outputs=exp.Literal.string(json.dumps(dict(mapped))),
                      inputs=exp.Literal.string(json.dumps(
                          {k: table_text(wf, v) for k, v in step.inputs.items()})),
                      log=table(RUN_LOG_TABLE), doc=doc)
        out.append(_duck_statement(_duck(
            f"INSERT INTO $log ({columns}) SELECT getvariable('{RUN_ID_VAR}'), $workflow, "
            f"$step, $component, 'succeeded', started_at, {UTC_NOW}, $params, "
            "CAST(json_extract(doc, '$.report') AS VARCHAR), '', $outputs, 'compiled', NULL, "
            "$inputs FROM $doc",
            **values)))
        out.append(_duck_statement(exp.Commit()))
        return out

    def postlude(self, wf: Any, loc: Location) -> list[Statement]:
        return [_duck_statement(_duck("DROP TABLE IF EXISTS $doc", doc=table(DOC_TABLE)))]

    def script_header(self, wf: Any) -> list[str]:
        return ["needs the terraplan_<component> SQL functions: "
                "udfs.duckdb.register_functions(con)"]


ADAPTER = DuckDBAdapter()

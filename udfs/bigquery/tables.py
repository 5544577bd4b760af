"""Table-reference mode: the service reads inputs and writes outputs with the BigQuery client.

User table names arrive as text (``project.dataset.table``). They are checked
against BigQuery's naming rules and then used only as API references
(``TableReference``), or as sqlglot-quoted identifiers in the publish script.
Outputs are written atomically: every output is first loaded into a staging table
(a load job, free and all-or-nothing), and only when all are staged are they
published over their targets in one transaction that keeps the targets' options
(:mod:`udfs.bigquery.publish`); a failure leaves every previous output as it was.
Staging tables are deleted in all cases.

BigQuery may resend a request, even one that succeeded, and two copies may run at
once. So each attempt stages under its own names (run id plus a random token: one
copy's cleanup never deletes the other's staging tables), both copies of a
deterministic solve publish the same tables, and a request whose outputs already all
hold its run id is answered from them without solving again (:meth:`completed`).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from components.errors import InputError
from components.result import jsonable
from udfs.base import RUN_ID_COLUMN
from udfs.bigquery import publish

_PROJECT = re.compile(r"^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{0,61}[a-z0-9]$")
_DATASET = re.compile(r"^[A-Za-z0-9_]{1,1024}$")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,299}$")
_TABLE_CATEGORIES = {"L", "M", "N", "Pc", "Pd", "Zs"}  # BigQuery's table-name rule


@dataclass(frozen=True)
class TableId:
    project: str
    dataset: str
    table: str

    def __str__(self) -> str:
        return f"{self.project}.{self.dataset}.{self.table}"

    def sibling(self, table: str) -> TableId:
        return TableId(self.project, self.dataset, table)


def _valid_table_name(name: str) -> bool:
    return 0 < len(name) <= 1024 and all(
        unicodedata.category(ch)[0] in _TABLE_CATEGORIES
        or unicodedata.category(ch) in _TABLE_CATEGORIES for ch in name)


def parse_table_id(text: Any, *, argument: str, default_project: str | None) -> TableId:
    """``[project.]dataset.table`` -> TableId; InputError naming ``argument`` otherwise."""
    example = "e.g. 'my-project.sales.scus' or 'sales.scus'"
    if not isinstance(text, str) or not text:
        raise InputError(f"'{argument}' must be a table name, {example}; got {text!r}",
                         column=argument)
    parts = text.rsplit(".", 2)
    if len(parts) == 2:
        if default_project is None:
            raise InputError(f"'{argument}' = {text!r} has no project; write "
                             "project.dataset.table", column=argument)
        parts = [default_project, *parts]
    if len(parts) != 3:
        raise InputError(f"'{argument}' = {text!r} is not a table name, {example}",
                         column=argument)
    project, dataset, table = parts
    if not _PROJECT.match(project):
        raise InputError(f"'{argument}': project {project!r} is not a BigQuery project id "
                         "(lower-case letters, digits and hyphens)", column=argument)
    if not _DATASET.match(dataset):
        raise InputError(f"'{argument}': dataset {dataset!r} is not a BigQuery dataset name "
                         "(letters, digits and underscores)", column=argument)
    if not _valid_table_name(table):
        raise InputError(f"'{argument}': table {table!r} is not a BigQuery table name "
                         "(letters, marks, digits, connectors, dashes and spaces)",
                         column=argument)
    return TableId(project, dataset, table)


# -- types --------------------------------------------------------------------------------

def bigquery_type(values: pd.Series) -> str:
    """The GoogleSQL type a column is written as: BOOL, INT64, FLOAT64 or STRING."""
    if pd.api.types.is_bool_dtype(values):
        return "BOOL"
    if pd.api.types.is_integer_dtype(values):
        return "INT64"
    if pd.api.types.is_float_dtype(values):
        return "FLOAT64"
    present = [v for v in values.tolist() if v is not None and not (
        isinstance(v, float) and np.isnan(v))]
    if present and all(isinstance(v, (bool, np.bool_)) for v in present):
        return "BOOL"
    if present and all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
                       for v in present):
        return "INT64"
    return "STRING"


def table_schema(df: pd.DataFrame) -> list[dict[str, str]]:
    """``[{"name", "type"}]`` per column; names must be plain GoogleSQL column names."""
    bad = [str(c) for c in df.columns if not _COLUMN.match(str(c))]
    if bad:
        raise InputError(f"output column name(s) {', '.join(map(repr, bad))} cannot be written "
                         "to BigQuery: use metric/column names made of letters, digits and "
                         "underscores", column=bad[0])
    return [{"name": str(c), "type": bigquery_type(df[c])} for c in df.columns]


def json_rows(df: pd.DataFrame, schema: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Rows as JSON values matching ``schema`` (STRING columns as text, NaN as null)."""
    out = df.copy()
    for field in schema:
        if field["type"] == "STRING":
            col = out[field["name"]]
            out[field["name"]] = col.where(col.isna(), col.astype(str)).astype(object)
    return jsonable(out.astype(object).where(out.notna(), None).to_dict("records"))


# -- reading and writing ------------------------------------------------------------------

class BigQueryTables:
    """Reads and atomically writes tables through an injected ``google.cloud.bigquery.Client``."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def read(self, table: TableId) -> pd.DataFrame:
        rows = self.client.list_rows(str(table))
        records = [dict(row.items()) for row in rows]
        columns = [f.name for f in (rows.schema or [])]
        return pd.DataFrame.from_records(records, columns=columns or None)

    def _exists(self, table: TableId) -> bool:
        from google.api_core.exceptions import NotFound

        try:
            self.client.get_table(str(table))
        except NotFound:
            return False
        return True

    def completed(self, targets: list[TableId], run_id: str) -> dict[str, int] | None:
        """Row counts when every target already holds ``run_id`` (the run published), else
        None. A table is written whole by one run, so its first row tells."""
        from google.api_core.exceptions import NotFound

        counts: dict[str, int] = {}
        for target in targets:
            try:
                table = self.client.get_table(str(target))
            except NotFound:
                return None
            rows = self.client.list_rows(table, max_results=1)
            first = list(rows)
            if not first or dict(first[0].items()).get(RUN_ID_COLUMN) != run_id:
                return None
            # tabledata.list's totalRows: the table's numRows lags behind DML on emulators
            counts[str(target)] = int(rows.total_rows)
        return counts

    def write(self, tables: Mapping[TableId, pd.DataFrame], run_id: str) -> dict[str, int]:
        from google.cloud import bigquery

        # run id and a token per attempt: a resent copy of this request stages elsewhere
        suffix = re.sub(r"[^A-Za-z0-9_]", "_", run_id)[:64] + "_" + uuid.uuid4().hex[:12]
        staged: dict[TableId, TableId] = {}
        schemas: dict[TableId, list[dict[str, str]]] = {}
        counts: dict[str, int] = {}
        try:
            for i, (target, df) in enumerate(tables.items()):
                out = df.copy()
                out.insert(0, RUN_ID_COLUMN, run_id)
                schema = schemas[target] = table_schema(out)
                stage = target.sibling(f"_terraplan_stage_{suffix}_{i}")
                config = bigquery.LoadJobConfig(
                    schema=[bigquery.SchemaField(f["name"], f["type"]) for f in schema],
                    write_disposition="WRITE_TRUNCATE", create_disposition="CREATE_IF_NEEDED")
                self.client.load_table_from_json(json_rows(out, schema), str(stage),
                                                 job_config=config).result()
                staged[target] = stage
                counts[str(target)] = len(out)
            # all targets in one transaction, their options (partitioning, clustering,
            # descriptions) kept: see udfs.bigquery.publish
            self.client.query(publish.script(
                [publish.Output(str(t), str(stage), schemas[t], self._exists(t))
                 for t, stage in staged.items()])).result()
        finally:
            for stage in staged.values():
                self.client.delete_table(str(stage), not_found_ok=True)
        return counts


ClientFactory = Callable[[str | None], Any]


def default_client_factory(project: str | None) -> Any:
    """The user's (or the Cloud Run service account's) application default credentials."""
    from google.cloud import bigquery

    return bigquery.Client(project=project)

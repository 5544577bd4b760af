"""The compiled ``CALL`` per workflow step on BigQuery, and the names it uses.

``CALL `project`.`dataset`.<component>(<input tables>, <output tables>, JSON '<params>')``
(:mod:`udfs.bigquery.ddl`): table names are ``dataset.table`` strings, every output is
named (the wrapper needs one per output: unmapped outputs go to
``<workflow>__<step>__<output>``).
"""

from __future__ import annotations

import re
from typing import Any

from sqlglot import exp

from components.errors import InputError
from udfs.base import (
    Location,
    Statement,
    call_text,
    params_json,
    params_of,
    spec_args,
    table_text,
)

DEFAULT_BQ_DATASET = "terraplan"


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


def scratch_name(wf: Any, step: Any, output: str) -> str:
    """Table for an output the workflow does not map (BigQuery's wrapper needs a name)."""
    slug = re.sub(r"[^A-Za-z0-9_]", "_", wf.name)
    return f"{slug}__{step.name}__{output}"


def bigquery_call(wf: Any, step: Any, loc: Location) -> Statement:
    spec, ins, outs = spec_args(step)
    name = bigquery_object(loc, spec.name)
    lit = lambda text: exp.Literal.string(text).sql("bigquery")  # noqa: E731
    args = [lit(bigquery_table_text(table_text(wf, t), loc)) if t else "NULL" for t in ins]
    args += [lit(bigquery_table_text(t or scratch_name(wf, step, o.name), loc))
             for t, o in zip(outs, spec.outputs, strict=True)]
    params = exp.ParseJSON(this=exp.Literal.string(params_json(params_of(step))),
                           is_literal=True)
    args.append(params.sql(dialect="bigquery"))
    return Statement(call_text(name, args, "bigquery"), None, f"step {step.name}: {step.uses}")


def _bq_table(text: str) -> exp.Table:
    """``[project.]dataset.table`` as a table of quoted identifiers, for SQL the script
    runs itself (a CALL's table arguments are strings the procedure checks)."""
    from udfs.bigquery.tables import _DATASET, _PROJECT, _valid_table_name

    *rest, name = text.split(".")
    if len(rest) not in (1, 2) or not _valid_table_name(name) or not _DATASET.match(rest[-1]) \
            or (len(rest) == 2 and not _PROJECT.match(rest[0])):
        raise InputError(f"{text!r} is not a BigQuery table name ([project.]dataset.table)",
                         column=text)
    parts = [exp.to_identifier(p, quoted=True) for p in rest]
    return exp.Table(this=exp.to_identifier(name, quoted=True), db=parts[-1] if parts else None,
                     catalog=parts[-2] if len(parts) > 1 else None)

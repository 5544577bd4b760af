"""Rebalance on refresh, once for every warehouse: feed today's alignment into a step.

A workflow's ``rebalance: {step, alignment, disruption_weight, max_moved}`` block makes
the named step start from the published alignment: each unit's territory in the
``alignment`` table (``id``, ``territory``) becomes the step's ``current`` column (a unit
not in it is :data:`NEW_UNIT`), and the step runs with a disruption weight (moving a
unit costs that many times its typical distance) and, when given, ``max_moved``.

Two forms of the same join, so no runner re-derives it:

* :func:`join_alignment`: pandas, for runners that hold the frames (the DuckDB runner,
  a Spark ``applyInPandas`` group);
* :func:`rebalance_statements`: the SQL a scheduled warehouse job runs before the
  step's CALL (``CREATE TABLE IF NOT EXISTS`` the alignment, so the first run starts
  with every unit new; then the joined input table), as sqlglot trees for any dialect.

:func:`rebalance_params` gives the step's parameters either way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
from sqlglot import exp

from components.errors import InputError
from components.scu import NEW_UNIT

CURRENT_COLUMN = "__terraplan_current"
DISRUPTION_WEIGHT = 10.0  # default: moving a unit costs ~10x its typical distance


@dataclass(frozen=True)
class Rebalance:
    step: str
    alignment: str
    disruption_weight: float | None = None
    max_moved: float | None = None

    @classmethod
    def of(cls, workflow: Any) -> Rebalance | None:
        """The workflow's rebalance block, or None."""
        cfg = getattr(workflow, "rebalance", None) or {}
        if not cfg.get("step") or not cfg.get("alignment"):
            return None
        return cls(str(cfg["step"]), str(cfg["alignment"]), cfg.get("disruption_weight"),
                   cfg.get("max_moved"))

    def applies_to(self, step: Any) -> bool:
        return getattr(step, "name", step) == self.step


def rebalance_params(rb: Rebalance, params: Mapping[str, Any]) -> dict[str, Any]:
    """The step's parameters for a rebalance: the block wins over the step, the step over
    the default weight; ``current`` is the joined column."""
    out = {"disruption_weight": DISRUPTION_WEIGHT, **params, "current": CURRENT_COLUMN}
    if rb.disruption_weight is not None:
        out["disruption_weight"] = rb.disruption_weight
    if rb.max_moved is not None:
        out["max_moved"] = rb.max_moved
    return out


def join_alignment(units: pd.DataFrame, alignment: pd.DataFrame, id_column: str,
                   where: str = "alignment") -> pd.DataFrame:
    """``units`` with :data:`CURRENT_COLUMN`: each unit's territory today, or NEW_UNIT."""
    cols = {str(c).lower(): c for c in alignment.columns}
    if not {"id", "territory"} <= set(cols):
        raise InputError(f"rebalance.alignment table '{where}' needs columns id, territory; "
                         f"it has {', '.join(map(str, alignment.columns))}", column=where)
    lookup = dict(zip(alignment[cols["id"]].astype(str), alignment[cols["territory"]].astype(str),
                      strict=True))
    out = units.copy()
    out[CURRENT_COLUMN] = [lookup.get(str(v), NEW_UNIT) for v in units[id_column]]
    return out


def input_table_name(workflow: Any, step: Any) -> str:
    """The table a scheduled job joins today's alignment into, for ``step``."""
    return f"{workflow.name}__{getattr(step, 'name', step)}__rebalance"


def rebalance_statements(units: exp.Table, alignment: exp.Table, joined: exp.Table,
                         id_column: str, *, fold: Callable[[str], str] = str
                         ) -> list[exp.Expression]:
    """SQL trees: make sure the alignment exists, then build ``joined`` from ``units``.

    ``fold`` maps a column name to how the warehouse stores it (Snowflake: upper case),
    so the quoted identifiers match the tables' columns.
    """
    col = lambda name, tbl: exp.column(exp.to_identifier(fold(name), quoted=True),  # noqa: E731
                                       table=exp.to_identifier(tbl))
    text = exp.DataType.build("VARCHAR")
    create = exp.Create(this=exp.Schema(this=alignment.copy(), expressions=[
        exp.ColumnDef(this=exp.to_identifier(fold(c), quoted=True), kind=text.copy())
        for c in ("id", "territory")]), kind="TABLE", exists=True)
    current = exp.Coalesce(this=exp.cast(col("territory", "a"), text.copy()),
                           expressions=[exp.Literal.string(NEW_UNIT)])
    select = (exp.select(exp.column(exp.Star(), table="s"),
                         exp.alias_(current, exp.to_identifier(fold(CURRENT_COLUMN), quoted=True)))
              .from_(exp.alias_(units.copy(), "s", table=True))
              .join(exp.alias_(alignment.copy(), "a", table=True), join_type="LEFT",
                    on=exp.EQ(this=exp.cast(col(id_column, "s"), text.copy()),
                              expression=exp.cast(col("id", "a"), text.copy()))))
    build = exp.Create(this=joined.copy(), kind="TABLE", replace=True, expression=select)
    return [create, build]


def compile_rebalance(wf: Any, step: Any, table_of: Callable[[str], exp.Table],
                      dialect: str, *, fold: Callable[[str], str] = str
                      ) -> tuple[list[Any], Any]:
    """For a warehouse script: the statements to run before ``step``'s CALL, and the step
    as it must be called (first input: the joined table; parameters: the rebalance's).

    ``table_of`` maps a workflow table name (a source or an output) to its qualified
    table in the warehouse. A step the workflow does not rebalance comes back unchanged.
    """
    from components import registry
    from udfs.base import Statement, comment_text

    rb = Rebalance.of(wf)
    if rb is None or not rb.applies_to(step):
        return [], step
    first = registry.get(step.uses).spec.inputs[0].name
    if first not in step.inputs or "current" not in {
            p.name for p in registry.get(step.uses).spec.params}:
        raise InputError(f"rebalance.step '{rb.step}' ({step.uses}) takes no current "
                         "alignment: point rebalance at a territory_balancing step",
                         column="rebalance")
    joined = input_table_name(wf, step)
    trees = rebalance_statements(table_of(step.inputs[first]), table_of(rb.alignment),
                                 table_of(joined), step.params.get("id") or "id", fold=fold)
    notes = [f"rebalance: today's alignment ({comment_text(rb.alignment)}) joined onto the "
             f"units as "
             f"{CURRENT_COLUMN}; the first run starts from an empty one (every unit new)",
             "rebalance: the step's input with each unit's current territory"]
    pre = [Statement(t.sql(dialect=dialect), t, n) for t, n in zip(trees, notes, strict=True)]
    return pre, replace(step, inputs={**step.inputs, first: joined},
                        params=rebalance_params(rb, step.params))

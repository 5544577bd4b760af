"""What a Databricks job task does to tables: read the inputs, run one step, stage its
outputs, publish a run's outputs, keep the run log and history.

A workflow run on Spark, in the order the job's tasks run it (:mod:`udfs.spark.job`):

1. ``sources_changed`` (only when the schedule has both a cron and ``on_change``): a
   fingerprint of every ``on_change`` source (row count and the sum of ``xxhash64`` over
   every row) against the one the last succeeded run recorded;
2. one task per step: its inputs are read (sources as tables, an earlier step's output
   from that step's stage table of this run), the component runs on the driver, and each
   output is written to ``<output>__stage__<run>``; a step row goes to the run log;
3. ``publish``: every output is replaced from its stage table in one write per table
   (``mode("overwrite")`` with ``overwriteSchema``: on Delta one atomic commit, so
   readers see the old or the new version and time travel keeps every earlier one),
   appended to ``<output>__history`` with the run id, the stage tables dropped, and the
   run's ``(run)`` row logged ``succeeded`` last.

A step that fails stops the job before ``publish``: no published table changes, the run
log has the failed step row. The same code runs locally on Spark's own tables (format
``parquet`` in ``spark-warehouse``): what differs there is only that a parquet overwrite is
not one atomic commit (Delta's transaction log is what makes it one).

``rebalance``: the step named by the workflow's ``rebalance`` block starts from the
published alignment table (``id``, ``territory``) as its current territory, with the
block's disruption weight and cap (as ``terraplan run`` does on DuckDB).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlglot import exp

from components import registry
from components.errors import InputError
from components.result import jsonable
from udfs.base import RUN_ID_COLUMN, RUN_LOG_COLUMNS, RUN_LOG_NAMES, RUN_LOG_TABLE, RunRecord
from udfs.execute import Hooks, execute_component

RUN_STEP = "(run)"  # the run's own row, as in the DuckDB run log
CURRENT_COLUMN = "__terraplan_current"  # the runner's names for the rebalance join
NEW_UNIT = "(new)"
REBALANCE_DISRUPTION = 10.0


@dataclass(frozen=True)
class Home:
    """Where the workflow's tables are: a bare name goes to ``catalog.schema``, a
    ``schema.table`` to ``catalog`` (either may be None: the session's current one);
    ``fmt`` is ``delta`` on Databricks."""

    catalog: str | None = None
    schema: str | None = None
    fmt: str = "delta"

    def name(self, table: str) -> str:
        """``table`` (``name``, ``schema.name`` or ``catalog.schema.name``) as a quoted
        Spark SQL identifier."""
        parts = str(table).split(".")
        if len(parts) > 3 or not all(p.strip() for p in parts):
            raise InputError(f"table {table!r} is not a Unity Catalog name (catalog.schema."
                             "table, schema.table or table)", column="table")
        if len(parts) == 1:
            parts = [p for p in (self.catalog, self.schema) if p] + parts
        elif len(parts) == 2 and self.catalog:  # schema.table: in the workflow's catalog
            parts = [self.catalog, *parts]
        for part in parts:
            if "`" in part:
                raise InputError(f"table name part {part!r} has a backtick; Unity Catalog "
                                 "names cannot", column="table")
        return ".".join(exp.to_identifier(p, quoted=True).sql("databricks") for p in parts)


def stage_name(output_table: str, run_id: str) -> str:
    return f"{output_table}__stage__{re.sub(r'[^A-Za-z0-9_]', '_', str(run_id))}"


def _exists(spark: Any, name: str) -> bool:
    return bool(spark.catalog.tableExists(name))


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def log_schema() -> str:
    """The run log (udfs.base.RUN_LOG_COLUMNS) as a Spark DDL schema, in this adapter's types."""
    from udfs.spark.adapter import ADAPTER

    return ", ".join(f"`{c}` {t}" for c, t in ADAPTER.run_log_columns())


def log_rows(spark: Any, home: Home, rows: list[dict[str, Any]]) -> None:
    """Append rows to the run log (created on first use; a log written by an older
    version grows the columns it lacks, like every output's history)."""
    data = [tuple(r.get(c) for c, _ in RUN_LOG_COLUMNS) for r in rows]
    append_widening(spark, home, spark.createDataFrame(data, schema=log_schema()), RUN_LOG_TABLE)


def read_log(spark: Any, home: Home) -> pd.DataFrame:
    name = home.name(RUN_LOG_TABLE)
    if not _exists(spark, name):
        return pd.DataFrame(columns=[c for c, _ in RUN_LOG_COLUMNS])
    return spark.table(name).toPandas()


def fingerprint(spark: Any, home: Home, tables: list[str]) -> str:
    """Row count and the sum of a 64-bit hash of every row, per table: changes when any
    row changes (a content fingerprint, as ``terraplan watch`` keeps on DuckDB)."""
    from pyspark.sql import functions as F

    parts = []
    for table in tables:
        df = spark.table(home.name(table))
        row = df.agg(F.count(F.lit(1)).alias("n"),
                     F.sum(F.xxhash64(*[F.col(f"`{c}`") for c in df.columns])
                           .cast("decimal(38,0)")).alias("h")).collect()[0]
        parts.append(f"{table}={row['n']}:{row['h']}")
    return ";".join(parts)


def sources_changed(spark: Any, home: Home, workflow: str, sources: list[str]) -> bool:
    """Whether an ``on_change`` source changed since the last succeeded run."""
    log = read_log(spark, home)
    done = log[(log["workflow"] == workflow) & (log["step"] == RUN_STEP)
               & (log["status"] == "succeeded")].sort_values("started_at")
    if done.empty:
        return True
    return done["fingerprint"].iloc[-1] != fingerprint(spark, home, sources)


def _rebalance(spark: Any, home: Home, task: Mapping[str, Any], main: pd.DataFrame,
               params: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any], dict]:
    cfg = task.get("rebalance") or {}
    alignment = cfg.get("alignment")
    if not alignment or not _exists(spark, home.name(alignment)):
        return main, params, {}
    current = spark.table(home.name(alignment)).toPandas()
    if not {"id", "territory"} <= set(current.columns):
        raise InputError(f"rebalance.alignment table '{alignment}' needs columns id, territory; "
                         f"it has {', '.join(map(str, current.columns))}", column=alignment)
    lookup = dict(zip(current["id"].astype(str), current["territory"].astype(str),
                      strict=True))
    main = main.copy()
    main[CURRENT_COLUMN] = [lookup.get(str(v), NEW_UNIT) for v in main[params.get("id") or "id"]]
    params = {"disruption_weight": REBALANCE_DISRUPTION, **params, "current": CURRENT_COLUMN,
              **{k: cfg[k] for k in ("disruption_weight", "max_moved") if k in cfg}}
    return main, params, {"alignment": alignment,
                          "new_units": int((main[CURRENT_COLUMN] == NEW_UNIT).sum())}


def _moves(result: Any, info: dict) -> None:
    assign = result.tables.get("assignments")
    if not info or assign is None or "moved" not in assign:
        return
    moved = assign[assign["moved"].astype(bool)]
    new = moved["previous_territory"].astype(str) == NEW_UNIT
    result.report["rebalance"] = {**info, "moved_units": len(moved),
                                  "why": {"new_unit": int(new.sum()),
                                          "rebalance": int((~new).sum())}}
    assign["previous_territory"] = assign["previous_territory"].replace(NEW_UNIT, None)


def run_step(spark: Any, home: Home, task: Mapping[str, Any], run_id: str,
             trigger: str = "manual") -> dict[str, Any]:
    """One step task: inputs read, component run, outputs staged, step row logged
    (:func:`udfs.execute.execute_component`, as in every warehouse). The task's
    ``inputs`` map each component input to ``{"table": name, "staged": bool}`` (staged:
    an earlier step's output of this run). Returns the step's report."""
    tables = {name: stage_name(where["table"], run_id) if where.get("staged")
              else where["table"] for name, where in task["inputs"].items()}
    record = RunRecord(run_id=str(run_id), workflow=task["workflow"], step=task["step"],
                       component=task["uses"], status="running", started_at=_now(),
                       params=json.dumps(task["params"]), trigger=trigger,
                       inputs={k: v["table"] for k, v in task["inputs"].items()})
    info: dict[str, Any] = {}

    def prepare(frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> dict[str, Any]:
        first = registry.get(task["uses"]).spec.inputs[0].name
        frames[first], params, found = _rebalance(spark, home, task, frames[first], params)
        info.update(found)
        return params

    def stage(result: Any) -> None:
        staged = {}
        for output, table in task["outputs"].items():
            frame = result.tables[output]
            target = stage_name(table, run_id)
            spark_frame = (spark.createDataFrame(frame) if len(frame.columns) and len(frame)
                           else _empty(spark, frame))
            (spark_frame.write.format(home.fmt).mode("overwrite")
             .option("overwriteSchema", "true").saveAsTable(home.name(target)))
            staged[output] = target
        record.outputs = staged

    def log(rec: RunRecord) -> None:
        row = dict(zip(RUN_LOG_NAMES, rec.values(), strict=True))
        rows = [row] if rec.status == "succeeded" else [
            row, {**row, "step": RUN_STEP, "component": "terraplan_workflow"}]
        log_rows(spark, home, rows)

    hooks = Hooks(read=lambda n: spark.table(home.name(tables[n])).toPandas(), stage=stage,
                  record=log, prepare=prepare, finish=lambda result: _moves(result, info),
                  now=_now)
    result, _ = execute_component(task["uses"], list(tables), dict(task["params"]), record,
                                  hooks)
    return dict(jsonable(result.report))


def _empty(spark: Any, frame: pd.DataFrame) -> Any:
    """A zero-row Spark frame with ``frame``'s columns (Spark cannot infer their types)."""
    from components.spec import column_type  # the spec's output column types
    from udfs.spark.adapter import ADAPTER

    cols = [str(c) for c in frame.columns] or ["id"]
    schema = ", ".join(f"`{c}` {ADAPTER.native_type(column_type(c))}" for c in cols)
    return spark.createDataFrame([], schema=schema)


def append_widening(spark: Any, home: Home, frame: Any, table: str) -> None:
    """Append ``frame`` to ``table``; columns the table lacks are added first (``ALTER
    TABLE ... ADD COLUMNS``, on Delta and parquet alike) and columns ``frame`` lacks are
    NULL, so a history keeps every version when an output changes shape."""
    from pyspark.sql import functions as F

    name = home.name(table)
    if not _exists(spark, name):
        frame.write.format(home.fmt).saveAsTable(name)
        return
    have = {f.name: f.dataType for f in spark.table(name).schema.fields}
    new = [f for f in frame.schema.fields if f.name not in have]
    if new:
        cols = ", ".join(f"{exp.to_identifier(f.name, quoted=True).sql('databricks')} "
                         f"{f.dataType.simpleString()}" for f in new)
        spark.sql(f"ALTER TABLE {name} ADD COLUMNS ({cols})")
    present = set(frame.columns)
    frame = frame.select(*[F.col(f"`{c}`") if c in present else F.lit(None).cast(t).alias(c)
                           for c, t in have.items()], *[F.col(f"`{f.name}`") for f in new])
    frame.write.format(home.fmt).mode("append").saveAsTable(name)


def drop_leftover_stages(spark: Any, home: Home, outputs: list[str]) -> list[str]:
    """Drop the stage tables earlier failed runs left for these outputs (the job runs one
    run at a time: ``max_concurrent_runs`` is 1, so no live run owns them)."""
    dropped = []
    for table in outputs:
        *where, base = str(table).split(".")
        if not where:
            where = [p for p in (home.catalog, home.schema) if p]
        elif len(where) == 1 and home.catalog:
            where = [home.catalog, *where]
        database = ".".join(exp.to_identifier(p, quoted=True).sql("databricks")
                            for p in where) or None
        prefix = f"{base}__stage__".lower()
        for found in spark.catalog.listTables(database):
            if found.name.lower().startswith(prefix) and not found.isTemporary:
                name = home.name(".".join([*where, found.name]))
                spark.sql(f"DROP TABLE IF EXISTS {name}")
                dropped.append(found.name)
    return dropped


def publish(spark: Any, home: Home, workflow: str, outputs: list[str], run_id: str,
            trigger: str = "manual", on_change: list[str] | None = None,
            started_at: datetime | None = None) -> None:
    """Replace every output from this run's stage table, append it to its history, drop
    the stage tables, then log the run ``succeeded`` (with the sources' fingerprint when
    the schedule watches them). Rerunning it for the same run (a repaired job run)
    publishes the same rows again."""
    from pyspark.sql import functions as F

    missing = [t for t in outputs if not _exists(spark, home.name(stage_name(t, run_id)))]
    if missing:
        raise InputError(f"run {run_id}: no staged output for {', '.join(missing)}; a step "
                         "did not finish, so nothing is published", column="run_id")
    for table in outputs:
        staged = spark.table(home.name(stage_name(table, run_id))).withColumn(
            RUN_ID_COLUMN, F.lit(str(run_id)))
        staged = staged.select(RUN_ID_COLUMN, *[c for c in staged.columns
                                                if c != RUN_ID_COLUMN])
        (staged.write.format(home.fmt).mode("overwrite").option("overwriteSchema", "true")
         .saveAsTable(home.name(table)))
        append_widening(spark, home, spark.table(home.name(table)), f"{table}__history")
    for table in outputs:
        spark.sql(f"DROP TABLE IF EXISTS {home.name(stage_name(table, run_id))}")
    drop_leftover_stages(spark, home, outputs)
    if started_at is None:  # the run started with its first step
        log = read_log(spark, home)
        steps = log.loc[log[RUN_ID_COLUMN] == str(run_id), "started_at"]
        started_at = steps.min() if len(steps) else None
    log_rows(spark, home, [{
        RUN_ID_COLUMN: str(run_id), "workflow": workflow, "step": RUN_STEP,
        "component": "terraplan_workflow", "status": "succeeded",
        "started_at": pd.Timestamp(started_at).to_pydatetime() if started_at is not None
        else _now(), "finished_at": _now(), "trigger": trigger,
        "outputs": json.dumps(outputs),
        "fingerprint": fingerprint(spark, home, on_change) if on_change else None}])

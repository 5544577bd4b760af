"""What every warehouse adapter provides, and the run log they all keep.

One :class:`WarehouseAdapter` per warehouse, in the sqlglot manner: a ``name``, a sqlglot
``dialect``, a logical-to-native ``type_map``, identifier ``names`` rules, a
``capabilities`` table, and the few methods where warehouses really differ
(``compile_step``, ``schedule``). Adapters are discovered like components: every
``udfs/<name>/adapter.py`` (and ``udfs/<name>_adapter.py`` for module adapters such as
DuckDB's) that exports ``ADAPTER`` is one; :func:`adapters` lists them, :func:`adapter`
returns one by name. ``workflows/`` asks this registry and knows no warehouse by name.

The compiled-script helpers every adapter shares (:class:`Statement`,
:class:`Location`, :func:`render`, :func:`params_of`, ...) live here too, so an adapter
never imports ``workflows`` (the dependency runs ``workflows -> udfs -> components``).
"""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.util
import json
import math
import pkgutil
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import pandas as pd
from sqlglot import exp

from components import registry
from components.errors import InputError
from components.result import jsonable
from components.spec import COLUMN_TYPES as OUTPUT_COLUMN_TYPES  # noqa: F401 (re-export)
from components.spec import column_type
from udfs.options import CliOption

RUN_LOG_TABLE = "terraplan_runs"
RUN_ID_COLUMN = "run_id"

# The run log, once, in logical types; each adapter renders it with its type_map
# (:meth:`WarehouseAdapter.run_log_columns`). "json" columns hold JSON documents: VARIANT
# where the warehouse has a document type the log uses (Snowflake), JSON text elsewhere
# (a row written by SQL and one written by Python then read the same). New columns go at
# the end: older logs grow them (ADD COLUMN IF NOT EXISTS) and stay readable.
RUN_LOG_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "string"), ("workflow", "string"), ("step", "string"), ("component", "string"),
    ("status", "string"), ("started_at", "timestamp"), ("finished_at", "timestamp"),
    ("params", "json"), ("report", "json"), ("error", "string"), ("outputs", "json"),
    ("trigger", "string"), ("fingerprint", "string"), ("inputs", "json"),
)
RUN_LOG_NAMES: tuple[str, ...] = tuple(c for c, _ in RUN_LOG_COLUMNS)
LOGICAL_TYPES = ("string", "double", "bigint", "boolean", "timestamp", "json")

def run_log_columns(type_map: Mapping[str, str], *, json_documents: bool = False
                    ) -> list[tuple[str, str]]:
    """:data:`RUN_LOG_COLUMNS` in a warehouse's types; "json" columns as text unless the
    warehouse keeps documents in its JSON type (``json_documents``)."""
    return [(c, type_map["string" if t == "json" and not json_documents else t])
            for c, t in RUN_LOG_COLUMNS]


def new_run_id() -> str:
    """Sortable, unique: UTC timestamp plus random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + uuid.uuid4().hex[:8]


# Output columns a component writes only when a parameter is set (column -> parameter).
CONDITIONAL_COLUMNS: dict[str, str] = {"previous_territory": "current", "moved": "current"}


def output_columns(component: str, output: str, params: Mapping[str, Any]
                   ) -> list[tuple[str, str]]:
    """``(column, logical type)`` of one output table of ``component``, from its spec:
    ``<metric>``/``<metrics>`` columns are expanded with the call's ``metrics``,
    ``<coords>`` is ``x, y`` or ``lon, lat`` as the call names them, and conditional
    columns (CONDITIONAL_COLUMNS) appear only when their parameter is set."""
    spec = registry.get(component).spec
    table = next((t for t in spec.outputs if t.name == output), None)
    if table is None:
        raise InputError(f"component '{component}' has no output '{output}' (outputs: "
                         f"{', '.join(t.name for t in spec.outputs)})", column="output")
    metrics = params.get("metrics") or params.get("metric") or []  # polygons: `metric`
    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",") if m.strip()]
    out: list[tuple[str, str]] = []
    for column in table.columns:
        if column == "<coords>":
            lonlat = params.get("lon") is not None and params.get("x") is None
            out += [(c, "double") for c in (("lon", "lat") if lonlat else ("x", "y"))]
        elif column == "<metrics>":
            out += [(str(m), "double") for m in metrics]
        elif "<metric>" in column:
            out += [(column.replace("<metric>", str(m)), "double") for m in metrics]
        elif "<" not in column:
            needs = CONDITIONAL_COLUMNS.get(column)
            if needs is None or params.get(needs) is not None:
                out.append((column, column_type(column)))
    return out


@dataclass(frozen=True)
class Capabilities:
    """What a warehouse can do natively; the rest is done by the adapter or refused.

    Read by the compiler and the tests: ``compiles`` (``terraplan compile`` has a form
    for it), ``schedules`` (``terraplan schedule``), ``partitioned`` (many independent
    problems in one query), ``max_packed_bytes`` (largest packed table argument)."""

    transactional_ddl: bool = False   # can swap tables inside one transaction
    python_udfs: bool = False         # solver callable from SQL in-process
    swap_tables: bool = False         # ALTER TABLE ... SWAP WITH
    compiles: bool = True
    schedules: bool = True
    partitioned: bool = False
    max_packed_bytes: int | None = None
    extra: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class NameRules:
    """How a warehouse treats identifiers: case folding of unquoted names, length limit."""

    max_length: int
    folds: str = "none"   # "upper" | "lower" | "none": what an unquoted name becomes
    case_sensitive_quoted: bool = True

    def check(self, name: str, what: str = "table") -> str:
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"{what} name must be a non-empty string; got {name!r}",
                             column=what)
        for part in name.split("."):
            if len(part.encode()) > self.max_length:
                raise InputError(f"{what} name part {part!r} is {len(part.encode())} bytes, "
                                 f"over this warehouse's {self.max_length}; shorten it",
                                 column=what)
        return name


@dataclass(frozen=True)
class Statement:
    """One statement of a script: its SQL, and its sqlglot tree when sqlglot has one."""

    sql: str
    tree: exp.Expression | None = None  # None: sqlglot cannot represent it
    comment: str = ""                   # printed above the statement


@dataclass(frozen=True)
class Location:
    """Where the deployed objects and the data live (each warehouse uses its own fields)."""

    database: str | None = None       # snowflake / redshift: database of the procedures
    schema: str | None = None         # snowflake / redshift / databricks: their schema
    data_database: str | None = None  # snowflake: qualifies unqualified table names
    data_schema: str | None = None    # snowflake / redshift / databricks: of bare names
    project: str | None = None        # bigquery: project of the procedures and run log
    dataset: str | None = None        # bigquery: their dataset (terraplan)
    data_dataset: str | None = None   # bigquery: dataset of unqualified tables (= dataset)
    catalog: str | None = None        # databricks: Unity Catalog catalog


class WarehouseAdapter(ABC):
    """One warehouse: its SQL dialect, types and names, and what terraplan generates for it.

    Subclasses set the class attributes and implement :meth:`compile_step`;
    :meth:`schedule` and :meth:`script_header` have defaults."""

    name: ClassVar[str]
    dialect: ClassVar[str]
    type_map: ClassVar[Mapping[str, str]]
    names: ClassVar[NameRules]
    capabilities: ClassVar[Capabilities] = Capabilities()
    json_run_log: ClassVar[bool] = False  # the run log's "json" columns in the json type
    cli_module: ClassVar[str | None] = None  # module with register(sub, groups), if any
    cli_options: ClassVar[tuple[CliOption, ...]] = ()  # its compile/schedule/run options

    runs_statements: ClassVar[bool] = False  # it has an :meth:`executor` (run --warehouse)

    def executor(self, loc: Location, **options: Any) -> Callable[[str], Any]:
        """A function that runs one statement in this warehouse (``run --warehouse``)."""
        raise InputError(f"terraplan does not run statements in {self.name} itself; use "
                         "'terraplan compile' or 'terraplan schedule'", column="--warehouse")

    def native_type(self, logical: str) -> str:
        if logical not in self.type_map:
            raise InputError(f"{self.name} has no type for logical type '{logical}'")
        return self.type_map[logical]

    def run_log_columns(self) -> list[tuple[str, str]]:
        """The run log's columns (:data:`RUN_LOG_COLUMNS`) in this warehouse's types."""
        return run_log_columns(self.type_map, json_documents=self.json_run_log)

    def prelude(self, wf: Any, loc: Location) -> list[Statement]:
        """Statements before the first step (run id, run log...)."""
        return []

    @abstractmethod
    def compile_step(self, wf: Any, step: Any, index: int, loc: Location) -> list[Statement]:
        """The statements that run one workflow step in this warehouse."""

    def postlude(self, wf: Any, loc: Location) -> list[Statement]:
        return []

    def script_header(self, wf: Any) -> list[str]:
        return [f"needs 'terraplan deploy {self.name}' (one procedure per component)"]

    def compile(self, wf: Any, loc: Location) -> list[Statement]:
        if not self.capabilities.compiles:
            raise InputError(f"terraplan compile has no form for {self.name}",
                             column="--warehouse")
        out = self.prelude(wf, loc)
        for i, step in enumerate(wf.steps, 1):
            out += self.compile_step(wf, step, i, loc)
        return out + self.postlude(wf, loc)

    def render_script(self, wf: Any, loc: Location) -> str | None:
        """The whole ``terraplan compile`` text when it is not one SQL script (e.g. a job
        definition); None: the compiler renders :meth:`compile`'s statements."""
        return None

    def schedule(self, wf: Any, sched: Any, loc: Location, *, dry_run: bool = True,
                 **options: Any) -> str | None:
        """``terraplan schedule`` text for this warehouse; None: the scheduler's own form."""
        return None


@functools.lru_cache(maxsize=1)
def adapters() -> dict[str, WarehouseAdapter]:
    """Name -> adapter, discovered from ``udfs/<name>/adapter.py`` and ``udfs/*_adapter.py``;
    DuckDB (the default) first, then by name."""
    import udfs as package

    found: dict[str, WarehouseAdapter] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.ispkg:
            module_name = f"udfs.{info.name}.adapter"
            if importlib.util.find_spec(module_name) is None:
                continue
        elif info.name.endswith("_adapter"):
            module_name = f"udfs.{info.name}"
        else:
            continue
        candidate = getattr(importlib.import_module(module_name), "ADAPTER", None)
        if isinstance(candidate, WarehouseAdapter):
            found[candidate.name] = candidate
    return dict(sorted(found.items(), key=lambda kv: (kv[0] != "duckdb", kv[0])))


def warehouse_names(*, capability: str | None = None) -> tuple[str, ...]:
    return tuple(n for n, a in adapters().items()
                 if capability is None or getattr(a.capabilities, capability))


def adapter(name: str) -> WarehouseAdapter:
    known = adapters()
    if name not in known:
        close = difflib.get_close_matches(str(name), list(known), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise InputError(f"--warehouse must be one of {', '.join(known)}; got {name!r}{hint}",
                         column="warehouse")
    return known[name]


# -- shared script helpers ---------------------------------------------------------------------

def comment_text(value: str) -> str:
    """A user string safe inside a ``--`` comment: JSON-quoted, so no line break survives."""
    return json.dumps(value, ensure_ascii=True)


def table_text(wf: Any, name: str) -> str:
    """The warehouse table a step input/output names: a source's table, else the name."""
    return wf.source_table(name) if name in wf.sources else name


def params_of(step: Any) -> dict[str, Any]:
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


def spec_args(step: Any) -> tuple[Any, list[str | None], list[str | None]]:
    """The component's spec, and the step's table per input and output (None: not wired)."""
    spec = registry.get(step.uses).spec
    ins = [step.inputs.get(t.name) for t in spec.inputs]
    outs = [step.outputs.get(t.name) for t in spec.outputs]
    return spec, ins, outs


def call_text(name: exp.Table, args: Sequence[str], dialect: str) -> str:
    """``CALL name(args)``: sqlglot keeps CALL as an opaque command, so the procedure name
    is a rendered sqlglot table of quoted identifiers and each argument a rendered
    sqlglot literal."""
    return f"CALL {name.sql(dialect=dialect)}({', '.join(args)})"


def render(statements: Sequence[Statement], header: Sequence[str]) -> str:
    """The script: header comment lines, then each statement (with its comment) and ';'."""
    lines = [f"-- {h}" if h else "--" for h in header]
    body = []
    for s in statements:
        text = f"-- {s.comment}\n" if s.comment else ""
        body.append(f"{text}{s.sql};")
    return "\n".join(lines) + "\n\n" + "\n".join(body) + "\n"


# -- the table-level warehouse interface (DuckDB implements it) --------------------------------

@dataclass
class RunRecord:
    """One row of the run log, the same in every warehouse (:data:`RUN_LOG_COLUMNS`).

    ``params``, ``report``, ``outputs`` and ``inputs`` are JSON documents: JSON text, or a
    JSON-able value :meth:`document` turns into text. ``finished_at`` is None while a run
    is still running."""

    run_id: str
    component: str
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    workflow: str | None = None
    step: str | None = None
    params: Any = None
    report: Any = None
    error: str | None = None
    outputs: Any = None
    trigger: str | None = "manual"
    fingerprint: str | None = None
    inputs: Any = None

    def document(self, column: str) -> str | None:
        """A JSON column as JSON text (None stays None; text is taken as JSON already)."""
        value = getattr(self, column)
        if value is None or isinstance(value, str):
            return value
        return json.dumps(jsonable(value))

    def values(self, columns: Sequence[str] = RUN_LOG_NAMES) -> list[Any]:
        """The row in ``columns`` order (case-insensitive names), JSON columns as text."""
        kinds = dict(RUN_LOG_COLUMNS)
        out = []
        for column in columns:
            name = column.lower()
            out.append(self.document(name) if kinds[name] == "json" else getattr(self, name))
        return out


class Warehouse(ABC):
    """A warehouse terraplan reads from and writes to."""

    name: str
    dialect: str
    capabilities: Capabilities

    @abstractmethod
    def execute(self, sql: str) -> pd.DataFrame:
        """Run SQL in this warehouse's dialect; the result as a DataFrame."""

    @abstractmethod
    def read_table(self, name: str) -> pd.DataFrame:
        """A whole table (name is a user identifier, quoted by the adapter)."""

    @abstractmethod
    def write_tables(self, tables: Mapping[str, pd.DataFrame], run_id: str) -> None:
        """Write every table, stamped with ``run_id``, all or nothing."""

    @abstractmethod
    def record_run(self, record: RunRecord) -> None:
        """Append one row to the run log (also for failed runs)."""

    @abstractmethod
    def table_exists(self, name: str) -> bool: ...

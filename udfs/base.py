"""What every warehouse adapter provides, and the run log they all keep."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd

RUN_LOG_TABLE = "terraplan_runs"
RUN_ID_COLUMN = "run_id"


def new_run_id() -> str:
    """Sortable, unique: UTC timestamp plus random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class Capabilities:
    """What a warehouse can do natively; the rest is done by the adapter or refused."""

    transactional_ddl: bool = False   # can swap tables inside one transaction
    python_udfs: bool = False         # solver callable from SQL in-process
    swap_tables: bool = False         # ALTER TABLE ... SWAP WITH
    extra: dict[str, bool] = field(default_factory=dict)


@dataclass
class RunRecord:
    run_id: str
    workflow: str
    step: str
    component: str
    status: str
    started_at: datetime
    finished_at: datetime
    params: str
    report: str
    error: str
    outputs: str
    trigger: str = "manual"
    fingerprint: str = ""


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

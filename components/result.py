"""What every component returns: named result tables and a JSON-able report."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd


class Status(StrEnum):
    """The one vocabulary of a solve's ``status`` (balancing and location allocation).

    ``infeasible`` is not a status: a request proven to have no answer raises
    :class:`~components.errors.InfeasibleError` (exit 3) with the numbers of the proof.
    Everything else returns an answer with one of these.
    """

    OPTIMAL = "optimal"                          # proven: the gap is closed (within --gap)
    FEASIBLE = "feasible"                        # meets every constraint; the gap is reported
    TOLERANCE_NOT_MET = "tolerance_not_met"      # balancing: the best alignment misses a bound
    CONSTRAINT_VIOLATED = "constraint_violated"  # balancing: e.g. a locked unit or distance
    NO_FEASIBLE_FOUND = "no_feasible_found"      # location: least violation, not a proof


def solve_status(value: str) -> str:
    """``value`` checked against :class:`Status` (a solver must not invent a status)."""
    try:
        return Status(value).value
    except ValueError:
        raise ValueError(f"solver status {value!r} is not one of "
                         f"{', '.join(s.value for s in Status)}") from None


@dataclass
class ComponentResult:
    """Result tables by output name (as in the component's spec) and a report."""

    tables: dict[str, pd.DataFrame]
    report: dict[str, Any] = field(default_factory=dict)

    def report_json(self) -> str:
        return json.dumps(jsonable(self.report), indent=2, sort_keys=False)


def jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars unwrapped, NaN/inf as None, tuples as lists."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        return [jsonable(v) for v in list(value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value

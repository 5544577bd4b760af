"""What every component returns: named result tables and a JSON-able report."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


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

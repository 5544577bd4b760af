"""A scenario: one plan the planner keeps (published, edited on the page or optimised)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class Scenario:
    id: str
    name: str
    source: str  # "published", "edited" or "optimised"
    assignment: np.ndarray  # territory name per unit
    centers: dict[str, str]  # territory -> center unit id
    stats: dict[str, Any]
    report: dict[str, Any] = field(default_factory=dict)
    territories: pd.DataFrame | None = None  # the solver's territory table, if it made one
    published_run: str | None = None

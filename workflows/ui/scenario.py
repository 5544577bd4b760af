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

    def comparison_row(self) -> dict[str, Any]:
        """This scenario's row in the page's side-by-side comparison."""
        s = self.stats
        row = {"scenario": self.id, "name": self.name, "territories": s["territories"],
               "compactness": s["compactness"], "moved_units": s["moved_units"],
               "noncontiguous": len(s["noncontiguous"])}
        for k, v in s["balance"].items():
            row[f"{k} range"] = f"{v['min_ratio']:.3f}-{v['max_ratio']:.3f}"
            row[f"{k} s.d."] = round(v["std"], 4)
            row[f"{k} out of band"] = v["out_of_band"]
        return row

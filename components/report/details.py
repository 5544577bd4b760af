"""What the map says about a unit on hover: its name, id, every figure it carries, its
territory (and the one it came from), its distance to the center and its territory's
totals against the target."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from components.errors import InputError
from components.report.page import UNASSIGNED_LABEL, _format_value, _is_null

NAME_COLUMNS = ("name", "label", "title")
NOT_DETAILS = {"id", "territory", "wkt", "moved", "previous_territory"}


def _moved(units: pd.DataFrame) -> np.ndarray | None:
    """The ``moved`` column as booleans (NULL: not moved), or None without one."""
    if "moved" not in units.columns:
        return None
    col = units["moved"]
    if col.dtype == bool:
        return col.to_numpy()
    text = col.astype(str).str.strip().str.lower()
    known = text.isin(["true", "false", "1", "0", "nan", "none", "<na>", ""])
    if not known.all():
        bad = col[~known].iloc[0]
        raise InputError(f"column 'moved' must be true/false; unit {units['id'][~known].iloc[0]!r}"
                         f" has {bad!r}", column="moved")
    return text.isin(["true", "1"]).to_numpy()


def _unit_titles(units: pd.DataFrame, unit_ids: Sequence[str | None],
                 unit_keys: Sequence[str | None], coords: tuple[str, str],
                 territories: pd.DataFrame | None,
                 balance: Mapping[str, float] | None) -> list[str]:
    """One multi-line text per unit (the SVG <title>: a tooltip, and the details panel)."""
    name = next((c for c in units.columns if str(c).lower() in NAME_COLUMNS), None)
    extra = [c for c in units.columns
             if c not in NOT_DETAILS and c not in coords and c != name]
    previous = units["previous_territory"] if "previous_territory" in units.columns else None
    totals = _territory_lines(territories, balance)
    titles = []
    for r, (uid, key) in enumerate(zip(unit_ids, unit_keys, strict=True)):
        lines = [f"unit {uid}"]
        if name is not None and not _is_null(units[name].iloc[r]):
            lines.append(str(units[name].iloc[r]))
        for c in extra:
            value = units[c].iloc[r]
            if not _is_null(value):
                label = "to center" if c == "distance" else str(c)
                lines.append(f"{label} {_format_value(value)}")
        where = f"territory {key if key is not None else UNASSIGNED_LABEL}"
        if previous is not None and not _is_null(previous.iloc[r]) and \
                str(previous.iloc[r]) != str(key):
            where += f" (was {previous.iloc[r]})"
        lines.append(where)
        lines.extend(totals.get(key, []))
        titles.append("\n".join(lines))
    return titles


def _territory_lines(territories: pd.DataFrame | None,
                     balance: Mapping[str, float] | None) -> dict[str | None, list[str]]:
    """Per territory: each balanced metric's total and its ratio to the target."""
    if territories is None or not balance or "territory" not in territories.columns:
        return {}
    out: dict[str | None, list[str]] = {}
    for _, row in territories.iterrows():
        lines = []
        for metric in balance:
            ratio = row.get(f"{metric}_ratio")
            if metric in row and ratio is not None and not _is_null(ratio):
                lines.append(f"territory {metric} {_format_value(row[metric])} "
                             f"({float(ratio):.3f} of target)")
        out[str(row["territory"])] = lines
    return out

"""Which OSM ways a profile travels, at what speed, in which direction.

The default speeds (km/h) are the assumption when a way has no usable ``maxspeed``
tag; ``speeds={"residential": 30}`` overrides any class. The tables are data so the
README, the spec help and the tests read the same numbers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from components.errors import ParameterError

PROFILES = ("drive", "walk")

# km/h by highway class when maxspeed is missing or unreadable (drive profile)
DRIVE_SPEEDS: dict[str, float] = {
    "motorway": 100.0, "motorway_link": 60.0,
    "trunk": 85.0, "trunk_link": 50.0,
    "primary": 65.0, "primary_link": 45.0,
    "secondary": 55.0, "secondary_link": 40.0,
    "tertiary": 45.0, "tertiary_link": 35.0,
    "unclassified": 35.0, "road": 30.0,
    "residential": 25.0, "living_street": 10.0, "service": 15.0,
}

# km/h for walking; a class missing here is not walked
WALK_SPEEDS: dict[str, float] = {
    **{name: 5.0 for name in (
        "trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link",
        "tertiary", "tertiary_link", "unclassified", "road", "residential", "living_street",
        "service", "pedestrian", "footway", "path", "track", "cycleway", "bridleway",
        "trail", "corridor", "crossing", "platform")},
    "steps": 2.5,
}

DEFAULT_SPEEDS = {"drive": DRIVE_SPEEDS, "walk": WALK_SPEEDS}

# maxspeed values that name a zone rather than a number (``DE:urban``, ``walk``...)
_ZONE_SPEEDS = {"urban": 50.0, "rural": 90.0, "motorway": 110.0, "trunk": 100.0,
                "living_street": 10.0, "walk": 6.0, "zone30": 30.0, "zone:30": 30.0}
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph|knots)?\s*$")
_KMH_PER = {None: 1.0, "km/h": 1.0, "kmh": 1.0, "kph": 1.0, "mph": 1.609344,
            "knots": 1.852}

_NO = {"no", "private"}
_ALLOWED = {"yes", "designated", "destination", "permissive", "permit", "customers",
            "delivery", "agricultural"}


def speed_table(profile: str, overrides: Mapping[str, Any] | None) -> dict[str, float]:
    """The profile's class -> km/h table with the user's overrides applied (checked)."""
    table = dict(DEFAULT_SPEEDS[profile])
    if overrides is None:
        return table
    if not isinstance(overrides, Mapping):
        raise ParameterError(
            f"parameter 'speeds' must map highway classes to km/h, e.g. "
            f'{{"residential": 30, "service": 10}}; got {overrides!r}', column="speeds")
    for name, value in overrides.items():
        try:
            kmh = float(value)
        except (TypeError, ValueError):
            kmh = float("nan")
        if not np.isfinite(kmh) or kmh < 0:
            raise ParameterError(
                f"parameter 'speeds': class {name!r} needs a speed in km/h >= 0 (0 drops "
                f"the class); got {value!r}", column="speeds")
        if kmh == 0:
            table.pop(str(name), None)
        else:
            table[str(name)] = kmh
    return table


def parse_maxspeed(values: pd.Series) -> np.ndarray:
    """km/h of OSM ``maxspeed`` values; NaN where there is no usable number.

    Reads ``50``, ``50 km/h``, ``30 mph``, ``10 knots``, zone values such as
    ``DE:urban`` or ``RU:rural``, ``walk``; for ``50;30`` (lanes or times) the first
    value. ``none`` and anything else unreadable fall back to the class speed.
    """
    unique = pd.unique(values.dropna().astype(str))
    parsed = {text: _one_maxspeed(text) for text in unique}
    return values.map(parsed).to_numpy(dtype=np.float64, na_value=np.nan)


def _one_maxspeed(text: str) -> float:
    first = text.split(";")[0].strip().lower()
    match = _NUMBER.match(first)
    if match:
        kmh = float(match.group(1)) * _KMH_PER[match.group(2)]
        return kmh if kmh > 0 else np.nan
    zone = first.split(":", 1)[-1] if ":" in first and not first.startswith("zone") else first
    return _ZONE_SPEEDS.get(zone, np.nan)


def travelled(ways: pd.DataFrame, profile: str, table: Mapping[str, float]) -> np.ndarray:
    """Mask of the ways (one row each, with tag columns) the profile can travel."""
    highway = ways["highway"].astype(object)
    ok = highway.isin(list(table)).to_numpy()
    ok &= ways["area"].astype(object).fillna("no").ne("yes").to_numpy()
    access = ways["access"].astype(object).fillna("")
    mode_tags = ("motor_vehicle", "motorcar") if profile == "drive" else ("foot",)
    mode = pd.Series("", index=ways.index, dtype=object)
    for tag in mode_tags:  # the more specific tag wins: motorcar over motor_vehicle
        value = ways[tag].astype(object)
        mode = mode.where(value.isna(), value)
    mode = mode.fillna("")
    ok &= ~mode.isin(_NO).to_numpy()
    ok &= ~(access.isin(_NO) & ~mode.isin(_ALLOWED)).to_numpy()
    if profile == "drive":
        ok &= ~ways["oneway"].astype(object).isin(["reversible", "alternating"]).to_numpy()
    return ok


def direction(ways: pd.DataFrame, profile: str) -> np.ndarray:
    """+1 only along the way's node order, -1 only against it, 0 both ways."""
    out = np.zeros(len(ways), dtype=np.int8)
    if profile == "walk":
        return out
    oneway = ways["oneway"].astype(object).fillna("").str.lower()
    junction = ways["junction"].astype(object).fillna("")
    implied = (junction.isin(["roundabout", "circular"])
               | ways["highway"].astype(object).eq("motorway")) & ~oneway.isin(
                   ["no", "false", "0"])
    out[(oneway.isin(["yes", "true", "1"]) | implied).to_numpy()] = 1
    out[oneway.isin(["-1", "reverse"]).to_numpy()] = -1
    return out


def way_speeds(ways: pd.DataFrame, profile: str, table: Mapping[str, float]) -> np.ndarray:
    """km/h per way: maxspeed (drive) capped by nothing, else the class speed."""
    base = ways["highway"].astype(object).map(dict(table)).to_numpy(dtype=np.float64)
    if profile != "drive":
        return base
    posted = parse_maxspeed(ways["maxspeed"])
    return np.where(np.isfinite(posted), posted, base)

"""Component specs: each component is described once, here, by data.

A :class:`ComponentSpec` lists a component's input tables, parameters (type,
bounds, choices, default, help) and output tables. The CLI options, the
workflow schema, the warehouse procedure signatures and the README tables are
all generated from it, so they cannot drift apart.

Parameter values arrive from Python, the command line, YAML or a warehouse
(where everything may be a string): :meth:`Param.coerce` converts and checks
them once, with messages that name the parameter, the allowed values and what
was given.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.errors import ParameterError

REQUIRED: Any = object()  # sentinel: a parameter without a default
TYPES = ("int", "float", "str", "bool", "list[str]", "json")
_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


@dataclass(frozen=True)
class Param:
    """One parameter of a component."""

    name: str
    type: str
    help: str
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple[str, ...] | None = None
    cli: str | None = None  # flag without dashes; None means derive from name
    metavar: str | None = None

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"param {self.name}: type must be one of {TYPES}")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def flag(self) -> str:
        return "--" + (self.cli or self.name.replace("_", "-"))

    def describe_range(self) -> str:
        if self.choices:
            return "one of " + ", ".join(self.choices)
        lo = "-inf" if self.minimum is None else f"{self.minimum:g}"
        hi = "inf" if self.maximum is None else f"{self.maximum:g}"
        left = "(" if self.exclusive_minimum or self.minimum is None else "["
        right = ")" if self.maximum is None else "]"
        article = "an" if self.type == "int" else "a"
        return f"{article} {self.type} in {left}{lo}, {hi}{right}"

    def coerce(self, value: Any) -> Any:
        """Convert ``value`` to this parameter's type and check its range."""
        if value is None:
            if self.required:
                raise ParameterError(f"parameter '{self.name}' is required ({self.help})",
                                     column=self.name)
            return None
        try:
            out = _convert(self.type, value)
        except (TypeError, ValueError):
            raise ParameterError(
                f"parameter '{self.name}' must be {self.describe_range()}; got {value!r}",
                column=self.name,
            ) from None
        if self.choices is not None:
            values = out if isinstance(out, list) else [out]
            for v in values:
                if v not in self.choices:
                    close = difflib.get_close_matches(str(v), self.choices, n=1)
                    hint = f" (did you mean '{close[0]}'?)" if close else ""
                    raise ParameterError(
                        f"parameter '{self.name}' must be {self.describe_range()}; "
                        f"got {v!r}{hint}", column=self.name,
                    )
        if isinstance(out, (int, float)) and not isinstance(out, bool):
            too_low = self.minimum is not None and (
                out <= self.minimum if self.exclusive_minimum else out < self.minimum)
            too_high = self.maximum is not None and out > self.maximum
            if too_low or too_high or (isinstance(out, float) and math.isnan(out)):
                raise ParameterError(
                    f"parameter '{self.name}' must be {self.describe_range()}; got {value!r}",
                    column=self.name,
                )
        return out

    def json_schema(self) -> dict[str, Any]:
        base: dict[str, Any] = {"description": self.help}
        if self.type == "int":
            base["type"] = "integer"
        elif self.type == "float":
            base["type"] = "number"
        elif self.type == "bool":
            base["type"] = "boolean"
        elif self.type == "str":
            base["type"] = "string"
        elif self.type == "list[str]":
            base.update(type="array", items={"type": "string"})
        if self.choices and self.type == "str":
            base["enum"] = list(self.choices)
        if self.minimum is not None:
            base["exclusiveMinimum" if self.exclusive_minimum else "minimum"] = self.minimum
        if self.maximum is not None:
            base["maximum"] = self.maximum
        if not self.required and self.default is not None:
            base["default"] = self.default
        return base


def _convert(kind: str, value: Any) -> Any:
    if kind == "int":
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError
            return int(value)
        return int(str(value).strip()) if isinstance(value, str) else int(value)
    if kind == "float":
        if isinstance(value, bool):
            raise TypeError
        out = float(value)
        if not math.isfinite(out):
            raise ValueError
        return out
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError
    if kind == "str":
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise TypeError
        return str(value)
    if kind == "list[str]":
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                value = json.loads(text)
            else:
                value = [v.strip() for v in text.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)) or not value:
            raise TypeError
        return [str(v) for v in value]
    if kind == "json":
        return json.loads(value) if isinstance(value, str) else value
    raise TypeError(kind)


# Parameters many components share, defined once; a spec lists them with
# ``*point_params(...)`` so the name, type, help and CLI metavar cannot drift apart.
X = Param("x", "str", "planar x column", metavar="COL")
Y = Param("y", "str", "planar y column", metavar="COL")
LON = Param("lon", "str", "longitude column (degrees)", metavar="COL")
LAT = Param("lat", "str", "latitude column (degrees)", metavar="COL")
COORDINATE_PARAMS: tuple[Param, ...] = (X, Y, LON, LAT)


def id_param(help_text: str = "id column of INPUT") -> Param:
    """The ``id`` column parameter (default ``id``); only its help differs by component."""
    return Param("id", "str", help_text, default="id", metavar="COL")


def point_params(id_help: str | None = "id column of INPUT") -> tuple[Param, ...]:
    """``id`` (unless ``id_help`` is None), then ``x, y, lon, lat``."""
    return ((id_param(id_help),) if id_help is not None else ()) + COORDINATE_PARAMS


# Logical types of the components' output columns, by name, the one place adapters read
# them from (Table.column_types): "id" and "*_id" are strings, "<metric>"-templated
# columns doubles. A test holds every fixed output column of every spec to this table,
# so a new column cannot be forgotten here and typed wrongly by an adapter.
COLUMN_TYPES: dict[str, str] = {
    "territory": "string", "center": "string", "previous_territory": "string",
    "facility": "string", "source": "string", "status": "string", "reason": "string",
    "type": "string", "origin_id": "string", "destination_id": "string",
    "highway": "string", "wkt": "string", "oneway": "boolean",
    "distance": "double", "cost": "double", "length": "double", "length_m": "double",
    "weight": "double",
    "weighted_cost": "double", "compactness": "double", "load": "double",
    "capacity": "double", "utilisation": "double", "x": "double", "y": "double",
    "lon": "double", "lat": "double", "min_load": "double", "max_load": "double",
    "moved": "boolean", "artificial": "boolean", "contiguous": "boolean", "open": "boolean",
    "covered": "boolean", "fixed": "boolean",
    "n_units": "bigint", "n_points": "bigint", "units": "bigint", "n_assigned": "bigint",
    "n_parts": "bigint",
}


def column_type(column: str) -> str:
    """Logical type of an output column named ``column`` (see :data:`COLUMN_TYPES`)."""
    if column == "id" or column.endswith("_id"):
        return "string"
    return COLUMN_TYPES.get(column, "double")


@dataclass(frozen=True)
class Table:
    """An input or output table of a component."""

    name: str
    help: str
    required: bool = True
    columns: tuple[str, ...] = ()

    def column_types(self) -> list[tuple[str, str]]:
        """``(column, logical type)`` of the fixed columns (``<metric>``-like ones vary by
        call: :func:`udfs.base.output_columns` expands them)."""
        return [(c, column_type(c)) for c in self.columns if "<" not in c]


@dataclass(frozen=True)
class ComponentSpec:
    """A component, described once."""

    name: str
    title: str
    summary: str
    inputs: tuple[Table, ...]
    params: tuple[Param, ...]
    outputs: tuple[Table, ...]
    examples: tuple[str, ...] = field(default_factory=tuple)
    command: str | None = None  # CLI subcommand (terraplan COMMAND); None: workflows only
    cli_out: str = "dir"  # "dir": --out DIR gets <output>.csv per table + report.json;
    #                       "file": --out FILE gets the single output (.csv or .parquet)
    #                       and FILE's stem + ".report.json"
    cli_map: bool = False  # the CLI takes --map FILE: the run's static HTML map

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def validate_params(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Coerce and check every parameter; unknown names fail with a suggestion."""
        known = {p.name: p for p in self.params}
        for key in values:
            if key not in known:
                close = difflib.get_close_matches(key, list(known), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ParameterError(
                    f"component '{self.name}' has no parameter '{key}'{hint} "
                    f"(parameters: {', '.join(known)})", column=key,
                )
        out: dict[str, Any] = {}
        for p in self.params:
            raw = values.get(p.name, None if p.required else p.default)
            out[p.name] = p.coerce(raw)
        return out

    def json_schema(self) -> dict[str, Any]:
        """JSON schema of the ``with:`` block of a workflow step using this component."""
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {p.name: p.json_schema() for p in self.params},
            "required": [p.name for p in self.params if p.required],
        }

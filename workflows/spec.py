"""Workflow files: YAML, checked against a JSON schema before anything runs.

A workflow names source files to load, then steps; each step ``uses`` a
component, wires its inputs to tables (sources or earlier steps' outputs) and
sets its parameters under ``with``, checked against the component's spec.
Errors point at the line of the YAML file.

.. code-block:: yaml

    name: demo
    database: out/terraplan.duckdb        # relative to the working directory
    sources:                              # paths relative to the workflow file
      counties: {path: data/scus.csv}
    steps:
      - name: balance
        uses: territory_balancing
        inputs: {scus: counties}
        with: {territories: 10, metrics: [population], lon: lon, lat: lat}
        outputs: {assignments: assignments, territories: territories}
    exports:
      dir: out/demo
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from components import registry
from components.errors import InputError
from udfs.base import warehouse_names

# \Z, not $: '$' also matches before a trailing newline ('out\n' would pass)
NAME = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*\Z"}
# a workflow name becomes part of table and file names: no path parts, no dots
WORKFLOW_NAME = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_-]*\Z"}
ON_INFEASIBLE = {"enum": ["keep_previous", "publish", "fail"],
                 "description": "a step whose answer misses a bound (tolerance_not_met): keep "
                                "the previous outputs current (default), publish it, or fail"}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "steps"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "on_infeasible": ON_INFEASIBLE,
        "database": {"type": "string"},
        "warehouse": {"enum": list(warehouse_names())},
        "sources": {
            "type": "object",
            "propertyNames": NAME,
            "additionalProperties": {
                "type": "object", "additionalProperties": False,
                "oneOf": [{"required": ["path"]}, {"required": ["table"]}],
                "properties": {
                    "path": {"type": "string", "description": "file loaded by the local runner"},
                    "table": {"type": "string", "description": "existing warehouse table "
                              "(db.schema.table / project.dataset.table / table)"},
                    "id_columns": {"type": "array", "items": {"type": "string"}}},
            },
        },
        "schedule": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "cron": {"type": "string", "description": "5-field cron, e.g. '0 6 * * 1'"},
                "timezone": {"type": "string"},
                "on_change": {"type": "array", "items": NAME, "minItems": 1,
                              "description": "sources whose refresh triggers a run"},
            },
        },
        "rebalance": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "step": NAME,
                "alignment": NAME,
                "disruption_weight": {"type": "number", "minimum": 0},
                "max_moved": {"type": "number", "minimum": 0, "maximum": 1},
            },
            "description": "on a triggered run, feed the current alignment (table "
                           "'alignment': id, territory) into 'step' to minimise disruption",
        },
        "scenarios": {
            "type": "object", "additionalProperties": False, "required": ["step", "runs"],
            "properties": {
                "step": NAME,
                "runs": {"type": "object", "minProperties": 1, "propertyNames": NAME,
                         "additionalProperties": {"type": "object"}},
            },
        },
        "steps": {
            "type": "array", "minItems": 1,
            "items": {
                "type": "object", "additionalProperties": False,
                "required": ["name", "uses", "inputs", "outputs"],
                "properties": {
                    "name": NAME,
                    "uses": {"type": "string"},
                    "inputs": {"type": "object", "additionalProperties": NAME},
                    "with": {"type": "object"},  # per component: the allOf below
                    "outputs": {"type": "object", "additionalProperties": NAME},
                    "on_infeasible": ON_INFEASIBLE,
                },
            },
        },
        "exports": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "dir": {"type": "string"},
                "map": {
                    "type": "object", "additionalProperties": False,
                    "required": ["step", "units"],
                    "properties": {"step": NAME, "units": NAME, "id": {"type": "string"},
                                   "wkt": {"type": "string"}, "edges": NAME,
                                   "title": {"type": "string"}},
                },
                "gis": {
                    "type": "object", "additionalProperties": False, "required": ["tables"],
                    "description": "step outputs with a WKT column (territory_polygons) "
                                   "written as lon/lat GIS files into the export folder",
                    "properties": {
                        "tables": {"type": "array", "minItems": 1, "items": NAME},
                        "formats": {"type": "array", "minItems": 1, "uniqueItems": True,
                                    "items": {"enum": ["geojson", "gpkg", "fgb"]}},
                        "wkt": {"type": "string"},
                    },
                },
            },
        },
    },
}




def _with_schemas() -> list[dict[str, Any]]:
    """One ``if uses: <component> then with: <its parameters>`` per component, generated
    from the component specs (types, enums, bounds, required), so an editor with the
    schema and :func:`load_workflow` check a step's parameters the same way."""
    return [{"if": {"properties": {"uses": {"const": name}}, "required": ["uses"]},
             "then": {"properties": {"with": component.spec.json_schema()}}}
            for name, component in registry.components().items()]


SCHEMA["properties"]["steps"]["items"]["allOf"] = _with_schemas()


@dataclass(frozen=True)
class Step:
    name: str
    uses: str
    inputs: dict[str, str]
    params: dict[str, Any]
    outputs: dict[str, str]
    line: int
    on_infeasible: str | None = None  # None: the workflow's policy


@dataclass(frozen=True)
class Workflow:
    name: str
    path: Path
    steps: list[Step]
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    database: str | None = None
    exports: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    warehouse: str = "duckdb"
    schedule: dict[str, Any] = field(default_factory=dict)
    rebalance: dict[str, Any] = field(default_factory=dict)
    scenarios: dict[str, Any] = field(default_factory=dict)
    on_infeasible: str = "keep_previous"

    def source_path(self, name: str) -> Path:
        return (self.path.parent / self.sources[name]["path"]).resolve()

    def source_table(self, name: str) -> str:
        """The warehouse table a source names (its own name when it is a file)."""
        return self.sources[name].get("table", name)


def _line_of(node: yaml.Node | None, path: list[Any]) -> int | None:
    """1-based line of the YAML node at a JSON path (deepest node found)."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in path:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) \
                and key < len(node.value):
            match = node.value[key]
        else:
            match = None
        if match is None:
            break
        node = match
        line = node.start_mark.line + 1
    return line


def _fail(path: Path, line: int | None, message: str,
          kind: type[InputError] = InputError) -> InputError:
    where = f"{path}:{line}" if line else str(path)
    return kind(f"{where}: {message}", column=where)


def load_workflow(path: str | Path) -> Workflow:
    """Parse and check a workflow file; every problem names its line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"workflow file '{path}' not found", column="WORKFLOW")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"workflow file '{path}' is not UTF-8 text: save it as UTF-8 YAML",
                         column="WORKFLOW") from None
    except OSError as err:
        raise InputError(f"workflow file '{path}' cannot be read ({err.strerror}): check its "
                         "permissions", column="WORKFLOW") from None
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise _fail(path, mark.line + 1 if mark else None, f"not valid YAML: {err}") from None
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    for problem in errors:
        at = list(problem.absolute_path)
        if len(at) >= 3 and at[0] == "steps" and at[2] == "with":
            # a parameter: the component's own message (parameter, allowed values, value
            # given), raised with its line below; one the spec accepts (e.g. "10" for an
            # int, "a,b" for a list) is not an error
            continue
        shown = "/".join(map(str, at)) or "(top level)"
        raise _fail(path, _line_of(root, at), f"{shown}: {problem.message}")

    sources = data.get("sources") or {}
    for name, src in sources.items():
        if "path" in src and not (path.parent / src["path"]).is_file():
            raise _fail(path, _line_of(root, ["sources", name, "path"]),
                        f"source '{name}': file '{src['path']}' not found next to the workflow")
    available = set(sources)
    steps: list[Step] = []
    for i, raw in enumerate(data["steps"]):
        line = _line_of(root, ["steps", i]) or 0
        try:
            component = registry.get(raw["uses"])
        except InputError as err:
            raise _fail(path, _line_of(root, ["steps", i, "uses"]), str(err)) from None
        spec = component.spec
        for tbl in spec.inputs:
            if tbl.required and tbl.name not in raw["inputs"]:
                raise _fail(path, _line_of(root, ["steps", i, "inputs"]),
                            f"step '{raw['name']}': input '{tbl.name}' is missing")
        for key, table_name in raw["inputs"].items():
            if key not in {t.name for t in spec.inputs}:
                raise _fail(path, _line_of(root, ["steps", i, "inputs", key]),
                            f"step '{raw['name']}': '{spec.name}' has no input '{key}' "
                            f"(inputs: {', '.join(t.name for t in spec.inputs)})")
            if table_name not in available:
                raise _fail(path, _line_of(root, ["steps", i, "inputs", key]),
                            f"step '{raw['name']}': input table '{table_name}' is neither a "
                            "source nor an output of an earlier step")
        params = raw.get("with") or {}
        if not isinstance(params, dict):
            raise _fail(path, _line_of(root, ["steps", i, "with"]),
                        f"step '{raw['name']}': 'with' must be a mapping of parameters")
        try:  # the component's own messages, the same as on every other path
            spec.validate_params(params)
        except InputError as err:
            where = ["steps", i, "with"] + ([err.column] if err.column in params else [])
            raise _fail(path, _line_of(root, where), f"step '{raw['name']}': {err}",
                        type(err)) from None
        for key in raw["outputs"]:
            if key not in {t.name for t in spec.outputs}:
                raise _fail(path, _line_of(root, ["steps", i, "outputs", key]),
                            f"step '{raw['name']}': '{spec.name}' has no output '{key}'")
        available |= set(raw["outputs"].values())
        steps.append(Step(raw["name"], raw["uses"], dict(raw["inputs"]), dict(params),
                          dict(raw["outputs"]), line, raw.get("on_infeasible")))
    names = [s.name for s in steps]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise _fail(path, None, f"step name '{dup}' is used twice")
    for key, block in (("schedule", data.get("schedule") or {}),):
        for src in block.get("on_change", []):
            if src not in sources:
                raise _fail(path, _line_of(root, [key, "on_change"]),
                            f"schedule.on_change: '{src}' is not a source")
    gis = (data.get("exports") or {}).get("gis") or {}
    for k, table in enumerate(gis.get("tables", [])):
        if table not in available - set(sources):
            raise _fail(path, _line_of(root, ["exports", "gis", "tables", k]),
                        f"exports.gis: '{table}' is not an output of any step; outputs: "
                        f"{', '.join(sorted(available - set(sources))) or '(none)'}")
    step_names = {s.name for s in steps}
    for key in ("rebalance", "scenarios"):
        block = data.get(key) or {}
        if block.get("step") and block["step"] not in step_names:
            raise _fail(path, _line_of(root, [key, "step"]),
                        f"{key}.step: no step named '{block['step']}'")
    scen = data.get("scenarios") or {}
    if scen:
        target = next(s for s in steps if s.name == scen["step"])
        spec = registry.get(target.uses).spec
        for run_name, overrides in scen["runs"].items():
            try:
                spec.validate_params({**target.params, **overrides})
            except InputError as err:
                raise _fail(path, _line_of(root, ["scenarios", "runs", run_name]),
                            f"scenario '{run_name}': {err}") from None
    return Workflow(name=data["name"], path=path.resolve(), steps=steps, sources=sources,
                    database=data.get("database"), exports=data.get("exports") or {},
                    description=data.get("description", ""),
                    warehouse=data.get("warehouse", "duckdb"),
                    schedule=data.get("schedule") or {}, rebalance=data.get("rebalance") or {},
                    scenarios=scen, on_infeasible=data.get("on_infeasible", "keep_previous"))

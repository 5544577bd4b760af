"""Parameter constraints come from the specs and are checked once, at the component boundary.

For every parameter of every component with a domain (type, choices, bounds), a value
outside it is refused by the component's table entry point before any solver sees it,
with one line that names the parameter, the value given and what is allowed (the fix);
and the workflow JSON schema generated from the same spec refuses it at that parameter.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pandas as pd
import pytest

from components import registry
from components.errors import InputError
from components.spec import REQUIRED, Param
from workflows.spec import SCHEMA


def _good(p: Param) -> Any:
    if p.default is not REQUIRED and p.default is not None:
        return p.default
    if p.choices:
        return [p.choices[0]] if p.type == "list[str]" else p.choices[0]
    if p.type in ("int", "float"):
        low = 1 if p.minimum is None else p.minimum + (1 if p.exclusive_minimum else 0)
        return int(low) if p.type == "int" else float(low)
    return {"str": "id", "list[str]": ["a"], "bool": True, "json": {}}[p.type]


def _bad(p: Param) -> list[Any]:
    out: list[Any] = []
    if p.choices:
        out.append(["no_such_choice"] if p.type == "list[str]" else "no_such_choice")
    if p.type in ("int", "float"):
        out.append("high")
        if p.minimum is not None:
            out.append(p.minimum if p.exclusive_minimum else p.minimum - 1)
        if p.maximum is not None:
            out.append(p.maximum + 1)
    if p.type == "int":
        out.append(1.5)
    if p.type == "bool":
        out.append("maybe")
    return out


CASES = [(name, p, bad) for name, c in registry.components().items() for p in c.spec.params
         for bad in _bad(p)]


def test_every_component_has_constrained_parameters_under_test():
    constrained = {n for n, c in registry.components().items()
                   if any(p.type not in ("str", "list[str]", "json") or p.choices
                          for p in c.spec.params)}
    assert {name for name, _, _ in CASES} == constrained and len(constrained) >= 6
    assert len(CASES) > 60


@pytest.mark.parametrize(("component", "param", "bad"), CASES,
                         ids=[f"{c}.{p.name}={b!r}" for c, p, b in CASES])
def test_a_bad_value_stops_at_the_component_boundary_with_one_line(component, param, bad):
    comp = registry.get(component)
    params = {p.name: _good(p) for p in comp.spec.params if p.required}
    params[param.name] = bad
    with pytest.raises(InputError) as caught:
        comp.run(pd.DataFrame({"id": ["a"]}), **params)  # the data is never reached
    message = str(caught.value)
    assert "\n" not in message
    assert f"parameter '{param.name}'" in message
    shown = bad[0] if isinstance(bad, list) else bad
    assert repr(shown) in message, message
    assert param.describe_range() in message, message  # what to give instead
    assert caught.value.column == param.name


def _step_errors(component: str, params: dict[str, Any]) -> list[jsonschema.ValidationError]:
    doc = {"name": "w", "steps": [{"name": "s", "uses": component, "inputs": {},
                                   "outputs": {}, "with": params}]}
    return list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(doc))


@pytest.mark.parametrize(("component", "param", "bad"),
                         [c for c in CASES if c[1].type != "list[str]"],
                         ids=[f"{c}.{p.name}={b!r}" for c, p, b in CASES
                              if p.type != "list[str]"])
def test_the_workflow_schema_from_the_spec_refuses_it_at_that_parameter(component, param, bad):
    spec = registry.get(component).spec
    good = {p.name: _good(p) for p in spec.params if p.required}
    assert not _step_errors(component, good)
    errors = _step_errors(component, {**good, param.name: bad})
    assert [list(e.absolute_path) for e in errors] == [["steps", 0, "with", param.name]]


def test_the_schema_knows_every_parameter_and_the_required_ones():
    spec = registry.get("territory_balancing").spec
    errors = _step_errors("territory_balancing", {"no_such": 1})
    messages = " | ".join(e.message for e in errors)
    assert "'no_such' was unexpected" in messages
    assert all(f"'{p.name}' is a required property" in messages
               for p in spec.params if p.required)


def test_shared_parameters_are_defined_once():
    from components.spec import COORDINATE_PARAMS

    shared = {p.name: p for p in COORDINATE_PARAMS}
    users = 0
    for component in registry.components().values():
        for p in component.spec.params:
            if p.name in shared:
                assert p is shared[p.name], f"{component.spec.name}.{p.name} is a copy"
                users += 1
            if p.name == "id":
                assert (p.type, p.default, p.metavar) == ("str", "id", "COL") or p.required
    assert users >= 4 * 5  # balancing, location, costs, adjacency, aggregation


def test_every_fixed_output_column_has_a_type_in_the_spec_and_every_adapter():
    from components.spec import COLUMN_TYPES
    from udfs.base import adapters

    seen = 0
    for component in registry.components().values():
        for table in component.spec.outputs:
            for column, kind in table.column_types():
                named = column == "id" or column.endswith("_id") or column in COLUMN_TYPES
                assert named, f"{component.spec.name}.{table.name}.{column}: no type"
                for adapter in adapters().values():
                    assert adapter.native_type(kind)
                seen += 1
    assert seen > 40

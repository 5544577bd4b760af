"""The dependency direction holds (``workflows -> udfs -> components``) and no product
module imports itself back through others (tests/tools/imports.py)."""

from __future__ import annotations

from tests.tools.imports import cycles, graph, product_modules, upward_imports


def test_no_upward_import_and_no_cycle():
    edges = graph(product_modules())
    assert upward_imports(edges) == []
    assert cycles(edges) == []


def test_the_checker_sees_a_cycle_and_an_upward_import():
    edges = {"components.a": {"components.b": (1, True)},
             "components.b": {"components.a": (2, True), "workflows.c": (3, False)},
             "workflows.c": {}}
    assert cycles(edges) == [["components.a", "components.b"]]
    assert upward_imports(edges) == ["upward import: components.b:3 imports workflows.c"]

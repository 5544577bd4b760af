"""Every component by name: its spec and its one Python entry point.

Components are discovered: any subpackage of :mod:`components` whose
``__init__`` exports ``SPEC`` (a :class:`~components.spec.ComponentSpec`) and
``run`` (the table entry point) is a component. Adding a component means adding
its package; nothing central is edited.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

from components.errors import ParameterError
from components.result import ComponentResult
from components.spec import ComponentSpec


@dataclass(frozen=True)
class Component:
    spec: ComponentSpec
    run: Callable[..., ComponentResult]
    # Where a SQL template exists the component also exports
    # to_sql(columns, source, params, dialect, **others) -> str | None (others: every other
    # wired input as (table, columns); None: no template for these parameters): a warehouse
    # runs it where the data lives instead of pulling rows into Python.
    to_sql: Callable[..., str | None] | None = None
    sql_report: Callable[..., dict] | None = None  # its report, from counts taken in SQL
    # sql_ready(columns, sources, params, run, dialect) -> bool: the data fit the SQL path
    # (checked in SQL); False: the Python path runs and gives its own messages
    sql_ready: Callable[..., bool] | None = None


@functools.lru_cache(maxsize=1)
def components() -> dict[str, Component]:
    """Name -> component, sorted by name."""
    import components as package

    found: dict[str, Component] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"components.{info.name}")
        spec, run = getattr(module, "SPEC", None), getattr(module, "run", None)
        if isinstance(spec, ComponentSpec) and callable(run):
            found[spec.name] = Component(spec, run, getattr(module, "to_sql", None),
                                         getattr(module, "sql_report", None),
                                         getattr(module, "sql_ready", None))
    return dict(sorted(found.items()))


def get(name: str) -> Component:
    known = components()
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ParameterError(f"unknown component '{name}'{hint} (components: "
                             f"{', '.join(known)})", column="uses")
    return known[name]

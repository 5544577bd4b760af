"""Every component by name: its spec and its one Python entry point."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from components.result import ComponentResult
from components.spec import ComponentSpec


@dataclass(frozen=True)
class Component:
    spec: ComponentSpec
    run: Callable[..., ComponentResult]


def components() -> dict[str, Component]:
    """Name -> component (imported lazily so ``import components`` stays light)."""
    from components.balance import SPEC as BALANCE
    from components.balance import territory_balancing

    return {BALANCE.name: Component(BALANCE, territory_balancing)}


def get(name: str) -> Component:
    import difflib

    from components.errors import ParameterError

    known = components()
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ParameterError(f"unknown component '{name}'{hint} (components: "
                             f"{', '.join(known)})", column="uses")
    return known[name]

"""Territory balancing (Zoltners & Sinha): spec, solver and table entry point."""

from components.balance.component import territory_balancing
from components.balance.solver import Bounds, TerritoryBalancer
from components.balance.spec import SPEC

run = territory_balancing

__all__ = ["SPEC", "Bounds", "TerritoryBalancer", "run", "territory_balancing"]

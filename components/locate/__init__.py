"""Location allocation: where to open facilities and which demand each serves.

Spec, the :class:`LocationAllocator` solver (cost-matrix level) and the table entry
point :func:`location_allocation` (``run``).
"""

from components.locate.component import location_allocation
from components.locate.solver import STRATEGIES, LocationAllocator
from components.locate.spec import SPEC

run = location_allocation

__all__ = ["SPEC", "STRATEGIES", "LocationAllocator", "location_allocation", "run"]

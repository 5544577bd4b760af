"""terraplan's domain: components as pure numpy/scipy/pandas, no warehouse clients.

Each subpackage is one component (spec, solver, SQL steps). The registry maps a
component name to its spec and entry point; see :mod:`components.registry`.
"""

__version__ = "0.1.0"

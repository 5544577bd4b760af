"""Cost matrices: straight-line (dense and k-nearest), road network, transformations.

Array-level functions; the table-level component wraps them.

Conventions
-----------
* Costs are float64 and ``>= 0``; ``inf`` means unreachable and is never replaced by a
  large number.
* In a sparse cost matrix a *stored* entry is a pair, and a stored ``0.0`` is a real
  zero cost (coincident points): explicit zeros are kept, never eliminated.
"""

from __future__ import annotations

from components.costs.component import cost_matrix as run
from components.costs.metrics import (
    EARTH_RADIUS_KM,
    KM_PER_MILE,
    earth_radius,
    knn_costs,
    local_plane,
    pair_distances,
    point_costs,
    search_space,
)
from components.costs.network import RoadNetwork
from components.costs.routing import NetworkCosts, network_costs
from components.costs.spec import SPEC
from components.costs.sql import cost_sql, sql_ready, sql_report, to_sql
from components.costs.table import LongTable, to_long_table
from components.costs.transform import TRANSFORMS, transform_costs

__all__ = [
    "EARTH_RADIUS_KM",
    "KM_PER_MILE",
    "SPEC",
    "TRANSFORMS",
    "LongTable",
    "NetworkCosts",
    "RoadNetwork",
    "cost_sql",
    "earth_radius",
    "knn_costs",
    "local_plane",
    "network_costs",
    "pair_distances",
    "point_costs",
    "run",
    "search_space",
    "sql_ready",
    "sql_report",
    "to_long_table",
    "to_sql",
    "transform_costs",
]

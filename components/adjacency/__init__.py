"""Adjacency between units: explicit edges, points, polygons, H3 cells, road network.

Every constructor returns an :class:`Adjacency` (ids, symmetric sparse matrix of edge
lengths, edge table). :func:`components_report` describes the connected components
and :func:`link_islands` connects them with edges flagged ``artificial``.
shapely and h3 are optional (``pip install 'terraplan[geo]'``) and imported lazily.
"""

from __future__ import annotations

from components.adjacency.component import adjacency as run
from components.adjacency.explicit import from_edges
from components.adjacency.h3grid import from_h3
from components.adjacency.islands import components_report, link_islands
from components.adjacency.model import MIN_LENGTH, Adjacency
from components.adjacency.points import from_points
from components.adjacency.polygons import from_polygons
from components.adjacency.road import from_road_network
from components.adjacency.spec import SPEC

__all__ = [
    "MIN_LENGTH",
    "SPEC",
    "Adjacency",
    "components_report",
    "from_edges",
    "from_h3",
    "from_points",
    "from_polygons",
    "from_road_network",
    "link_islands",
    "run",
]

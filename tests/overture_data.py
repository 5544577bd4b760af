"""Overture Maps transportation samples for the road SQL tests, in Overture's real schema.

``segment``: id, subtype, class, subclass, connectors LIST<STRUCT<connector_id, at>>,
speed_limits LIST<STRUCT<min_speed, max_speed STRUCT<value, unit>, is_max_speed_variable,
when STRUCT<heading, during, mode[], using[], recognized[], vehicle[]>, between DOUBLE[]>>,
access_restrictions LIST<STRUCT<access_type, when, between>>, geometry (WKB);
``connector``: id, bbox STRUCT<xmin, xmax, ymin, ymax>, geometry (WKB). ``at`` is the
fraction of the segment's length (haversine along its vertices) where a connector sits.

:func:`sample_town` is a hand-made town that exercises every rule the SQL reads;
:func:`from_way_nodes` turns an OSM way-node table into the same tables the way
Overture's own OSM conversion would for plain ways (one-way as a heading-scoped denial,
numeric maxspeed as a speed limit).
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import numpy as np
import pandas as pd

R = 6371008.8
_WHEN = {"heading": "VARCHAR", "during": "VARCHAR", "mode": ["VARCHAR"],
         "using": ["VARCHAR"], "recognized": ["VARCHAR"],
         "vehicle": [{"dimension": "VARCHAR", "comparison": "VARCHAR", "value": "DOUBLE",
                      "unit": "VARCHAR"}]}
_SPEED = {"value": "INTEGER", "unit": "VARCHAR"}
STRUCTURES = {
    "connectors": [{"connector_id": "VARCHAR", "at": "DOUBLE"}],
    "speed_limits": [{"min_speed": _SPEED, "max_speed": _SPEED,
                      "is_max_speed_variable": "BOOLEAN", "when": _WHEN,
                      "between": ["DOUBLE"]}],
    "access_restrictions": [{"access_type": "VARCHAR", "when": _WHEN,
                             "between": ["DOUBLE"]}],
}


def haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lon1, lat1), (lon2, lat2) = a, b
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * R * math.asin(math.sqrt(min(1.0, h)))


def line_length(points: list[tuple[float, float]]) -> float:
    return sum(haversine(a, b) for a, b in itertools.pairwise(points))


def segment(seg_id: str, cls: str, vertices: list[tuple[float, float, str | None]], *,
            subtype: str = "road", subclass: str | None = None,
            speed_limits: list[dict] | None = None,
            access_restrictions: list[dict] | None = None) -> dict[str, Any]:
    """A segment through ``vertices`` (lon, lat, connector id or None for a bend)."""
    points = [(x, y) for x, y, _ in vertices]
    total = line_length(points)
    connectors, run = [], 0.0
    for k, (x, y, conn) in enumerate(vertices):
        if k:
            run += haversine(points[k - 1], (x, y))
        if conn is not None:
            connectors.append({"connector_id": conn, "at": run / total})
    return {"id": seg_id, "subtype": subtype, "class": cls, "subclass": subclass,
            "connectors": connectors, "speed_limits": speed_limits,
            "access_restrictions": access_restrictions, "points": points}


def _grid(col: int, row: int) -> tuple[float, float, str]:
    return (24.94 + col * 0.002, 60.17 + row * 0.001, f"c{col}{row}")


def sample_town() -> tuple[list[dict[str, Any]], dict[str, tuple[float, float]]]:
    """Segments (dicts in Overture's shape) and connector coordinates of a small town."""
    g = _grid
    bend = (24.941, 60.1725, None)
    segs = [
        # two steps, connectors listed out of order; a bend between c00 and c10
        segment("s_main", "residential", [g(0, 0), (24.941, 60.1695, None), g(1, 0), g(2, 0)]),
        # one-way (OSM oneway=yes): no travel against the geometry for anyone
        segment("s_oneway", "residential", [g(0, 1), g(1, 1)],
                access_restrictions=[{"access_type": "denied", "when": {"heading": "backward"}}]),
        # one-way for motor vehicles only, against the geometry (walkers go both ways)
        segment("s_reverse", "residential", [g(1, 1), g(2, 1)],
                access_restrictions=[{"access_type": "denied",
                                      "when": {"heading": "forward", "mode": ["motor_vehicle"]}}]),
        segment("s_mph", "primary", [g(0, 0), g(0, 1)],
                speed_limits=[{"max_speed": {"value": 30, "unit": "mph"}}]),
        # heading-scoped limit beats the general one; backward keeps 50
        segment("s_heading", "secondary", [g(1, 0), g(1, 1)],
                speed_limits=[{"max_speed": {"value": 50, "unit": "km/h"}},
                              {"max_speed": {"value": 70, "unit": "km/h"},
                               "when": {"heading": "forward"}}]),
        # a limit on the first 40 % only; connector at 0.4 splits it
        segment("s_between", "tertiary", [g(2, 0), (24.944, 60.1704, "cmid"), g(2, 2)],
                speed_limits=[{"max_speed": {"value": 20, "unit": "km/h"},
                               "between": [0.0, 0.45]}]),
        # private road, walkers allowed
        segment("s_private", "service", [g(0, 1), g(0, 2)],
                access_restrictions=[{"access_type": "denied"},
                                     {"access_type": "allowed", "when": {"mode": ["foot"]}}]),
        # closed except for deliveries: a purpose-scoped allowance opens nothing
        segment("s_delivery", "residential", [g(0, 2), g(1, 2)],
                access_restrictions=[{"access_type": "denied"},
                                     {"access_type": "allowed", "when": {"using": ["delivery"]}}]),
        segment("s_link", "motorway", [g(1, 2), g(2, 2)], subclass="link"),
        segment("s_footway", "footway", [g(1, 1), g(1, 2)]),
        segment("s_rail", "standard_gauge", [g(0, 0), g(2, 2)], subtype="rail"),
        # a truck-only limit does not slow cars; a bend makes ST_LENGTH longer than the chord
        segment("s_truck", "unclassified", [g(2, 1), bend, g(3, 1)],
                speed_limits=[{"max_speed": {"value": 40, "unit": "km/h"},
                               "when": {"mode": ["truck"]}}]),
        # cars denied on the second half only
        segment("s_half", "residential", [g(3, 1), g(3, 2), g(3, 3)],
                access_restrictions=[{"access_type": "denied", "when": {"mode": ["car"]},
                                      "between": [0.5, 1.0]}]),
        # a denial during a time window is conditional: it closes nothing here
        segment("s_timed", "residential", [g(2, 2), g(3, 2)],
                access_restrictions=[{"access_type": "denied",
                                      "when": {"during": "Mo-Fr 07:00-09:00"}}]),
        segment("s_unknown", "unknown", [g(2, 0), g(3, 0)]),
        segment("s_motorway", "motorway", [g(3, 0), g(3, 1)],
                speed_limits=[{"max_speed": {"value": 100, "unit": "km/h"}}],
                access_restrictions=[{"access_type": "denied", "when": {"heading": "backward"}}]),
    ]
    segs[0]["connectors"].reverse()
    coords: dict[str, tuple[float, float]] = {}
    for s in segs:
        pts = s["points"]
        total = line_length(pts)
        for ref in s["connectors"]:
            coords.setdefault(ref["connector_id"], _point_at(pts, ref["at"] * total))
    return segs, coords


def _point_at(points: list[tuple[float, float]], distance: float) -> tuple[float, float]:
    run = 0.0
    for a, b in itertools.pairwise(points):
        step = haversine(a, b)
        if run + step >= distance - 1e-9:
            t = 0.0 if step == 0 else min(1.0, max(0.0, (distance - run) / step))
            return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
        run += step
    return points[-1]


def from_way_nodes(frame: pd.DataFrame) -> tuple[list[dict[str, Any]],
                                                 dict[str, tuple[float, float]]]:
    """Overture segments (one per OSM way, a connector at every node) from a way-node table.

    Only plain ways convert: the caller drops ways with access tags or unreadable maxspeed.
    """
    segs, coords = [], {}
    for way_id, way in frame.sort_values(["way_id", "seq"]).groupby("way_id", sort=True):
        first = way.iloc[0]
        highway = str(first["highway"])
        cls, sub = (highway[:-5], "link") if highway.endswith("_link") else (highway, None)
        oneway = str(first["oneway"]).lower() if pd.notna(first["oneway"]) else ""
        implied = ((str(first["junction"]) in ("roundabout", "circular") or highway == "motorway")
                   and oneway not in ("no", "false", "0"))
        rules = None
        if oneway in ("-1", "reverse"):
            rules = [{"access_type": "denied", "when": {"heading": "forward"}}]
        elif oneway in ("yes", "true", "1") or implied:
            rules = [{"access_type": "denied", "when": {"heading": "backward"}}]
        limits = None
        if pd.notna(first["maxspeed"]):
            text = str(first["maxspeed"]).strip().lower()
            unit = "mph" if text.endswith("mph") else "km/h"
            limits = [{"max_speed": {"value": int(float(text.replace("mph", ""))),
                                     "unit": unit}}]
        vertices = [(float(r.lon), float(r.lat), str(int(r.node_id)))
                    for r in way.itertuples(index=False)]
        segs.append(segment(f"w{way_id}", cls, vertices, subclass=sub, speed_limits=limits,
                            access_restrictions=rules))
        for x, y, node in vertices:
            coords[node] = (x, y)
    return segs, coords


def load(con: Any, segs: list[dict[str, Any]], coords: dict[str, tuple[float, float]]) -> None:
    """Tables ``segment`` and ``connector`` in ``con`` (DuckDB) with Overture's types."""
    import shapely

    seg_frame = pd.DataFrame({
        "id": [s["id"] for s in segs], "subtype": [s["subtype"] for s in segs],
        "class": [s["class"] for s in segs], "subclass": [s["subclass"] for s in segs],
        **{name: [None if s[name] is None else json.dumps(s[name]) for s in segs]
           for name in STRUCTURES},
        "geometry": [shapely.to_wkb(shapely.LineString(s["points"])) for s in segs]})
    con.register("segment_json", seg_frame)
    nested = ", ".join(f"json_transform({name}, '{json.dumps(kind)}') AS {name}"
                       for name, kind in STRUCTURES.items())
    con.execute(f"CREATE OR REPLACE TABLE segment AS SELECT id, subtype, class, subclass, "
                f"{nested}, geometry FROM segment_json")
    ids = sorted(coords)
    xy = np.array([coords[i] for i in ids], dtype=float).reshape(-1, 2)
    con.register("connector_xy", pd.DataFrame({
        "id": ids, "x": xy[:, 0], "y": xy[:, 1],
        "geometry": [shapely.to_wkb(shapely.Point(p)) for p in xy]}))
    con.execute("CREATE OR REPLACE TABLE connector AS SELECT id, "
                "{'xmin': x, 'xmax': x, 'ymin': y, 'ymax': y} AS bbox, geometry "
                "FROM connector_xy")


def st_length(wkb: bytes) -> float:
    """Metres along a WKB line (haversine between vertices): a GEOGRAPHY's ST_LENGTH."""
    import shapely

    return line_length([tuple(p) for p in shapely.from_wkb(wkb).coords])

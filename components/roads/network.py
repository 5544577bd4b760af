"""From a way-node table to a routable road network: nodes and directed-aware edges.

Steps (all vectorised over the way-node rows):

1. Keep the ways the profile travels (:mod:`components.roads.speeds`), and the way
   nodes inside ``bbox`` with known coordinates; a way is cut where a node is dropped.
2. Graph nodes are the intersections: a way node used more than once (by two ways, or
   twice by one) and the ends of every way piece. Interior nodes are folded into the
   edges between them, so every shortest path between graph nodes is unchanged.
3. An edge joins consecutive graph nodes of one way piece: ``length_m`` is the sum of
   great-circle lengths of its segments, seconds = length / speed of its way (the
   ``maxspeed`` tag for driving, else the class default). ``oneway`` edges are written
   in their travel direction (``oneway=-1`` ways reversed).
4. Parallel arcs between the same two nodes keep the fastest; the largest strongly
   connected component is kept (every node reaches every other by legal turns) and the
   other components are reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from components.costs.metrics import pair_distances
from components.errors import EmptyTableError, InputError, MissingColumnError, preview
from components.roads.osm import TAGS
from components.roads.speeds import direction, speed_table, travelled, way_speeds

NODE_COLUMNS = ("node_id", "lon", "lat")
_REQUIRED = ("way_id", "seq", "node_id", "lon", "lat", "highway")
_MAX_LISTED = 20


@dataclass(frozen=True)
class RoadTables:
    nodes: pd.DataFrame
    edges: pd.DataFrame
    report: dict[str, Any]


def parse_bbox(value: Any) -> tuple[float, float, float, float] | None:
    """``min_lon,min_lat,max_lon,max_lat`` (text or a sequence) as four checked floats."""
    if value is None:
        return None
    parts: Sequence[Any] = value.split(",") if isinstance(value, str) else value
    try:
        box = tuple(float(v) for v in parts)
    except (TypeError, ValueError):
        box = ()
    if len(box) != 4:
        raise InputError(f"parameter 'bbox' must be min_lon,min_lat,max_lon,max_lat; got "
                         f"{value!r}", column="bbox")
    w, s, e, n = box
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        swapped = -180 <= s < n <= 180 and -90 <= w < e <= 90
        hint = (" (it looks like lat,lon order: give min_lon,min_lat,max_lon,max_lat)"
                if swapped else "")
        raise InputError(f"parameter 'bbox' {value!r} is not a lon/lat box with "
                         f"min_lon < max_lon in [-180, 180] and min_lat < max_lat in "
                         f"[-90, 90]{hint}", column="bbox")
    return w, s, e, n


def build_road_network(way_nodes: pd.DataFrame, *, profile: str = "drive",
                       bbox: Any = None, speeds: Mapping[str, Any] | None = None,
                       keep: str = "largest") -> RoadTables:
    """Nodes ``node_id, lon, lat`` and edges of the profile's network (see the module)."""
    frame = _checked(way_nodes)
    box = parse_bbox(bbox)
    table = speed_table(profile, speeds)
    seconds_col = f"{profile}_seconds"
    report: dict[str, Any] = {"profile": profile, "bbox": list(box) if box else None,
                              "speeds_kmh": table, "input_rows": len(frame),
                              "input_ways": int(frame["way_id"].nunique())}

    order = np.lexsort((frame["seq"].to_numpy(), frame["way_id"].to_numpy()))
    frame = frame.iloc[order].reset_index(drop=True)
    way_id = frame["way_id"].to_numpy(dtype=np.int64)
    first_row = np.r_[True, way_id[1:] != way_id[:-1]]
    ways = frame.loc[first_row, ["way_id", *TAGS]].reset_index(drop=True)
    way_of_row = np.cumsum(first_row) - 1

    use = travelled(ways, profile, table)
    report["ways_travelled"] = int(use.sum())
    classes = ways.loc[use, "highway"].astype(object).value_counts()
    report["ways_by_class"] = {str(k): int(v) for k, v in classes.items()}
    lon = frame["lon"].to_numpy(dtype=np.float64)
    lat = frame["lat"].to_numpy(dtype=np.float64)
    located = np.isfinite(lon) & np.isfinite(lat)
    report["way_nodes_without_location"] = int((~located & use[way_of_row]).sum())
    keep_row = use[way_of_row] & located
    if box is not None:
        keep_row &= (lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3])

    rows = np.flatnonzero(keep_row)
    seq = frame["seq"].to_numpy(dtype=np.int64)[rows]
    way_row = way_of_row[rows]
    node = frame["node_id"].to_numpy(dtype=np.int64)[rows]
    # a piece continues while the next kept row is the next node of the same way
    cont = np.r_[False, (way_row[1:] == way_row[:-1]) & (seq[1:] == seq[:-1] + 1)]
    piece = np.cumsum(~cont) - 1
    piece_end = np.r_[~cont[1:], True]
    seg = np.zeros(rows.size)
    if rows.size > 1:
        pts = np.column_stack([lon[rows], lat[rows]])
        seg[1:] = pair_distances(pts[:-1], pts[1:], "haversine", unit="km") * 1000.0
        seg[~cont] = 0.0
    along = np.cumsum(seg)

    used = pd.Series(node).value_counts()
    shared = pd.Series(node).map(used).to_numpy() > 1
    graph_node = ~cont | piece_end | shared
    a, b = _stretches(graph_node, piece)
    for _ in range(3):  # split parallel stretches at an interior node, so no road is lost
        split = _parallel_interiors(a, b, node, along)
        if split.size == 0:
            break
        graph_node[split] = True
        a, b = _stretches(graph_node, piece)
    length = along[b] - along[a]
    tail, head = node[a], node[b]
    w = way_row[a]
    loops = tail == head
    report["closed_loops_dropped"] = int(loops.sum())
    a, b, w, tail, head, length = (x[~loops] for x in (a, b, w, tail, head, length))

    kmh = way_speeds(ways, profile, table)[w]
    sense = direction(ways, profile)[w]
    tail, head = np.where(sense < 0, head, tail), np.where(sense < 0, tail, head)
    edges = pd.DataFrame({
        "from_id": tail, "to_id": head, "length_m": length,
        seconds_col: length / (kmh / 3.6), "oneway": sense != 0,
        "highway": ways["highway"].astype(object).to_numpy()[w],
        "way_id": ways["way_id"].to_numpy()[w],
    })
    if edges.empty:
        _check_swapped_bbox(box, lon[located], lat[located])
        raise EmptyTableError(
            f"no road of the '{profile}' profile is left"
            + (f" inside bbox {list(box)}" if box else "")
            + f" (classes in the input: {preview(ways['highway'].astype(object).unique())}):"
            " widen --bbox, change --profile or add speeds for these classes",
            column="highway")
    edges, parallel = _fastest_arcs(edges, seconds_col)
    report["parallel_arcs_dropped"] = parallel

    coords = pd.DataFrame({"node_id": node, "lon": lon[rows], "lat": lat[rows]})
    coords = coords.drop_duplicates("node_id").set_index("node_id")
    edges, parts = _strong_part(edges, keep)
    report["components"] = parts
    ids = pd.unique(np.concatenate([edges["from_id"].to_numpy(), edges["to_id"].to_numpy()]))
    ids = np.sort(ids)
    nodes = coords.loc[ids].reset_index()
    edges["cost"] = edges[seconds_col]
    report.update({
        "n_nodes": len(nodes), "n_edges": len(edges),
        "n_oneway_edges": int(edges["oneway"].sum()),
        "total_length_km": float(edges["length_m"].sum() / 1000.0),
        "cost_column": seconds_col, "cost_unit": "seconds",
    })
    return RoadTables(nodes, edges.reset_index(drop=True), report)


def _stretches(graph_node: np.ndarray, piece: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of the two ends of every edge: consecutive graph nodes of a piece."""
    k = np.flatnonzero(graph_node)
    same = piece[k[1:]] == piece[k[:-1]]
    return k[:-1][same], k[1:][same]


def _parallel_interiors(a: np.ndarray, b: np.ndarray, node: np.ndarray,
                        along: np.ndarray) -> np.ndarray:
    """A middle interior row of every stretch but the shortest joining the same two nodes."""
    lo, hi = np.minimum(node[a], node[b]), np.maximum(node[a], node[b])
    order = np.lexsort((along[b] - along[a], hi, lo))
    lo, hi = lo[order], hi[order]
    repeat = np.zeros(order.size, dtype=bool)
    repeat[1:] = (lo[1:] == lo[:-1]) & (hi[1:] == hi[:-1])
    extra = order[repeat]
    extra = extra[b[extra] - a[extra] > 1]  # a stretch with interior nodes to split at
    return (a[extra] + b[extra]) // 2


def _check_swapped_bbox(box: tuple[float, float, float, float] | None, lon: np.ndarray,
                        lat: np.ndarray) -> None:
    if box is None:
        return
    w, s, e, n = box
    inside = (lat >= w) & (lat <= e) & (lon >= s) & (lon <= n)
    if inside.any():
        raise InputError(
            f"parameter 'bbox' {list(box)} holds no road, but read as lat,lon it holds "
            f"{int(inside.sum())} way node(s): give min_lon,min_lat,max_lon,max_lat, i.e. "
            f"--bbox {s:g},{w:g},{n:g},{e:g}", column="bbox")


def _checked(way_nodes: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(way_nodes, pd.DataFrame):
        raise InputError(f"the OSM input must be a way-node table (a DataFrame); got "
                         f"{type(way_nodes).__name__}", column="INPUT")
    missing = [c for c in _REQUIRED if c not in way_nodes.columns]
    if missing:
        raise MissingColumnError(
            f"column '{missing[0]}' not found in the OSM way-node table; columns present: "
            f"{preview(list(way_nodes.columns), limit=20)}: give an .osm.pbf file or a "
            f"table with {', '.join(_REQUIRED)} (one row per way node) and tag columns",
            column=missing[0])
    if way_nodes.empty:
        raise EmptyTableError("the OSM input has no highway ways; is it the right extract?",
                              column="highway")
    frame = way_nodes.copy()
    for tag in TAGS:
        if tag not in frame.columns:
            frame[tag] = None
    for col in ("way_id", "seq", "node_id"):
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = values.isna() | (values != values.round())
        if bad.any():
            raise InputError(f"column '{col}' of the OSM way-node table needs integers; "
                             f"rows {preview(np.flatnonzero(bad.to_numpy()))} hold "
                             f"{preview(frame.loc[bad, col].tolist())}", column=col)
        frame[col] = values.astype(np.int64)
    for col in ("lon", "lat"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    lon, lat = frame["lon"].to_numpy(), frame["lat"].to_numpy()
    bad_lon = np.abs(lon) > 180
    bad_lat = np.abs(lat) > 90
    if bad_lon.any() or bad_lat.any():
        col, bad = ("lat", bad_lat) if bad_lat.any() else ("lon", bad_lon)
        hint = (": lon and lat look swapped, exchange the columns"
                if bad_lat.any() and np.all(np.abs(lon[np.isfinite(lon)]) <= 90) else "")
        raise InputError(f"column '{col}' of the OSM way-node table has {int(bad.sum())} "
                         f"value(s) out of range, e.g. {frame.loc[bad, col].iloc[0]!r} at "
                         f"node {frame.loc[bad, 'node_id'].iloc[0]}{hint}", column=col)
    return frame


def _fastest_arcs(edges: pd.DataFrame, seconds_col: str) -> tuple[pd.DataFrame, int]:
    """One edge per directed arc: two-way edges count for both directions."""
    two = edges[~edges["oneway"]]
    arcs = pd.concat([
        edges.assign(_edge=np.arange(len(edges)), _rev=False),
        two.assign(from_id=two["to_id"].to_numpy(), to_id=two["from_id"].to_numpy(),
                   _edge=np.flatnonzero(~edges["oneway"].to_numpy()), _rev=True),
    ], ignore_index=True)
    arcs = arcs.sort_values([seconds_col, "length_m", "way_id", "_rev"], kind="mergesort")
    best = arcs.drop_duplicates(["from_id", "to_id"], keep="first")
    won = best.groupby("_edge")["_rev"].agg(["size", "min"])
    both = won.index[won["size"] == 2]
    single = won[won["size"] == 1]
    kept = [edges.iloc[both]]
    lone = best[best["_edge"].isin(single.index)]
    kept.append(lone.drop(columns=["_edge", "_rev"]).assign(oneway=True))
    out = pd.concat(kept, ignore_index=True)
    out = out.sort_values(["from_id", "to_id"], kind="mergesort").reset_index(drop=True)
    lost = len(arcs) - len(best)
    return out.drop(columns=[c for c in ("_edge", "_rev") if c in out.columns]), int(lost)


def _strong_part(edges: pd.DataFrame, keep: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    ids, codes = np.unique(np.concatenate([edges["from_id"].to_numpy(),
                                           edges["to_id"].to_numpy()]), return_inverse=True)
    tail, head = codes[:len(edges)], codes[len(edges):]
    two = ~edges["oneway"].to_numpy()
    n = len(ids)
    graph = sp.csr_matrix((np.ones(len(tail) + two.sum()),
                           (np.r_[tail, head[two]], np.r_[head, tail[two]])), shape=(n, n))
    count, label = connected_components(graph, directed=True, connection="strong")
    sizes = np.bincount(label)
    order = np.argsort(-sizes, kind="stable")
    largest = order[0]
    inside = (label[tail] == largest) & (label[head] == largest)
    others = order[1:]
    report: dict[str, Any] = {
        "strongly_connected": int(count), "largest_nodes": int(sizes[largest]),
        "kept": keep,
        "dropped_nodes": int(n - sizes[largest]) if keep == "largest" else 0,
        "dropped_edges": int((~inside).sum()) if keep == "largest" else 0,
        "other_sizes": [int(s) for s in sizes[others][:_MAX_LISTED]],
        "other_examples": [int(ids[np.flatnonzero(label == c)[0]])
                           for c in others[:_MAX_LISTED]],
    }
    if keep == "all":
        return edges, report
    return edges[inside].reset_index(drop=True), report

"""Unit adjacency on tables: build the graph from one source, report its parts, link islands.

* :func:`compute_adjacency` returns the :class:`~components.adjacency.Adjacency` (ids,
  symmetric scipy sparse matrix the solvers use, edge table) and the report.
* :func:`adjacency` is the table entry point behind the CLI (``terraplan adjacency``),
  the DuckDB function ``terraplan_adjacency`` and the warehouse handlers.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from components.adjacency._optional import require
from components.adjacency.explicit import from_edges
from components.adjacency.h3grid import from_h3
from components.adjacency.islands import components_report, link_islands
from components.adjacency.model import Adjacency
from components.adjacency.points import from_points
from components.adjacency.polygons import from_polygons
from components.adjacency.road import from_road_network, snap_report
from components.adjacency.spec import SPEC
from components.costs._checks import scalar
from components.costs.component import PointTable, as_text_ids, point_table
from components.costs.network import RoadNetwork
from components.errors import MissingColumnError, ParameterError, preview
from components.result import ComponentResult
from components.scu import SCUColumns

_MAX_LISTED = 100


def adjacency(units: pd.DataFrame, *, edges: pd.DataFrame | None = None,
              nodes: pd.DataFrame | None = None, **params: Any) -> ComponentResult:
    """Edge table ``from_id, to_id, length, artificial, source`` and a report (see the spec).

    >>> import pandas as pd
    >>> units = pd.DataFrame({"id": ["a", "b", "c"], "x": [0.0, 1.0, 2.0], "y": [0.0] * 3})
    >>> adjacency(units).tables["edges"][["from_id", "to_id"]].values.tolist()
    [['a', 'b'], ['b', 'c']]
    """
    graph, report = compute_adjacency(units, edges=edges, nodes=nodes, **params)
    return ComponentResult({"edges": canonical_edges(graph.edges)}, report)


def canonical_edges(edges: pd.DataFrame) -> pd.DataFrame:
    """Each undirected edge from the lower id (as text) to the higher, rows in id order: a
    warehouse table has no row order, so the same units in any order give the same table."""
    if edges.empty:
        return edges.reset_index(drop=True)
    a, b = edges["from_id"].astype(str), edges["to_id"].astype(str)
    swap = (a > b).to_numpy()
    out = edges.copy()
    out.loc[swap, "from_id"] = edges.loc[swap, "to_id"].to_numpy()
    out.loc[swap, "to_id"] = edges.loc[swap, "from_id"].to_numpy()
    order = np.lexsort((out["to_id"].astype(str).to_numpy(), out["from_id"].astype(str).to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def compute_adjacency(units: pd.DataFrame, *, edges: pd.DataFrame | None = None,
                      nodes: pd.DataFrame | None = None,
                      **params: Any) -> tuple[Adjacency, dict[str, Any]]:
    """The adjacency graph of ``units`` and its report.

    Sources (``source``; by default chosen from what is given):

    * ``points``: Delaunay triangulation, an edge dropped when longer than
      ``max_edge_factor`` x the lower-quartile edge length at both of its ends;
    * ``polygons``: queen (shared point) or rook (shared boundary) contiguity of WKT;
    * ``h3``: cells that are grid neighbours;
    * ``edges``: an explicit table of unit pairs;
    * ``roads``: units whose road catchments (nearest-unit Voronoi of the road nodes)
      are joined by a road edge.

    Connected parts are reported largest first with their sizes and ids. With
    ``link_islands`` each part but the largest is joined to its nearest part, in
    KD-tree rounds, by an edge flagged ``artificial``.
    """
    started = time.perf_counter()
    p = SPEC.validate_params(params)
    source = p["source"] or _default_source(p, edges, nodes)
    _check_tables(source, edges, nodes)
    cols = SCUColumns(id=p["id"], x=p["x"], y=p["y"], lon=p["lon"], lat=p["lat"])
    table = point_table(units, cols, "units table (INPUT)", source in ("points", "roads"))
    metric = _metric(p["distance"], table, source)

    if source == "points":
        graph = from_points(table.ids, table.coords, metric=metric,
                            max_edge_factor=p["max_edge_factor"])
    elif source == "polygons":
        graph = from_polygons(table.ids, _column(units, p["wkt"] or "wkt", "wkt"),
                              kind=p["kind"], metric=metric)
    elif source == "h3":
        graph = from_h3(table.ids, _column(units, p["h3"] or "h3", "h3"))
    elif source == "edges":
        assert edges is not None  # _check_tables: source 'edges' needs the table
        graph = _from_edge_table(table, edges, p["cost"], metric)
    else:
        assert edges is not None and nodes is not None  # _check_tables: 'roads' needs both
        graph, snaps = _from_roads(table, edges, nodes, metric, p["cost"])

    parts = components_report(graph, max_ids=20, max_components=50)
    degree = np.diff(graph.matrix.indptr)
    isolated = graph.ids[degree == 0]
    report: dict[str, Any] = {
        "status": "ok", "source": source, "n_units": graph.n_units,
        "n_edges": len(graph.edges), "length_unit": _length_unit(source, metric, p, edges,
                                                             table.coords is not None),
        "components": parts,
        "isolated_units": {"count": int(isolated.size),
                           "ids": [scalar(v) for v in isolated[:_MAX_LISTED]]},
    }
    if source == "polygons":
        report["kind"] = p["kind"]
    if source == "roads":
        report["snap"] = snaps
    warnings: list[str] = []
    linked = graph
    if parts["count"] > 1 and p["link_islands"]:
        anchors, anchor_metric = _anchors(table, units, source, p, metric)
        linked = link_islands(graph, anchors, metric=anchor_metric)
    elif parts["count"] > 1:
        small = [i for part in parts["components"][1:] for i in part["ids"]]
        warnings.append(
            f"the adjacency graph has {parts['count']} disconnected parts (sizes "
            f"{preview(parts['sizes'])}); units outside the largest part include "
            f"{preview(small)}: pass --link-islands to join each part to its nearest one "
            "with flagged artificial edges, or add the missing edges")
    artificial = linked.edges[linked.edges["artificial"].to_numpy(dtype=bool)]
    if source == "roads" and p["cost"]:
        # the column balance/locate --distance network read; road trips in --cost units
        linked = Adjacency(linked.ids, linked.matrix,
                           linked.edges.assign(cost=linked.edges["length"]))
        if len(artificial):
            warnings.append(
                f"{len(artificial)} artificial island link(s) are straight-line lengths in "
                f"{'km' if metric == 'haversine' else 'coordinate units'}, not road "
                f"'{p['cost']}': their cost mixes units; connect the islands by road "
                "instead (terraplan roads keeps one strongly connected network)")
    report["n_edges"] = len(linked.edges)
    report["connected"] = linked.n_components() <= 1
    report["artificial_edges"] = {
        "count": len(artificial),
        "edges": [{"from_id": scalar(a), "to_id": scalar(b), "length": float(c)}
                  for a, b, c in artificial[["from_id", "to_id", "length"]]
                  .head(_MAX_LISTED).itertuples(index=False, name=None)],
    }
    report["warnings"] = warnings
    if warnings:
        report["status"] = "warnings"
    report["seconds"] = time.perf_counter() - started
    return linked, report


def _default_source(p: dict[str, Any], edges: pd.DataFrame | None,
                    nodes: pd.DataFrame | None) -> str:
    if nodes is not None:
        return "roads"
    if edges is not None:
        return "edges"
    if p["wkt"] is not None:
        return "polygons"
    return "h3" if p["h3"] is not None else "points"


def _check_tables(source: str, edges: pd.DataFrame | None, nodes: pd.DataFrame | None) -> None:
    for name, table in (("edges", edges), ("nodes", nodes)):
        if table is not None and not isinstance(table, pd.DataFrame):
            raise ParameterError(f"{name} must be a pandas DataFrame; got "
                                 f"{type(table).__name__}", column=name)
    if source in ("edges", "roads") and edges is None:
        what = "unit pairs from_id, to_id" if source == "edges" else "road edges from_id, to_id"
        raise ParameterError(f"source '{source}' needs an edges table (--edges FILE with "
                             f"{what})", column="edges")
    if source == "roads" and nodes is None:
        raise ParameterError("source 'roads' needs a road nodes table (--nodes FILE with "
                             "node_id and coordinates)", column="nodes")
    if edges is not None and source not in ("edges", "roads"):
        raise ParameterError(f"an edges table is only read with source 'edges' or 'roads'; "
                             f"got source '{source}': drop --edges or change --source",
                             column="edges")
    if nodes is not None and source != "roads":
        raise ParameterError(f"a nodes table is only read with source 'roads'; got source "
                             f"'{source}'", column="nodes")


def _metric(distance: str | None, table: PointTable, source: str) -> str:
    if source == "h3":
        if distance == "euclidean":
            raise ParameterError("H3 cells are on the sphere: their edge lengths are "
                                 "haversine km; drop --distance euclidean", column="distance")
        return "haversine"
    if table.kind is None:
        return distance or "euclidean"
    metric = distance or ("haversine" if table.kind == "lonlat" else "euclidean")
    if metric == "haversine" and table.kind != "lonlat":
        raise ParameterError("distance 'haversine' needs lon/lat coordinates in degrees: name "
                             "them with --lon COL --lat COL", column="distance")
    if metric == "euclidean" and table.kind == "lonlat":
        raise ParameterError("distance 'euclidean' on lon/lat degrees is not a distance: use "
                             "--distance haversine, or --x COL --y COL for projected "
                             "coordinates", column="distance")
    return metric


def _column(units: pd.DataFrame, name: str, role: str) -> np.ndarray:
    if name not in units.columns:
        raise MissingColumnError(
            f"column '{name}' not found in the units table; columns present: "
            f"{', '.join(map(str, units.columns))}: name the {role} column with --{role} COL",
            column=name)
    return units[name].to_numpy(dtype=object)


def _from_edge_table(table: PointTable, edges: pd.DataFrame, cost: str | None,
                     metric: str) -> Adjacency:
    """Explicit unit pairs, matched on ids as text (CSV and warehouse ids agree)."""
    for col in ("from_id", "to_id"):
        if col not in edges.columns:
            raise MissingColumnError(
                f"column '{col}' not found in the edges table; columns present: "
                f"{', '.join(map(str, edges.columns))}: an edge is from_id, to_id[, cost]",
                column=col)
    cost_col = cost or ("cost" if "cost" in edges.columns else None)
    text_ids = as_text_ids(table.ids).to_numpy()
    pairs = edges.assign(from_id=as_text_ids(edges["from_id"]).to_numpy(),
                         to_id=as_text_ids(edges["to_id"]).to_numpy())
    graph = from_edges(text_ids, pairs, cost_col=cost_col, coords=table.coords, metric=metric)
    i, j = graph.edge_positions()
    out = graph.edges.assign(from_id=table.ids[i], to_id=table.ids[j])
    return Adjacency(table.ids, graph.matrix, out)


def _from_roads(table: PointTable, edges: pd.DataFrame, nodes: pd.DataFrame,
                metric: str, cost: str | None) -> tuple[Adjacency, dict[str, Any]]:
    for name, frame, cols in (("edges", edges, ("from_id", "to_id")),
                              ("nodes", nodes, ("node_id",))):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise MissingColumnError(
                f"column '{missing[0]}' not found in the {name} table; columns present: "
                f"{', '.join(map(str, frame.columns))}", column=missing[0])
    roads = edges.assign(from_id=as_text_ids(edges["from_id"]).to_numpy(),
                         to_id=as_text_ids(edges["to_id"]).to_numpy())
    nodes = nodes.assign(node_id=as_text_ids(nodes["node_id"]).to_numpy())
    coord_cols = table.columns.coordinate_columns if table.columns is not None else None
    if coord_cols is not None and not set(coord_cols) <= set(nodes.columns):
        coord_cols = None  # x, y or lon, lat by convention
    if cost is not None and cost not in roads.columns:
        raise MissingColumnError(
            f"column '{cost}' (--cost) not found in the road edges table; columns present: "
            f"{', '.join(map(str, roads.columns))}", column=cost)
    # Without --cost only the road topology counts: lengths from coordinates.
    oneway = "oneway" if cost is not None and "oneway" in roads.columns else None
    network = RoadNetwork.from_edges(roads, cost_col=cost, oneway_col=oneway, nodes=nodes,
                                     coord_cols=coord_cols, metric=metric)
    assert table.coords is not None  # point_table(..., needs coordinates) for roads
    snaps = snap_report(table.ids, table.coords, network, metric)
    graph = from_road_network(table.ids, table.coords, network, metric=metric,
                              road_lengths=cost is not None)
    return graph, snaps


def _anchors(table: PointTable, units: pd.DataFrame, source: str, p: dict[str, Any],
             metric: str) -> tuple[np.ndarray, str]:
    """Points (and their metric) from which islands are linked to their nearest part."""
    if table.coords is not None:
        return table.coords, metric
    if source == "h3":
        h3 = require("h3", "linking H3 islands")
        cells = _column(units, p["h3"] or "h3", "h3")
        text = [h3.int_to_str(int(c)) if not isinstance(c, str) else c.strip().lower()
                for c in cells]
        return np.array([h3.cell_to_latlng(c)[::-1] for c in text], dtype=np.float64), \
            "haversine"
    if source == "polygons":
        shapely = require("shapely", "linking polygon islands")
        geoms = shapely.from_wkt(_column(units, p["wkt"] or "wkt", "wkt"))
        geoms = np.where(shapely.is_valid(geoms), geoms, shapely.make_valid(geoms))
        return shapely.get_coordinates(shapely.point_on_surface(geoms)), metric
    raise ParameterError(
        "--link-islands needs unit coordinates to find the nearest part: add --x/--y or "
        "--lon/--lat columns to the units table, or add the missing edges",
        column="link_islands")


def _length_unit(source: str, metric: str, p: dict[str, Any], edges: pd.DataFrame | None,
                 has_coords: bool) -> str:
    if source == "roads" and p["cost"]:
        return f"road {p['cost']} (shortest path between the units' road nodes)"
    if source == "edges":
        if p["cost"] or (edges is not None and "cost" in edges.columns):
            return "edge cost"
        if not has_coords:
            return "hops"
    if source == "h3" or metric == "haversine":
        return "km"
    return "coordinate units"

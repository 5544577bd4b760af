"""Road-network costs: a directed graph of road edges, snapping and shortest paths."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from components.costs._checks import (
    as_ids,
    as_points,
    check_metric,
    check_positive,
    check_unit,
    numeric_column,
    parse_flags,
    require_columns,
    scalar,
)
from components.costs.metrics import (
    chord_to_arc,
    csr_with_explicit_zeros,
    earth_radius,
    pair_distances,
    search_space,
)
from components.errors import (
    EmptyTableError,
    InputError,
    MissingColumnError,
    MissingValueError,
    ParameterError,
    UnknownIdError,
    preview,
)

# Rows of a Dijkstra block: block rows x n_nodes float64 stays under 64 MiB.
_DIJKSTRA_BLOCK_ELEMENTS = 1 << 23


def _node_coordinates(nodes: pd.DataFrame, node_id_col: str,
                      coord_cols: tuple[str, str] | None,
                      metric: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    require_columns(nodes, [node_id_col], "nodes")
    if coord_cols is None:
        if {"x", "y"} <= set(nodes.columns):
            coord_cols, inferred = ("x", "y"), "euclidean"
        elif {"lon", "lat"} <= set(nodes.columns):
            coord_cols, inferred = ("lon", "lat"), "haversine"
        else:
            raise MissingColumnError(
                "nodes needs coordinate columns 'x', 'y' (planar) or 'lon', 'lat' (degrees); "
                f"its columns are {preview(list(nodes.columns), limit=20)}: rename them or "
                "pass coord_cols=(x_column, y_column)",
                column="coord_cols",
            )
        metric = metric or inferred
    require_columns(nodes, list(coord_cols), "nodes")
    metric = check_metric(metric or "euclidean")
    ids = as_ids(nodes[node_id_col].to_numpy(), f"nodes.{node_id_col}")
    coords = as_points(nodes[list(coord_cols)].to_numpy(), f"nodes[{list(coord_cols)}]",
                       metric)
    return ids, coords, metric


def _merge_arcs(tail: np.ndarray, head: np.ndarray, cost: np.ndarray, row: np.ndarray,
                n_nodes: int, index: pd.Index, node_ids: np.ndarray,
                cost_name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge repeated arcs with the same cost; raise if one arc has different costs."""
    key = tail.astype(np.int64) * n_nodes + head
    order = np.lexsort((row, cost, key))
    key, cost, row = key[order], cost[order], row[order]
    first = np.r_[True, key[1:] != key[:-1]]
    group = np.cumsum(first) - 1
    low = cost[first]
    high = np.maximum.reduceat(cost, np.flatnonzero(first))
    conflict = np.flatnonzero(low != high)
    if conflict.size:
        in_conflict = np.isin(group, conflict)
        arcs = key[first][conflict]
        pairs = [(scalar(node_ids[a // n_nodes]), scalar(node_ids[a % n_nodes]))
                 for a in arcs[:5]]
        rows = pd.unique(index[row[in_conflict]])
        raise InputError(
            f"{conflict.size} road edge(s) appear more than once with different {cost_name!r}: "
            f"(from, to) {preview(pairs)} in rows {preview(rows)}; keep one row per edge "
            "(a two-way edge also covers its reverse direction)",
            column=cost_name, rows=list(rows),
        )
    keys = key[first]
    return keys // n_nodes, keys % n_nodes, low


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A directed road graph with optional node coordinates for snapping.

    Attributes
    ----------
    node_ids : numpy.ndarray
        Node id of each graph index.
    graph : scipy.sparse.csr_matrix (n_nodes x n_nodes)
        ``graph[u, v]`` is the cost of travelling the arc ``u -> v``. Stored entries are
        arcs; an explicit ``0.0`` is a zero-cost arc (scipy's csgraph treats explicit
        zeros in a sparse graph as edges).
    coords : numpy.ndarray (n_nodes, 2) or None
        Node coordinates, read with ``metric``.
    metric : {'euclidean', 'haversine'} or None
        How ``coords`` are read (``None`` when there are no coordinates).
    unit : {'km', 'mi'}
        Unit of great-circle snap distances and coordinate-derived edge lengths.
    """

    node_ids: np.ndarray
    graph: sp.csr_matrix
    coords: np.ndarray | None = None
    metric: str | None = None
    unit: str = "km"

    @classmethod
    def from_edges(cls, edges: pd.DataFrame, *, from_col: str = "from_id",
                   to_col: str = "to_id", cost_col: str | None = "cost",
                   oneway_col: str | None = None, nodes: pd.DataFrame | None = None,
                   node_id_col: str = "node_id", coord_cols: tuple[str, str] | None = None,
                   metric: str | None = None, unit: str = "km") -> RoadNetwork:
        """Build a network from an edge table (and optionally a node table).

        Parameters
        ----------
        edges : pandas.DataFrame
            One row per road edge: ``from_col``, ``to_col`` node ids, ``cost_col``
            (length or travel time, >= 0) and optionally ``oneway_col``.
        cost_col : str or None
            Edge cost column. When it is ``None`` or absent from ``edges``, the cost is
            the straight-line length between the edge's end nodes (``nodes`` needed).
        oneway_col : str or None
            Boolean column (true/false, 1/0, yes/no): true means only ``from -> to``
            can be travelled. Without it every edge is two-way.
        nodes : pandas.DataFrame or None
            ``node_id_col`` plus coordinates: ``x, y`` (metric defaults to euclidean)
            or ``lon, lat`` (haversine), or the columns named in ``coord_cols``. When
            given, every edge end must be a node here; nodes without edges are kept.
        metric : {'euclidean', 'haversine'} or None
            Overrides the metric inferred from the coordinate columns.
        unit : {'km', 'mi'}
            Unit of great-circle lengths for haversine.

        Raises
        ------
        MissingColumnError, EmptyTableError, MissingValueError, NegativeValueError,
        UnknownIdError, InputError
            Missing columns; no edges; missing ids or costs; negative costs; edge ends
            absent from ``nodes``; self-loops; one edge given twice with different costs.
            Exact repeats of an edge (and a two-way edge given in both directions with
            the same cost) are merged silently.
        """
        check_unit(unit)
        require_columns(edges, [from_col, to_col], "edges")
        if len(edges) == 0:
            raise EmptyTableError("edges has no rows; a road network needs at least one edge",
                                  column=from_col)
        for col in (from_col, to_col):
            missing = edges[col].isna().to_numpy()
            if missing.any():
                rows = edges.index[missing]
                raise MissingValueError(
                    f"column {col!r} has missing node ids in rows {preview(rows)}; "
                    "drop these edges or fill in their ids",
                    column=col, rows=rows.tolist(),
                )
        loops = (edges[from_col].to_numpy() == edges[to_col].to_numpy())
        if loops.any():
            rows = edges.index[loops]
            raise InputError(
                f"edges has self-loops (from {from_col!r} == to {to_col!r}) in rows "
                f"{preview(rows)} at nodes {preview(edges[from_col][loops].tolist())}; "
                "a loop never shortens a path: drop these rows",
                column=from_col, rows=rows.tolist(),
            )

        coords = None
        if nodes is not None:
            node_ids, coords, metric = _node_coordinates(nodes, node_id_col, coord_cols,
                                                         metric)
        else:
            if metric is not None:
                check_metric(metric)
            node_ids = pd.unique(np.concatenate([edges[from_col].to_numpy(),
                                                 edges[to_col].to_numpy()]))
            metric = None
        index = pd.Index(node_ids)
        tail = index.get_indexer(edges[from_col])
        head = index.get_indexer(edges[to_col])
        unknown = (tail < 0) | (head < 0)
        if unknown.any():
            ends = np.concatenate([edges[from_col].to_numpy()[tail < 0],
                                   edges[to_col].to_numpy()[head < 0]])
            rows = edges.index[unknown]
            raise UnknownIdError(
                f"edges refer to {len(pd.unique(ends))} node id(s) missing from nodes."
                f"{node_id_col}: {preview(pd.unique(ends))} in rows {preview(rows)}; add "
                "these nodes with coordinates or drop the edges",
                column=from_col if (tail < 0).any() else to_col, rows=rows.tolist(),
            )

        if cost_col is not None and cost_col in edges.columns:
            cost = numeric_column(edges, cost_col)
            cost_name = cost_col
        elif coords is not None:
            cost = pair_distances(coords[tail], coords[head], cast(str, metric), unit=unit)
            cost_name = "length"
        else:
            raise MissingColumnError(
                f"edges has no cost column {cost_col!r} and no node coordinates to measure "
                f"edge lengths; pass cost_col=<column with costs> or nodes=<table with "
                f"{node_id_col!r} and x, y or lon, lat>",
                column=cost_col or "cost",
            )

        if oneway_col is not None:
            require_columns(edges, [oneway_col], "edges")
        oneway = (parse_flags(edges[oneway_col], oneway_col) if oneway_col is not None
                  else np.zeros(len(edges), dtype=bool))
        arc_rows = np.arange(len(edges))
        two = ~oneway
        arcs = _merge_arcs(
            np.concatenate([tail, head[two]]), np.concatenate([head, tail[two]]),
            np.concatenate([cost, cost[two]]), np.concatenate([arc_rows, arc_rows[two]]),
            len(node_ids), edges.index, np.asarray(node_ids), cost_name,
        )
        n = len(node_ids)
        graph = csr_with_explicit_zeros(*arcs, (n, n))
        return cls(np.asarray(node_ids), graph, coords, metric, unit)

    @property
    def n_nodes(self) -> int:
        """Number of nodes (graph size)."""
        return len(self.node_ids)

    def node_index(self, ids: Any) -> np.ndarray:
        """Graph indices of node ids; :class:`UnknownIdError` for ids not in the network."""
        ids = np.asarray(ids)
        positions = pd.Index(self.node_ids).get_indexer(ids)
        unknown = positions < 0
        if unknown.any():
            raise UnknownIdError(
                f"node ids {preview(pd.unique(ids[unknown]))} are not in the road network "
                f"(positions {preview(np.flatnonzero(unknown))}); check the ids",
                column="node_id", rows=np.flatnonzero(unknown).tolist(),
            )
        return positions

    @cached_property
    def connected_nodes(self) -> np.ndarray:
        """Graph indices of nodes with at least one arc: the only snapping targets."""
        degree = np.diff(self.graph.indptr) + np.bincount(self.graph.indices,
                                                          minlength=self.n_nodes)
        return np.flatnonzero(degree > 0)

    @cached_property
    def _tree(self) -> cKDTree:
        return cKDTree(search_space(cast(np.ndarray, self.coords)[self.connected_nodes],
                                   cast(str, self.metric)))

    def snap(self, points: Any, metric: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Nearest network node (with at least one edge) of each point.

        Parameters
        ----------
        points : array_like (n, 2)
            In the coordinate system of the nodes.
        metric : {'euclidean', 'haversine'} or None
            Defaults to the network's metric; a different one is an error because the
            node coordinates can be read only one way.

        Returns
        -------
        node_index : numpy.ndarray (n,) int64
            Graph index of the nearest node.
        snap_distance : numpy.ndarray (n,) float64
            Straight-line distance to it (coordinate units, or ``unit`` for haversine).
        """
        if self.coords is None:
            raise ParameterError(
                "this road network has no node coordinates, so points cannot be snapped; "
                "build it with RoadNetwork.from_edges(..., nodes=<table with node ids and "
                "x, y or lon, lat>)",
                column="nodes",
            )
        if metric is not None and check_metric(metric) != self.metric:
            raise ParameterError(
                f"metric={metric!r} but the network's node coordinates were loaded as "
                f"{self.metric!r}; pass metric={self.metric!r} (or rebuild the network)",
                column="metric",
            )
        pts = as_points(points, "points", cast(str, self.metric))
        if len(pts) == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        dist, idx = self._tree.query(search_space(pts, cast(str, self.metric)), workers=-1)
        if self.metric == "haversine":
            dist = chord_to_arc(np.asarray(dist, dtype=np.float64), earth_radius(self.unit))
        return self.connected_nodes[idx].astype(np.int64), np.asarray(dist, dtype=np.float64)

    def _check_nodes(self, nodes: Any, name: str) -> np.ndarray:
        arr = np.asarray(nodes)
        if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
            raise ParameterError(
                f"{name} must be a 1-D array of graph indices (integers); got "
                f"{arr.dtype} with shape {arr.shape}: use node_index(ids) to convert ids",
                column=name,
            )
        bad = np.flatnonzero((arr < 0) | (arr >= self.n_nodes))
        if bad.size:
            raise ParameterError(
                f"{name} holds graph indices outside 0..{self.n_nodes - 1}: "
                f"{preview(arr[bad])} at positions {preview(bad)}",
                column=name, rows=bad.tolist(),
            )
        return arr.astype(np.int64)

    def shortest_costs(self, origin_nodes: Any, dest_nodes: Any = None,
                       cutoff: float | None = None) -> np.ndarray:
        """Shortest-path costs from origin nodes, following arc directions.

        ``C[i, j] = min over paths p from origin_nodes[i] to dest_nodes[j] of
        sum_{(u, v) in p} graph[u, v]``, or ``inf`` if no path exists (or the cheapest
        costs more than ``cutoff``). Dijkstra runs from the unique origins only, in
        blocks bounded to ~64 MiB, with ``limit=cutoff``.

        Parameters
        ----------
        origin_nodes, dest_nodes : array_like of int
            Graph indices (see :meth:`node_index`, :meth:`snap`). ``dest_nodes=None``
            means every node.
        cutoff : float > 0 or None

        Returns
        -------
        numpy.ndarray (len(origin_nodes), len(dest_nodes) or n_nodes), float64

        Raises
        ------
        ParameterError
            ``cutoff`` below the cheapest arc leaving every origin, so nothing but the
            origins themselves could be reached.
        """
        origins = self._check_nodes(origin_nodes, "origin_nodes")
        dests = (np.arange(self.n_nodes) if dest_nodes is None
                 else self._check_nodes(dest_nodes, "dest_nodes"))
        cutoff = check_positive(cutoff, "cutoff", allow_none=True)
        unique, inverse = np.unique(origins, return_inverse=True)
        if cutoff is not None and unique.size:
            self._check_cutoff(unique, cutoff)
        out = np.empty((len(unique), len(dests)), dtype=np.float64)
        block = max(1, _DIJKSTRA_BLOCK_ELEMENTS // max(self.n_nodes, 1))
        limit = np.inf if cutoff is None else cutoff
        for start in range(0, len(unique), block):
            dist = dijkstra(self.graph, directed=True, indices=unique[start:start + block],
                            limit=limit)
            out[start:start + block] = dist[:, dests]
        return out[inverse]

    @cached_property
    def _cheapest_arc(self) -> np.ndarray:
        """Cost of the cheapest arc leaving each node (inf for nodes without arcs)."""
        cheapest = np.full(self.n_nodes, np.inf)
        nonempty = np.flatnonzero(np.diff(self.graph.indptr) > 0)
        if nonempty.size:
            # Segments between consecutive non-empty rows span only empty rows: exact.
            cheapest[nonempty] = np.minimum.reduceat(self.graph.data,
                                                     self.graph.indptr[nonempty])
        return cheapest

    def _check_cutoff(self, origins: np.ndarray, cutoff: float) -> None:
        cheapest = self._cheapest_arc[origins].min()
        if np.isfinite(cheapest) and cutoff < cheapest:
            raise ParameterError(
                f"cutoff={cutoff!r} is below the cheapest road edge leaving any origin "
                f"({cheapest:.6g}), so every destination but the origins themselves would "
                f"be unreachable; raise cutoff above {cheapest:.6g} or pass cutoff=None",
                column="cutoff",
            )

"""Unit-to-unit and unit-to-center costs over a road network, with unreachable pairs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from components.costs._checks import as_points, check_positive, scalar
from components.costs.network import RoadNetwork
from components.errors import ParameterError


@dataclass(frozen=True, eq=False)
class NetworkCosts:
    """Costs between snapped points, and everything needed to report unreachable ones.

    Attributes
    ----------
    costs : numpy.ndarray (n, m) float64
        ``snap_cost_per_unit * (s_i + s_j) + network(node_i, node_j)``; ``inf`` where the
        network has no path (or the total exceeds ``cutoff``).
    origin_node, destination_node : numpy.ndarray of int
        Graph index each origin / destination snapped to.
    origin_snap, destination_snap : numpy.ndarray of float
        Straight-line snap distances ``s`` (coordinate units, or km/mi for haversine).
    """

    costs: np.ndarray
    origin_node: np.ndarray
    origin_snap: np.ndarray
    destination_node: np.ndarray
    destination_snap: np.ndarray

    @property
    def n_unreachable(self) -> int:
        """Number of (origin, destination) pairs with infinite cost."""
        return int(np.isinf(self.costs).sum())

    def unreachable_pairs(self) -> np.ndarray:
        """``(k, 2)`` array of (origin position, destination position) with no path."""
        return np.argwhere(np.isinf(self.costs))

    def unreachable_origins(self) -> np.ndarray:
        """Positions of origins that reach no destination at all."""
        return np.flatnonzero(np.isinf(self.costs).all(axis=1)) if self.costs.shape[1] else \
            np.arange(self.costs.shape[0])

    def unreachable_destinations(self) -> np.ndarray:
        """Positions of destinations that no origin reaches."""
        return np.flatnonzero(np.isinf(self.costs).all(axis=0)) if self.costs.shape[0] else \
            np.arange(self.costs.shape[1])

    def summary(self, origin_ids: Any = None, destination_ids: Any = None) -> dict[str, Any]:
        """JSON-ready counts and previews of unreachable units and of snap distances."""
        o_ids = np.arange(len(self.origin_node)) if origin_ids is None else np.asarray(origin_ids)
        d_ids = (np.arange(len(self.destination_node)) if destination_ids is None
                 else np.asarray(destination_ids))
        pairs = self.unreachable_pairs()[:20]
        lost_o, lost_d = self.unreachable_origins(), self.unreachable_destinations()
        return {
            "n_pairs": int(self.costs.size),
            "n_unreachable_pairs": self.n_unreachable,
            "unreachable_pairs_sample": [[scalar(o_ids[i]), scalar(d_ids[j])] for i, j in pairs],
            "n_unreachable_origins": int(lost_o.size),
            "unreachable_origins": [scalar(v) for v in o_ids[lost_o[:100]]],
            "n_unreachable_destinations": int(lost_d.size),
            "unreachable_destinations": [scalar(v) for v in d_ids[lost_d[:100]]],
            "max_origin_snap": float(self.origin_snap.max()) if self.origin_snap.size else 0.0,
            "max_destination_snap": (float(self.destination_snap.max())
                                     if self.destination_snap.size else 0.0),
        }


def network_costs(network: RoadNetwork, origins: Any, destinations: Any = None, *,
                  cutoff: float | None = None,
                  snap_cost_per_unit: float = 1.0) -> NetworkCosts:
    """Road-network cost matrix between points snapped to their nearest network node.

    ``c_ij = f * (s_i + s_j) + D(n_i, n_j)`` where ``n_i`` is the node point ``i`` snaps
    to, ``s_i`` its straight-line snap distance, ``f = snap_cost_per_unit`` and ``D`` the
    directed shortest-path cost on the network. Unreachable pairs get ``inf``; read
    them with :meth:`NetworkCosts.unreachable_pairs` / :meth:`NetworkCosts.summary` and
    report them, never replace them with a large number.

    Parameters
    ----------
    network : RoadNetwork
        Must have node coordinates.
    origins : array_like (n, 2)
        Unit (or center) coordinates in the network's coordinate system.
    destinations : array_like (m, 2) or None
        ``None`` gives the square unit-to-unit matrix of ``origins``, whose diagonal
        is 0 (a unit to itself).
    cutoff : float > 0 or None
        Pairs with ``c_ij > cutoff`` become ``inf``; Dijkstra stops at ``cutoff``.
    snap_cost_per_unit : float > 0
        Converts snap distances into edge-cost units: 1 when edge costs are lengths in
        the same unit; e.g. 60 / 15 = 4 minutes per km when edge costs are minutes and
        the last stretch off-network is driven at 15 km/h.

    Returns
    -------
    NetworkCosts

    Raises
    ------
    ParameterError
        Bad parameters; a network without coordinates; a ``cutoff`` that leaves every
        pair unreachable.
    """
    factor = check_positive(snap_cost_per_unit, "snap_cost_per_unit")
    cutoff = check_positive(cutoff, "cutoff", allow_none=True)
    if not isinstance(network, RoadNetwork):
        raise ParameterError(
            f"network must be a RoadNetwork (see RoadNetwork.from_edges); got "
            f"{type(network).__name__}",
            column="network",
        )
    metric = network.metric or "euclidean"
    o_points = as_points(origins, "origins", metric)
    o_node, o_snap = network.snap(o_points)
    square = destinations is None
    if square:
        d_node, d_snap = o_node, o_snap
    else:
        d_node, d_snap = network.snap(as_points(destinations, "destinations", metric))

    costs = network.shortest_costs(o_node, d_node, cutoff=cutoff)
    costs += factor * o_snap[:, None]
    costs += factor * d_snap[None, :]
    if square:
        np.fill_diagonal(costs, 0.0)
    if cutoff is not None:
        costs[costs > cutoff] = np.inf
        n_pairs = costs.size - (len(costs) if square else 0)
        n_finite = int(np.isfinite(costs).sum()) - (len(costs) if square else 0)
        if n_pairs and n_finite == 0:
            raise ParameterError(
                f"cutoff={cutoff!r} leaves every (origin, destination) pair unreachable "
                f"(the smallest snap distances alone add up to "
                f"{factor * (o_snap.min() + d_snap.min()):.6g}); raise cutoff or pass "
                "cutoff=None",
                column="cutoff",
            )
    return NetworkCosts(costs, o_node, o_snap, d_node, d_snap)


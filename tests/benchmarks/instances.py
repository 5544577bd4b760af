"""Territory-balancing instances in the papers' manner, seeded.

Points on a 100 x 100 square, either uniform (Kalcsics et al.) or clustered
(towns over a thin rural background, closer to ZIP codes in a sales district),
Delaunay adjacency, and "road-like" edge lengths: the straight-line length times
a random detour factor in [1.0, 1.4], so shortest paths bend as roads do.

Metrics: column 0 is the sales potential (uniform [4, 8] for ``uniform``;
log-normal, mean about 6, for ``clustered``, so units are uneven as real ZIP
codes are); with ``n_metrics >= 2`` column 1 is an account count (1 + Poisson(3))
and further columns are uniform [0, 10] workloads.

>>> inst = make_instance("uniform", 50, seed=1)
>>> inst.graph.shape, inst.metrics.shape, inst.name
((50, 50), (50, 1), 'uniform-50-s1')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.spatial import Delaunay

SIDE = 100.0
KINDS = ("uniform", "clustered")


@dataclass(frozen=True)
class Instance:
    name: str
    kind: str
    seed: int
    coords: np.ndarray  # (n, 2)
    graph: sp.csr_matrix  # (n, n) symmetric, data = road-like edge length
    metrics: np.ndarray  # (n, k)

    @property
    def n(self) -> int:
        return len(self.coords)


def uniform_points(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0, SIDE, (n, 2))


def clustered_points(n: int, rng: np.random.Generator, n_clusters: int | None = None,
                     background: float = 0.25) -> np.ndarray:
    """Gaussian towns of varied size and spread plus a uniform rural share."""
    n_clusters = n_clusters or max(3, n // 60)
    n_bg = round(background * n)
    centres = rng.uniform(10, SIDE - 10, (n_clusters, 2))
    share = rng.dirichlet(np.full(n_clusters, 2.0))
    sizes = rng.multinomial(n - n_bg, share)
    spread = rng.uniform(3, 9, n_clusters)
    town = np.repeat(np.arange(n_clusters), sizes)
    pts = centres[town] + rng.normal(size=(len(town), 2)) * spread[town, None]
    pts = np.vstack([pts, uniform_points(n_bg, rng)]).clip(0, SIDE)
    # jitter so no two points coincide (Delaunay needs distinct points)
    return pts + rng.uniform(-1e-6, 1e-6, pts.shape)


def delaunay_pairs(pts: np.ndarray) -> np.ndarray:
    """Unique undirected Delaunay edges (e, 2), smaller index first."""
    tri = Delaunay(pts)
    s = tri.simplices
    a = np.concatenate([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]])
    return np.unique(np.sort(a, axis=1), axis=0)


def delaunay_graph(pts: np.ndarray) -> sp.csr_matrix:
    """Symmetric csr adjacency of the Delaunay triangulation, edge length = distance."""
    a = delaunay_pairs(pts)
    length = np.hypot(*(pts[a[:, 0]] - pts[a[:, 1]]).T)
    n = len(pts)
    return sp.coo_matrix((np.r_[length, length], (np.r_[a[:, 0], a[:, 1]],
                                                  np.r_[a[:, 1], a[:, 0]])),
                         shape=(n, n)).tocsr()


def road_graph(pts: np.ndarray, rng: np.random.Generator,
               detour: tuple[float, float] = (1.0, 1.4)) -> sp.csr_matrix:
    """Delaunay adjacency with edge length = straight line x U(detour)."""
    e = delaunay_pairs(pts)
    length = np.hypot(*(pts[e[:, 0]] - pts[e[:, 1]]).T) * rng.uniform(*detour, len(e))
    length = np.maximum(length, 1e-9)
    n = len(pts)
    g = sp.coo_matrix((np.r_[length, length], (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])),
                      shape=(n, n))
    return g.tocsr()


def make_metrics(kind: str, n: int, n_metrics: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "uniform":
        first = rng.uniform(4, 8, n)
    else:
        first = rng.lognormal(np.log(6.0) - 0.5 * 0.5 ** 2, 0.5, n)
    cols = [first]
    if n_metrics >= 2:
        cols.append(1.0 + rng.poisson(3.0, n))
    for _ in range(2, n_metrics):
        cols.append(rng.uniform(0, 10, n))
    return np.column_stack(cols)


def make_instance(kind: str, n: int, seed: int = 0, n_metrics: int = 1) -> Instance:
    """One seeded instance: ``kind`` in ``uniform`` / ``clustered``, ``n`` units."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    rng = np.random.default_rng([seed, n, KINDS.index(kind)])
    pts = uniform_points(n, rng) if kind == "uniform" else clustered_points(n, rng)
    graph = road_graph(pts, rng)
    metrics = make_metrics(kind, n, n_metrics, rng)
    return Instance(f"{kind}-{n}-s{seed}", kind, seed, pts, graph, metrics)


def balance_figures(metrics: np.ndarray, labels: np.ndarray, m: int) -> dict:
    """Per-metric ratio to the mean territory total: min, max, range, s.d. (Z&S Table II)."""
    tot = np.zeros((m, metrics.shape[1]))
    np.add.at(tot, labels, metrics)
    r = tot / (metrics.sum(axis=0) / m)
    return {"min": r.min(axis=0), "max": r.max(axis=0), "sd": r.std(axis=0), "ratio": r}

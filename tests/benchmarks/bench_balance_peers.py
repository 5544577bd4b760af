"""Territory balancing side by side with its peers, in the same run, on real maps
(tests/benchmarks/realmaps.py: BLS 2009 county labour statistics on TIGER counties, and
H3 cells over them).

Methods, each asked for ``m`` territories within ``tol`` of the mean:

* terraplan: :class:`TerritoryBalancer`, sought centers, every metric balanced;
* GerryChain ``recursive_tree_part`` (random spanning-tree bisection, as used for
  redistricting): metric 0 as population, ``epsilon = tol``; it balances one metric;
* METIS through ``pymetis``: k-way, ``contig=1``, vertex weight = metric 0 (scaled to
  integers), edge weight = inverse edge length, ``ufactor = 1000 tol`` (METIS caps the
  heaviest part only);
* ``k-means-constrained``: cluster sizes (unit counts: it cannot weigh them) within
  ``n/m (1 -+ tol)`` on the plane coordinates, no contiguity.

Every answer is scored by the same code here, never by a method's own report:

* balance: per metric, territory total / (total / m), min and max;
* contiguity: territories in one piece, by a BFS over the map's adjacency;
* compactness: ``sum_T min_c sum_{j in T} w_j d(c, j)`` with ``d`` the shortest path over
  the map (km) and ``c`` among the 8 members nearest the territory's weighted centroid:
  our objective with good centers for every method, so none is charged for having none;
* CPU s of the method (its process, or its child for the peers run in one).

A peer runs in a forked child with a wall cap (``PEER_CAP``): GerryChain retries a
bisection that the tolerance makes impossible until it gives up, which on lumpy maps
takes long. A peer that is not installed or times out is reported as such.
"""

from __future__ import annotations

import importlib.metadata as md
import multiprocessing as mp
import random
import resource
import sys
import time
from collections import deque
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from components.balance import TerritoryBalancer
from components.costs.metrics import local_plane
from tests.benchmarks.realmaps import MapInstance, available, county_map, h3_map

PEER_CAP = 600.0  # wall seconds per peer answer (a cap, reported when it binds)
SOLVE_LIMIT = 600.0


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "not installed"


def ours(inst: MapInstance, m: int, k: int, tol: float, seed: int) -> np.ndarray:
    b = TerritoryBalancer(m, tolerance=tol, seed=seed, time_limit=SOLVE_LIMIT).solve(
        inst.graph, inst.metrics[:, :k], coords=local_plane(inst.coords),
        weights=inst.metrics[:, 0])
    return b.labels_


def gerrychain(inst: MapInstance, m: int, k: int, tol: float, seed: int) -> np.ndarray:
    import networkx as nx
    from gerrychain import Graph
    from gerrychain.tree import recursive_tree_part

    random.seed(seed)  # GerryChain draws from the global generator
    g = nx.Graph()
    pop = inst.metrics[:, 0]
    g.add_nodes_from((j, {"pop": float(pop[j])}) for j in range(inst.n))
    coo = sp.triu(inst.graph).tocoo()
    g.add_edges_from(zip(coo.row.tolist(), coo.col.tolist(), strict=True))
    parts = recursive_tree_part(Graph.from_networkx(g), range(m), float(pop.sum() / m), "pop",
                                tol, node_repeats=1)
    return np.array([parts[j] for j in range(inst.n)], dtype=np.int64)


def metis(inst: MapInstance, m: int, k: int, tol: float, seed: int) -> np.ndarray:
    import pymetis

    g = inst.graph
    a = inst.metrics[:, 0]
    vw = np.maximum(np.round(a / a.max() * 100_000), 1).astype(np.int64)
    ew = np.maximum(np.round(np.median(g.data) / g.data * 100), 1).astype(np.int64)
    opts = pymetis.Options(contig=1, ufactor=max(1, round(1000 * tol)), seed=seed)
    adj = pymetis.CSRAdjacency(adj_starts=g.indptr.astype(np.int64),
                               adjacent=g.indices.astype(np.int64))
    _, parts = pymetis.part_graph(m, adjacency=adj, vweights=vw, eweights=ew, options=opts,
                                  recursive=False)
    return np.asarray(parts, dtype=np.int64)


def kmeans_constrained(inst: MapInstance, m: int, k: int, tol: float,
                       seed: int) -> np.ndarray:
    from k_means_constrained import KMeansConstrained

    n = inst.n
    lo, hi = int(np.floor(n / m * (1 - tol))), int(np.ceil(n / m * (1 + tol)))
    km = KMeansConstrained(n_clusters=m, size_min=lo, size_max=hi, random_state=seed,
                           n_init=1)
    return np.asarray(km.fit_predict(local_plane(inst.coords)), dtype=np.int64)


Method = Callable[[MapInstance, int, int, float, int], np.ndarray]
METHODS: dict[str, Method] = {"terraplan": ours, "GerryChain recursive_tree_part": gerrychain,
                              "METIS contig": metis, "k-means-constrained": kmeans_constrained}
DISTS = {"GerryChain recursive_tree_part": "gerrychain", "METIS contig": "pymetis",
         "k-means-constrained": "k-means-constrained"}


def _child(conn, fn: Method, args: tuple) -> None:
    try:
        t0 = time.process_time()
        labels = fn(*args)
        conn.send({"labels": labels, "cpu": time.process_time() - t0})
    except BaseException as err:  # report, never hang the parent
        conn.send({"error": f"{type(err).__name__}: {str(err)[:120]}"})
    finally:
        conn.close()


def _run_capped(fn: Method, args: tuple, cap: float) -> dict:
    """``fn(*args)`` in a forked child killed at ``cap`` wall seconds."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args), daemon=True)
    proc.start()
    child.close()
    got = parent.recv() if parent.poll(cap) else {"error": f"no answer within {cap:g} s wall"}
    proc.kill()
    proc.join(timeout=5)
    parent.close()
    return got


def contiguous_share(graph: sp.csr_matrix, labels: np.ndarray, m: int) -> float:
    """Share of the m territories that are non-empty and one piece (BFS)."""
    good = 0
    for t in range(m):
        members = np.flatnonzero(labels == t)
        if len(members) == 0:
            continue
        inside = np.zeros(len(labels), dtype=bool)
        inside[members] = True
        seen = np.zeros(len(labels), dtype=bool)
        seen[members[0]] = True
        todo = deque([int(members[0])])
        count = 1
        while todo:
            v = todo.popleft()
            for w in graph.indices[graph.indptr[v]:graph.indptr[v + 1]]:
                if inside[w] and not seen[w]:
                    seen[w] = True
                    count += 1
                    todo.append(int(w))
        good += count == len(members)
    return good / m


def compactness(inst: MapInstance, labels: np.ndarray, m: int) -> float:
    plane = local_plane(inst.coords)
    w = inst.metrics[:, 0]
    total = 0.0
    for t in range(m):
        members = np.flatnonzero(labels == t)
        if len(members) == 0:
            continue
        mid = (plane[members] * w[members, None]).sum(axis=0) / max(w[members].sum(), 1e-300)
        near = members[cKDTree(plane[members]).query(mid, k=min(8, len(members)))[1]]
        d = dijkstra(inst.graph, directed=False, indices=np.atleast_1d(near))
        total += float((d[:, members] @ w[members]).min())
    return total


def score(inst: MapInstance, labels: np.ndarray, m: int, k: int, tol: float) -> dict:
    sums = np.zeros((m, inst.metrics.shape[1]))
    np.add.at(sums, labels, inst.metrics)
    ratio = sums / (inst.metrics.sum(axis=0) / m)
    return {"min": ratio.min(axis=0).tolist(), "max": ratio.max(axis=0).tolist(),
            "within": bool((np.abs(ratio[:, :k] - 1) <= tol + 1e-9).all()),
            "contig": contiguous_share(inst.graph, labels, m),
            "parts": len(np.unique(labels)), "compact": compactness(inst, labels, m)}


def cases(quick: bool) -> list[tuple[str, Callable[[], MapInstance], int, int, float]]:
    if quick:
        return [("GA counties", lambda: county_map(("GA",)), 8, 1, 0.05)]
    return [("GA counties", lambda: county_map(("GA",)), 10, 2, 0.05),
            ("NC+VA counties", lambda: county_map(("NC", "VA")), 12, 1, 0.02),
            ("US counties", lambda: county_map(None), 20, 3, 0.05),
            ("H3 r5 US", lambda: h3_map(5), 50, 1, 0.02)]


def measure(name: str, make: Callable[[], MapInstance], m: int, k: int, tol: float,
            seed: int = 0) -> dict[str, dict]:
    inst = make()
    out: dict[str, dict] = {}
    for method, fn in METHODS.items():
        if method == "terraplan":
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            labels = fn(inst, m, k, tol, seed)
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            got = {"labels": labels, "cpu": r1.ru_utime - r0.ru_utime + r1.ru_stime
                   - r0.ru_stime}
        else:
            got = _run_capped(fn, (inst, m, k, tol, seed), PEER_CAP)
        if "error" in got:
            out[method] = {"error": got["error"]}
            continue
        out[method] = {**score(inst, got["labels"], m, k, tol), "cpu": got["cpu"]}
    return {"case": f"{name} (n={inst.n:,}), m={m}, {k} metric(s), tol {tol:.0%}",
            "results": out, "k": k}


def _ranges(s: dict, k: int) -> str:
    return ", ".join(f"{lo:.3f}-{hi:.3f}" for lo, hi in zip(s["min"][:k], s["max"][:k],
                                                          strict=True))


def rows_from(measured: list[dict]) -> list[dict]:
    rows = []
    for meas in measured:
        res, k = meas["results"], meas["k"]
        base = res["terraplan"].get("compact")
        for method, s in res.items():
            if "error" in s:
                rows.append({"benchmark": "balance_peers", "case": f"{meas['case']}: {method}",
                             "value": float("nan"), "unit": "", "target": "",
                             "note": s["error"]})
                continue
            ours_row = method == "terraplan"
            rows.append({
                "benchmark": "balance_peers", "case": f"{meas['case']}: {method}",
                "value": s["compact"], "unit": "compactness",
                "target": "within tol., contiguous" if ours_row else "",
                "met": (s["within"] and s["contig"] == 1.0) if ours_row else None,
                "note": f"range per metric {_ranges(s, k)}; within tol. {s['within']}; "
                        f"contiguous {100 * s['contig']:.0f} %; "
                        + ("" if ours_row or not base else
                           f"{s['compact'] / base - 1:+.1%} vs terraplan; ")
                        + f"{s['cpu']:.1f} CPU s"
                        + ("" if ours_row else f" ({DISTS[method]} {_version(DISTS[method])})")})
    return rows


def run(quick: bool = False) -> list[dict]:
    if not available():
        return [{"benchmark": "balance_peers", "case": "bokeh-sampledata missing", "value": 0,
                 "unit": "", "target": "installed", "met": False,
                 "note": "pip install 'terraplan[bench]'"}]
    return rows_from([measure(*c) for c in cases(quick)])


if __name__ == "__main__":
    from tests.benchmarks.run import table

    measured = []
    for c in cases("--quick" in sys.argv):
        meas = measure(*c)
        measured.append(meas)
        print(meas["case"], {k: {q: v for q, v in s.items() if q != "labels"}
                             for k, s in meas["results"].items()}, flush=True)
    print(table(rows_from(measured)))

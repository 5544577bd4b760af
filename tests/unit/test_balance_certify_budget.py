"""The certificate's answer depends only on its input: budgets in work, the clock a cap.

Every HiGHS call of the certificate stops at a node budget; the time limit only caps
the whole. So a slower machine (a clock that runs faster than the work, or real CPU
burners beside the solve) gives the same bound, cuts, nodes and answer, and when the
cap does bind the report says ``stopped_by: time_limit``. Bounds are checked against a
brute-force optimum (enumeration, contiguity by a BFS written here), never against the
solver's own flags.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections import deque

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

import components.balance.certify as cf
from components.balance import territory_balancing
from components.balance.solver import TerritoryBalancer, tolerance_bounds


def _grid(rows: int, cols: int) -> sp.csr_matrix:
    idx = np.arange(rows * cols).reshape(rows, cols)
    a = np.r_[idx[:, :-1].ravel(), idx[:-1, :].ravel()]
    b = np.r_[idx[:, 1:].ravel(), idx[1:, :].ravel()]
    g = sp.csr_matrix((np.ones(len(a)), (a, b)), shape=(rows * cols,) * 2)
    return (g + g.T).tocsr()


def _connected(graph: sp.csr_matrix, members: np.ndarray) -> bool:
    if len(members) == 0:
        return True
    inside, seen, todo = set(members.tolist()), {int(members[0])}, deque([int(members[0])])
    while todo:
        v = todo.popleft()
        for w in graph.indices[graph.indptr[v]:graph.indptr[v + 1]]:
            if int(w) in inside and int(w) not in seen:
                seen.add(int(w))
                todo.append(int(w))
    return len(seen) == len(inside)


def _brute_force(graph, metrics, centers, lower, upper) -> float:
    n, m = graph.shape[0], len(centers)
    dist = dijkstra(graph, directed=False, indices=centers)
    free = [j for j in range(n) if j not in set(centers.tolist())]
    best = np.inf
    for combo in itertools.product(range(m), repeat=len(free)):
        lab = np.empty(n, dtype=int)
        lab[centers] = np.arange(m)
        lab[free] = combo
        sums = np.zeros((m, metrics.shape[1]))
        np.add.at(sums, lab, metrics)
        if (sums < lower - 1e-9).any() or (sums > upper + 1e-9).any():
            continue
        if all(_connected(graph, np.flatnonzero(lab == t)) for t in range(m)):
            best = min(best, float((metrics[:, 0] * dist[lab, np.arange(n)]).sum()))
    return best


def _instance(seed: int = 1, rows: int = 8, cols: int = 8, m: int = 4):
    rng = np.random.default_rng(seed)
    n = rows * cols
    g = _grid(rows, cols)
    metrics = np.c_[rng.lognormal(0, 0.8, n), rng.uniform(1, 3, n)]
    coords = np.c_[np.arange(n) % cols, np.arange(n) // cols].astype(float)
    s = TerritoryBalancer(m, tolerance=0.05, seed=0).solve(g, metrics, coords=coords)
    return g, metrics, s, tolerance_bounds(metrics, m, 0.05)


def _fingerprint(cert: cf.Certificate) -> tuple:
    return (cert.bound, cert.cost, cert.rounds, cert.cuts, tuple(cert.nodes), cert.proven,
            cert.capped, None if cert.labels is None else cert.labels.tobytes(),
            tuple(cert.notes))


def test_the_node_budget_holds_for_every_highs_call():
    g, metrics, s, b = _instance(seed=0)
    cert = cf.certify(g, metrics, s.centers_, b, s.labels_, time_limit=600, nodes=20)
    assert cert is not None and not cert.capped
    assert len(cert.nodes) >= 3 and max(cert.nodes) <= 20  # (unbudgeted: 238 nodes)
    assert np.isfinite(cert.bound)


def test_a_slow_machine_gives_the_same_certificate(monkeypatch):
    """A clock running 5x faster than the work is a machine 5x slower: the budget, not
    the clock, decides, so everything but the seconds is identical."""
    g, metrics, s, b = _instance(seed=0)  # rounds of 60-240 nodes: HiGHS works a while
    quiet = cf.certify(g, metrics, s.centers_, b, s.labels_, time_limit=600)
    t0 = time.monotonic()
    monkeypatch.setattr(cf, "now", lambda: t0 + 5 * (time.monotonic() - t0))
    slow = cf.certify(g, metrics, s.centers_, b, s.labels_, time_limit=600)
    assert quiet is not None and slow is not None and not quiet.capped
    assert _fingerprint(slow) == _fingerprint(quiet)
    assert slow.seconds > quiet.seconds  # the clock was indeed slower


def test_cpu_burners_beside_the_certificate_change_nothing():
    """Really loaded: two processes spinning on the CPU while HiGHS runs."""
    g, metrics, s, b = _instance()
    quiet = cf.certify(g, metrics, s.centers_, b, s.labels_, time_limit=600)
    burners = [subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(2)]
    try:
        loaded = cf.certify(g, metrics, s.centers_, b, s.labels_, time_limit=600)
    finally:
        for p in burners:
            p.kill()
            p.wait()
    assert quiet is not None and loaded is not None
    assert _fingerprint(loaded) == _fingerprint(quiet)


def test_when_the_cap_binds_the_bound_still_holds_and_nothing_is_adopted(monkeypatch):
    g = _grid(3, 4)
    rng = np.random.default_rng(0)
    metrics = np.c_[rng.lognormal(0, 0.8, 12), rng.uniform(1, 3, 12)]
    centers = np.array([0, 5, 11])
    b = tolerance_bounds(metrics, 3, 0.15)
    opt = _brute_force(g, metrics, centers, b.lower, b.upper)
    labels = np.zeros(12, dtype=np.int64)
    full = cf.certify(g, metrics, centers, b, labels, time_limit=600)
    assert full is not None and not full.capped and full.bound <= opt * (1 + 1e-6)
    # each look at the clock: 7 more seconds. The star MILP runs (3 s left) and finishes
    # within its node budget, so its answer may stand; the rounds are cut
    ticks = iter(range(0, 10**6, 7))
    monkeypatch.setattr(cf, "now", lambda: float(next(ticks)))
    cut = cf.certify(g, metrics, centers, b, labels, time_limit=10)
    assert cut is not None and cut.capped and cut.rounds == 0
    assert any("time limit" in note for note in cut.notes)
    assert cut.bound <= opt * (1 + 1e-6)
    if cut.labels is not None:  # contiguous and balanced by our own checks
        assert all(_connected(g, np.flatnonzero(cut.labels == t)) for t in range(3))
        sums = np.zeros((3, 2))
        np.add.at(sums, cut.labels, metrics)
        assert ((sums >= b.lower - 1e-9) & (sums <= b.upper + 1e-9)).all()
        assert cut.cost >= opt * (1 - 1e-9)
    # 1000 s per look: nothing runs, nothing is adopted, and it says so
    ticks = iter(range(0, 10**8, 1000))
    monkeypatch.setattr(cf, "now", lambda: float(next(ticks)))
    none = cf.certify(g, metrics, centers, b, labels, time_limit=10)
    assert none is not None and none.capped and none.labels is None and none.nodes == []
    assert none.bound == -np.inf


def _grid_table(n_side: int = 8, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_side * n_side
    return pd.DataFrame({"id": [f"u{i:03d}" for i in range(n)], "x": np.arange(n) % n_side,
                         "y": np.arange(n) // n_side, "a": rng.lognormal(0, 0.8, n).round(3),
                         "b": rng.uniform(1, 3, n).round(3)})


def _grid_edges(n_side: int = 8) -> pd.DataFrame:
    g = sp.triu(_grid(n_side, n_side)).tocoo()
    return pd.DataFrame({"from_id": [f"u{i:03d}" for i in g.row],
                         "to_id": [f"u{j:03d}" for j in g.col]})


def _strip(report: dict) -> dict:
    """The report without what measures time."""
    out = {}
    for key, value in report.items():
        if "seconds" in key:
            continue
        out[key] = _strip(value) if isinstance(value, dict) else value
    return out


def test_the_component_reports_the_same_under_a_slow_clock_and_says_when_it_binds(
        monkeypatch):
    scus = _grid_table()
    kw = dict(edges=_grid_edges(), territories=4, metrics=["a", "b"], tolerance=0.05, seed=0,
              time_limit=600)
    quiet = territory_balancing(scus, **kw)
    t0 = time.monotonic()
    monkeypatch.setattr(cf, "now", lambda: t0 + 5 * (time.monotonic() - t0))
    slow = territory_balancing(scus, **kw)
    assert _strip(slow.report) == _strip(quiet.report)
    pd.testing.assert_frame_equal(slow.tables["assignments"], quiet.tables["assignments"])
    assert quiet.report["certificate"]["stopped_by_time_limit"] is False
    assert quiet.report["stopped_by"] != "time_limit"

    ticks = iter(range(0, 10**7, 1000))  # a machine so slow the cap binds at once
    monkeypatch.setattr(cf, "now", lambda: float(next(ticks)))
    bound = territory_balancing(scus, **kw)
    r = bound.report
    assert r["certificate"]["stopped_by_time_limit"] is True
    assert r["stopped_by"] == "time_limit"
    assert r["certificate"]["answer_used"] is False
    # the alignment is still the search's, balanced and contiguous by our own checks
    lab = bound.tables["assignments"].set_index("id").loc[scus["id"], "territory"].to_numpy()
    g = _grid(8, 8)
    for t in np.unique(lab):
        assert _connected(g, np.flatnonzero(lab == t))
    sums = scus.groupby(lab)[["a", "b"]].sum() / (scus[["a", "b"]].sum() / 4)
    assert ((sums >= 0.95 - 1e-9) & (sums <= 1.05 + 1e-9)).all().all() \
        or r["status"] == "tolerance_not_met"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))

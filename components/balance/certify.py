"""A certified bound for small maps: the balance MIP with contiguity cuts (HiGHS).

The LP relaxation without contiguity lies a few percent under the optimum on county
maps with fixed centers (Georgia, 10 territories, 2 metrics: 3.1 % under the best
contiguous alignment), because balanced territories that ignore contiguity are much
cheaper. Tighter and still valid for *every* contiguous alignment:

1. the integer program without contiguity (its HiGHS dual bound is a lower bound);
2. then, while rounds remain, for every territory ``i`` the solution splits, each
   piece ``C`` cut off from the center and its neighbourhood ``N(C)`` give the
   separator inequalities ``x_ij <= sum_{p in N(C)} x_ip`` for ``j in C``: a
   contiguous territory holding ``j`` holds some unit of every set separating ``j``
   from its center (Oehrlein & Haunert 2017; Validi, Buchanan & Lykhovyd 2022).
   They cut the split solution off and no contiguous one, so the next MIP's dual
   bound is still valid, and higher. A contiguous MIP solution is optimal.

The primal side: the star-shaped MILP of :mod:`components.balance.exact` (an upper
bound, every answer contiguous) when it proves its optimum in its share of time.

Budgets are work, never shares of time: ``rounds`` cut rounds, and every HiGHS call
(the star-shaped MILP and each round's MIP) stops at ``nodes`` branch-and-bound nodes
(HiGHS's MIP search is deterministic, so the same input gives the same bound, cuts and
answer on a quiet or a loaded machine). The time limit is only a cap over all of it: a
call it cuts short still gives a valid bound, but its incumbent is not used (it would
depend on the machine's speed), and ``capped`` says so, which the report turns into
``stopped_by: time_limit``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds as VarBounds
from scipy.optimize import LinearConstraint

from components.balance.contiguity import contiguous_flags, territory_parts
from components.balance.exact import solve_exact
from components.balance.exact_model import build_model
from components.highs import milp_walled

MAX_PAIRS = 6_000   # territory-unit pairs up to which the MIPs are tried
ROUNDS = 2          # separator-cut rounds
NODES = 2_000       # branch-and-bound nodes per HiGHS call: a budget in work, not time

now: Callable[[], float] = time.monotonic  # the clock (tests inject a slow one)


@dataclass
class Certificate:
    bound: float                   # valid lower bound on the model cost (-inf: none)
    labels: np.ndarray | None      # best contiguous, balanced labels found by HiGHS
    cost: float                    # model cost of ``labels`` (inf when None)
    rounds: int = 0
    cuts: int = 0
    proven: bool = False           # a contiguous MIP optimum: the bound is the optimum
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    model: dict = field(default_factory=dict, repr=False)
    capped: bool = False           # the time limit cut a HiGHS call or a round short
    nodes: list[int] = field(default_factory=list)  # B&B nodes per HiGHS call (work done)


def model_cost(model: dict, labels: np.ndarray) -> float:
    return float(model["cost"][labels, np.arange(model["n"])].sum())


def _balanced(model: dict, labels: np.ndarray) -> bool:
    sums = np.zeros((model["m"], model["k"]))
    np.add.at(sums, labels, model["metrics"])
    lo, hi = model["lower"], model["upper"]
    return bool(((sums >= lo - 1e-9 * np.abs(lo) - 1e-9)
                 & (sums <= hi + 1e-9 * np.abs(hi) + 1e-9)).all())


def _labels(model: dict, x: np.ndarray) -> np.ndarray:
    val = np.full((model["m"], model["n"]), -1.0)
    val[model["pair_i"], model["pair_j"]] = x
    return np.argmax(val, axis=0).astype(np.int64)


def _separators(graph: sp.csr_matrix, labels: np.ndarray, centers: np.ndarray,
                pair: np.ndarray) -> list[np.ndarray]:
    """One row of coefficients (as column, value pairs) per cut the split pieces give."""
    parts = territory_parts(graph, labels)
    n = len(labels)
    cuts: list[np.ndarray] = []
    for i in np.flatnonzero(~contiguous_flags(graph, labels, len(centers))):
        home = parts[centers[i]]
        for piece in np.unique(parts[labels == i]):
            if piece == home:
                continue
            members = np.flatnonzero(parts == piece)
            inside = np.zeros(n, dtype=bool)
            inside[members] = True
            ring = np.unique(graph[members].indices)
            ring = ring[~inside[ring]]
            ring_cols = pair[i, ring]
            ring_cols = ring_cols[ring_cols >= 0]
            for j in members:
                if pair[i, j] >= 0:
                    cuts.append(np.r_[pair[i, j], ring_cols])
    return cuts


def certify(graph: sp.csr_matrix, metrics: np.ndarray, centers: np.ndarray, bounds,
            labels: np.ndarray, *, weights=None, current=None, disruption_weight: float = 0.0,
            locked=None, max_distance=None, time_limit: float = 30.0, rounds: int = ROUNDS,
            nodes: int = NODES, star: bool = True) -> Certificate | None:
    """Bound (and maybe improve) ``labels`` for these centers; None when too big.

    ``rounds`` and ``nodes`` are the budget; ``time_limit`` (seconds on :data:`now`) only
    caps it, and ``capped`` tells when it did."""
    start = now()
    kw = dict(weights=weights, current=current, disruption_weight=disruption_weight,
              locked=locked, max_distance=max_distance)
    model = build_model(graph, metrics, centers, bounds, contiguity=False, **kw)
    nv = len(model["c"])
    if nv > MAX_PAIRS or model["reason"]:
        return None
    cert = Certificate(-np.inf, None, np.inf, model=model)

    def left() -> float:
        return time_limit - (now() - start)

    def offer(cand: np.ndarray) -> None:
        if _balanced(model, cand) and contiguous_flags(graph, cand, model["m"]).all():
            c = model_cost(model, cand)
            if c < cert.cost - 1e-9 * max(1.0, abs(c)):
                cert.labels, cert.cost = cand, c

    if star:
        if left() <= 0:
            cert.capped = True
            cert.notes.append("star-shaped MILP not run (time limit)")
        else:
            # the whole remaining time is only its cap: its budget is the node limit
            ex = solve_exact(graph, metrics, centers, bounds, time_limit=left(),
                             node_limit=nodes, **kw)
            timed = _timed(str(ex.info.get("message", "")) + ex.reason)
            cert.capped |= timed
            cert.nodes.append(int(ex.info.get("nodes") or 0))
            # an incumbent cut short by the clock depends on the machine's speed: not used
            if ex.labels is not None and not timed:
                offer(ex.labels)
            cert.notes.append(f"star-shaped MILP {ex.status}"
                              + (" (time limit)" if timed else ""))
    pair = np.full((model["m"], model["n"]), -1, dtype=np.int64)
    pair[model["pair_i"], model["pair_j"]] = np.arange(nv)
    rows: list[np.ndarray] = []
    a, rlo, rhi = model["A"], model["row_lb"], model["row_ub"]
    centers = np.asarray(centers, dtype=np.int64)
    for r in range(rounds + 1):
        if left() <= 0:
            cert.notes.append(f"time limit before round {r}")
            cert.capped = True
            break
        if rows:
            data = np.concatenate([np.r_[1.0, -np.ones(len(c) - 1)] for c in rows])
            rr = np.repeat(np.arange(len(rows)), [len(c) for c in rows])
            cut = sp.csr_matrix((data, (rr, np.concatenate(rows))), shape=(len(rows), nv))
            a_r = sp.vstack([a, cut]).tocsr()
            lo_r, hi_r = np.r_[rlo, np.full(len(rows), -np.inf)], np.r_[rhi, np.zeros(len(rows))]
        else:
            a_r, lo_r, hi_r = a, rlo, rhi
        res: Any = milp_walled(model["c"], integrality=np.ones(nv),
                               bounds=VarBounds(model["lb"], np.ones(nv)),
                               constraints=LinearConstraint(a_r, lo_r, hi_r), wall=left(),
                               options={"mip_rel_gap": 1e-4, "presolve": True,
                                        "node_limit": nodes})
        if res is None:  # killed at the wall before HiGHS answered
            cert.capped = True
            cert.notes.append(f"time limit in round {r}")
            break
        cert.nodes.append(int(res.mip_node_count or 0))
        if _timed(str(res.message)):
            cert.capped = True  # the bound still holds; its solution is not used
            cert.notes.append(f"time limit in round {r}")
        if res.status == 2:  # no balanced assignment at all, contiguous or not
            cert.bound = np.inf
            cert.notes.append("infeasible")
            break
        b = res.mip_dual_bound
        if b is not None and np.isfinite(b):
            cert.bound = max(cert.bound, float(b))
        cert.rounds = r
        if res.x is None:
            break
        sol = _labels(model, res.x)
        new = _separators(graph, sol, centers, pair)
        if not new:
            if not cert.capped:
                offer(sol)
            cert.proven = res.status == 0 and cert.labels is not None \
                and cert.cost <= float(res.fun) * (1 + 1e-4) + 1e-9
            break
        rows.extend(new)
        cert.cuts = len(rows)
    cert.seconds = now() - start
    return cert


def _timed(message: str) -> bool:
    """HiGHS stopped by its time limit (not by the node budget)."""
    return "time limit" in message.lower()


def adopt(solver, labels: np.ndarray, graph: sp.csr_matrix, metrics: np.ndarray,
          current: np.ndarray | None) -> None:
    """Make ``labels`` the solver's answer (distances, totals, contiguity, moves)."""
    from scipy.sparse.csgraph import dijkstra

    n = len(labels)
    dist = dijkstra(graph, directed=False, indices=solver.centers_)
    solver.labels_ = labels
    solver.distances_ = dist[labels, np.arange(n)]
    w = solver._w_user if solver.objective == "compactness" else 1.0
    solver.objective_ = float((w * solver.distances_).sum())
    solver.totals_ = np.zeros_like(solver.totals_)
    np.add.at(solver.totals_, labels, metrics)
    solver.contiguous_ = contiguous_flags(graph, labels, solver.n_territories)
    scale = np.maximum(metrics.sum(axis=0) / solver.n_territories, 1e-300)
    b = solver.bounds_
    over = np.maximum(solver.totals_ - b.upper, 0) + np.maximum(b.lower - solver.totals_, 0)
    solver.violation_ = float((over / scale).sum())
    if solver.moved_share_ is not None and current is not None:
        a = metrics[:, 0]
        leaves = (labels != current) & (current >= 0)  # new units do not move
        solver.moved_share_ = float(a[leaves].sum() / max(a.sum(), 1e-300))


def apply(solver, cert: Certificate, model_cost_of_answer: float) -> None:
    """Take the certificate's bound (if higher) and restate gap and status."""
    if np.isfinite(cert.bound) and cert.bound > solver.bound_:
        solver.bound_ = float(cert.bound)
        solver.bound_kind_ = "mip_separator_cuts"
    solver.cost_objective_ = float(model_cost_of_answer)
    if solver.status_ in ("optimal", "feasible"):
        c = solver.cost_objective_
        solver.gap_ = max(0.0, (c - solver.bound_) / abs(c)) if c > 0 else 0.0
        solver.status_ = "optimal" if solver.gap_ <= 1e-6 else "feasible"

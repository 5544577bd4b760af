"""The smallest tolerance proven necessary, from the exact model (HiGHS).

When a run misses its tolerance the user needs to know what is achievable. The LP of
:func:`components.balance.lp.min_tolerance` proves a floor for split assignments; the
integer model proves a higher one::

    minimise    t
    subject to  sum_i x_ij = 1,  x_ij in {0, 1}  (the pairs the exact model allows)
                (1 - t) T_ik <= sum_j a_jk x_ij <= (1 + t) T_ik

HiGHS's dual bound on ``t`` holds for every assignment with these centers, contiguous or
not, so no alignment can be within a smaller common tolerance on every metric. Its budget
is a node count (the time limit only a cap), so the figure does not depend on the machine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds as VarBounds
from scipy.optimize import LinearConstraint

from components.balance.exact_model import build_model
from components.highs import milp_walled

MAX_PAIRS = 6_000
NODES = 2_000


def proven_tolerance(graph: sp.csr_matrix, metrics: np.ndarray, centers: np.ndarray,
                     bounds: Any, *, locked: np.ndarray | None = None,
                     max_distance: Any = None, time_limit: float = 10.0,
                     nodes: int = NODES) -> dict[str, Any] | None:
    """``{"tolerance": t, "optimal": bool, "capped": bool, "nodes": int}`` or None (too big,
    or HiGHS gave nothing). ``tolerance`` is a valid floor even when not optimal."""
    model = build_model(graph, metrics, centers, bounds, contiguity=False, locked=locked,
                        max_distance=max_distance)
    nv, n, m, k = len(model["c"]), model["n"], model["m"], model["k"]
    if nv > MAX_PAIRS or model["reason"] or time_limit <= 0:
        return None
    target = np.asarray(bounds.target, dtype=float).reshape(m * k)
    a = model["A"].tocsr()
    assign, bal = a[:n], a[n:n + m * k]  # rows: unit j; then territory i, metric q at i*k+q
    t_col = sp.csr_matrix(target.reshape(-1, 1))
    rows = sp.vstack([sp.hstack([assign, sp.csr_matrix((n, 1))]),
                      sp.hstack([bal, -t_col]), sp.hstack([bal, t_col])]).tocsr()
    lo = np.r_[np.ones(n), np.full(m * k, -np.inf), target]
    hi = np.r_[np.ones(n), target, np.full(m * k, np.inf)]
    c = np.r_[np.zeros(nv), 1.0]
    res: Any = milp_walled(c, integrality=np.r_[np.ones(nv), 0.0],
                           bounds=VarBounds(np.r_[model["lb"], 0.0], np.r_[np.ones(nv), np.inf]),
                           constraints=LinearConstraint(rows, lo, hi), wall=time_limit,
                           options={"mip_rel_gap": 1e-6, "presolve": True, "node_limit": nodes})
    if res is None or res.status == 2:
        return None
    bound = res.mip_dual_bound
    if bound is None or not np.isfinite(bound):
        return None
    return {"tolerance": max(0.0, float(bound)), "optimal": res.status == 0,
            "capped": "time limit" in str(res.message).lower(),
            "nodes": int(res.mip_node_count or 0)}

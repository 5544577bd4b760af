"""Exact models solved by HiGHS (``scipy.optimize.milp``) under a time limit.

Three formulations, each used where it is strongest:

* :func:`median_levels`: the p-median family (also max coverage on 0/1 costs) in
  the covering form of Elloumi (2010). For point ``i`` with distinct sorted costs
  ``D_i1 < ... < D_iK``, ``z_ik = 1`` when no open site costs ``<= D_ik``::

      min  sum_i D_i1 + sum_ik (D_i,k+1 - D_ik) z_ik + sum_j f_j y_j
      s.t. z_i1 + sum_{j: C_ij = D_i1} y_j >= 1
           z_ik - z_i,k-1 + sum_{j: C_ij = D_ik} y_j >= 0      (k >= 2)
           sum_j y_j = p  (or <= p),  budget, group limits,  y binary, z >= 0

  Its LP bound equals the classical one, with one constraint per distinct cost, and
  rows stop at the cheapest site known to be open (required or fixed by the
  Lagrangian test), which shrinks the model a lot.
* :func:`assignment_model`: the classical ``x_ij`` model for what the covering form
  cannot say: min/max loads with single sourcing, closest assignment (Kalcsics et
  al.'s aggregated valid form ``sum_{k <=_i j} x_ik >= y_j``, ``<=_i`` = cost order,
  ties by site id; equivalent to ``y_j + sum_{k >_i j} x_ik <= 1``), points left out
  (``v_i``) at a penalty.
* :func:`set_cover`: fewest sites covering every point (also each p-center test).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint

STATUS = {0: "optimal", 1: "time_limit", 2: "infeasible", 3: "unbounded", 4: "error"}


@dataclass
class MilpResult:
    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    open: np.ndarray | None  # site indices
    x: np.ndarray | None = None
    seconds: float = 0.0
    size: tuple[int, int, int] = (0, 0, 0)  # variables, constraints, nonzeros


@dataclass
class SiteSide:
    """Location-side constraints shared by the models."""

    p: int | None
    at_most: bool
    fixed_open: np.ndarray  # bool (m,)
    closed: np.ndarray  # bool (m,)
    opening: np.ndarray | None = None
    budget: float | None = None
    budget_cost: np.ndarray | None = None
    group: np.ndarray | None = None
    group_max: np.ndarray | None = None


def _site_rows(side: SiteSide, m: int, ny: int, offset: int, total: int, sites: np.ndarray):
    """Constraints on y (columns offset..offset+ny of a model with ``total`` variables)."""
    rows = []
    cols = offset + np.arange(ny)
    if side.p is not None:
        a = sp.csr_matrix((np.ones(ny), (np.zeros(ny), cols)), shape=(1, total))
        rows.append(LinearConstraint(a, -np.inf if side.at_most else side.p, side.p))
    if side.budget is not None and side.budget_cost is not None:
        a = sp.csr_matrix((side.budget_cost[sites], (np.zeros(ny), cols)), shape=(1, total))
        rows.append(LinearConstraint(a, -np.inf, side.budget))
    if side.group is not None and side.group_max is not None:
        g = side.group[sites]
        has = g >= 0
        if has.any():
            a = sp.csr_matrix((np.ones(int(has.sum())), (g[has], cols[has])),
                              shape=(len(side.group_max), total))
            rows.append(LinearConstraint(a, -np.inf, side.group_max.astype(float)))
    return rows


def _solve(c, integrality, lb, ub, constraints, time_limit, gap, sites, ny, offset,
           nnz, node_limit: int | None = None) -> MilpResult:
    import time

    from components.highs import milp_walled

    t0 = time.monotonic()
    size = (len(c), sum(cn.A.shape[0] for cn in constraints), nnz)
    options = {"mip_rel_gap": gap, "disp": False, "presolve": True}
    if node_limit is not None:  # a work budget: the same verdict however busy the machine
        options["node_limit"] = int(node_limit)
    res: Any = milp_walled(c, integrality=integrality, bounds=Bounds(lb, ub),
                      constraints=constraints, wall=max(float(time_limit), 0.05),
                      options=options)
    if res is None:  # the wall came first: no answer, the heuristic's stands
        return MilpResult("time_limit", None, None, None, None, None,
                          time.monotonic() - t0, size)
    status = STATUS.get(res.status, "error")
    if res.status == 4 and "limit reached" in str(res.message).lower():
        status = "node_limit"  # scipy does not know HiGHS's node limit: a budget stop
    seconds = time.monotonic() - t0
    if res.x is None:
        return MilpResult(status, None, _proven_bound(res, status, lp=not np.any(integrality)),
                          None, None, None, seconds, size)
    y = res.x[offset:offset + ny]
    bound = _proven_bound(res, status, lp=not np.any(integrality))
    gap_v = getattr(res, "mip_gap", None)
    return MilpResult(status, float(res.fun), bound,
                      float(gap_v) if gap_v is not None and np.isfinite(gap_v) else None,
                      sites[y > 0.5], res.x, seconds, size)


def _proven_bound(res, status: str, *, lp: bool) -> float | None:
    """The bound HiGHS proved, never its incumbent.

    A MILP cut short proves its dual bound (``mip_dual_bound``); an LP cut short proves
    nothing (its objective is that of a basis that is not optimal). Only a finished
    solve may fall back to its objective when no dual bound is reported.
    """
    if status not in ("optimal", "time_limit", "node_limit"):
        return None
    if lp:
        return float(res.fun) if status == "optimal" and res.fun is not None else None
    bound = getattr(res, "mip_dual_bound", None)
    if bound is not None and np.isfinite(bound):
        return float(bound)
    return float(res.fun) if status == "optimal" and res.fun is not None else None


def median_levels(costs: np.ndarray, side: SiteSide, *, time_limit: float,
                  gap: float = 1e-7) -> MilpResult:
    """Exact p-median (with opening costs, budget, groups) in Elloumi's covering form."""
    n, m = costs.shape
    sites = np.flatnonzero(~side.closed)
    ny = len(sites)
    sub = costs[:, sites]
    order = np.argsort(sub, axis=1, kind="stable")
    vals = np.take_along_axis(sub, order, axis=1)
    new = np.ones_like(vals, dtype=bool)
    new[:, 1:] = vals[:, 1:] > vals[:, :-1]
    level = np.cumsum(new, axis=1) - 1  # per pair, 0-based
    n_levels = level[:, -1] + 1
    forced = side.fixed_open[sites][order]
    if forced.any():
        cut = np.where(forced.any(axis=1), np.where(forced, level, n_levels[:, None]).min(axis=1),
                       n_levels - 1)
    else:
        cut = n_levels - 1
    # z for levels 0..cut-1 of each row; constraint rows likewise
    nz = cut  # per row
    zoff = np.concatenate([[0], np.cumsum(nz)])[:-1]
    total_z = int(nz.sum())
    nvar = total_z + ny
    keep = level < cut[:, None]  # pairs whose level has a constraint row
    ri, ci = np.nonzero(keep)
    row_of = zoff[ri] + level[ri, ci]
    y_col = total_z + order[ri, ci]
    # z_ik (+1) and -z_i,k-1 for k >= 1
    zr = np.arange(total_z)
    zrow_i = np.repeat(np.arange(n), nz)
    zk = zr - zoff[zrow_i]
    prev = zk >= 1
    data = np.concatenate([np.ones(len(row_of)), np.ones(total_z), -np.ones(int(prev.sum()))])
    r_all = np.concatenate([row_of, zr, zr[prev]])
    c_all = np.concatenate([y_col, zr, zr[prev] - 1])
    a = sp.csr_matrix((data, (r_all, c_all)), shape=(total_z, nvar))
    lo = np.where(zk == 0, 1.0, 0.0)
    constraints = [LinearConstraint(a, lo, np.inf)] if total_z else []
    constraints += _site_rows(side, m, ny, total_z, nvar, sites)
    # objective: z of level k pays the jump to level k + 1
    diffs = np.zeros(total_z)
    li, lj = np.nonzero(new)
    lvl, v = level[li, lj], vals[li, lj]
    jump = np.r_[v[1:] - v[:-1], 0.0]
    ok = np.r_[li[1:] == li[:-1], False] & (lvl < cut[li])
    diffs[zoff[li[ok]] + lvl[ok]] = jump[ok]
    c = np.concatenate([diffs, side.opening[sites] if side.opening is not None
                        else np.zeros(ny)])
    lb = np.zeros(nvar)
    ub = np.ones(nvar)
    lb[total_z:][side.fixed_open[sites]] = 1.0
    integrality = np.concatenate([np.zeros(total_z), np.ones(ny)])
    res = _solve(c, integrality, lb, ub, constraints, time_limit, gap, sites, ny, total_z,
                 a.nnz)
    const = float(vals[:, 0].sum())
    if res.objective is not None:
        res.objective += const
    if res.bound is not None:
        res.bound += const
    return res


def assignment_model(costs: np.ndarray, allowed: np.ndarray, side: SiteSide, *,
                     demand: np.ndarray, lower: np.ndarray | None, upper: np.ndarray | None,
                     closest: bool, rank: np.ndarray, out_cost: np.ndarray | None,
                     out_in_closest: bool, time_limit: float,
                     gap: float = 1e-7, node_limit: int | None = None) -> MilpResult:
    """Classical model: x_ij (allowed pairs), optional v_i (left out), y_j.

    ``out_cost[i]`` is the cost of leaving point ``i`` out (``inf``: it must be served).
    Returns ``x`` as the site index per point (-1 when left out) in ``MilpResult.x``.
    """
    n, m = costs.shape
    sites = np.flatnonzero(~side.closed)
    ny = len(sites)
    pos = -np.ones(m, dtype=np.int64)
    pos[sites] = np.arange(ny)
    ok = allowed & ~side.closed[None, :]
    pi, pj = np.nonzero(ok)
    npair = len(pi)
    has_v = np.isfinite(out_cost) if out_cost is not None else np.zeros(n, dtype=bool)
    vi = np.flatnonzero(has_v)
    nv = len(vi)
    _x0, v0, y0 = 0, npair, npair + nv
    nvar = npair + nv + ny
    cons = []
    # each point served once (or left out)
    a = sp.csr_matrix((np.ones(npair + nv), (np.concatenate([pi, vi]),
                                             np.concatenate([np.arange(npair),
                                                             v0 + np.arange(nv)]))),
                      shape=(n, nvar))
    cons.append(LinearConstraint(a, 1.0, 1.0))
    # x_ij <= y_j
    r = np.arange(npair)
    a = sp.csr_matrix((np.concatenate([np.ones(npair), -np.ones(npair)]),
                       (np.concatenate([r, r]), np.concatenate([r, y0 + pos[pj]]))),
                      shape=(npair, nvar))
    cons.append(LinearConstraint(a, -np.inf, 0.0))
    nnz = 2 * npair + npair + nv
    if lower is not None or upper is not None:
        rows = np.concatenate([pos[pj], np.arange(ny)])
        lo_v = np.zeros(ny) if lower is None else lower[sites]
        hi_v = np.full(ny, np.inf) if upper is None else upper[sites]
        # an unlimited site still holds at most the total demand: without this an
        # infinite capacity became a zero y-coefficient, i.e. load <= 0 (infeasible)
        hi_v = np.minimum(hi_v, float(demand.sum()))
        for bound, sign in ((hi_v, -1.0), (lo_v, -1.0)):
            finite = np.isfinite(bound)
            coef_y = np.where(finite, bound * sign, 0.0)
            a = sp.csr_matrix((np.concatenate([demand[pi], coef_y]),
                               (rows, np.concatenate([np.arange(npair), y0 + np.arange(ny)]))),
                              shape=(ny, nvar))
            if bound is hi_v:
                cons.append(LinearConstraint(a, -np.inf, 0.0))
            else:
                cons.append(LinearConstraint(a, 0.0, np.inf))
        nnz += 2 * (npair + ny)
    if closest:
        # sum_{k <=_i j} x_ik (+ v_i) >= y_j for every allowed pair (i, j)
        key = np.lexsort((rank[pj], costs[pi, pj], pi))
        pi_s, pj_s, x_s = pi[key], pj[key], np.arange(npair)[key]
        starts = np.flatnonzero(np.r_[True, pi_s[1:] != pi_s[:-1]])
        counts = np.diff(np.r_[starts, npair])
        rr, cc = [], []
        row = 0
        for s, c in zip(starts, counts, strict=True):
            # row t of this point holds its first t+1 pairs: a lower-triangular block
            tri_r, tri_c = np.tril_indices(c)
            rr.append(row + tri_r)
            cc.append(x_s[s + tri_c])
            row += c
        rows_x = np.concatenate(rr) if rr else np.zeros(0, int)
        cols_x = np.concatenate(cc) if cc else np.zeros(0, int)
        data = [np.ones(len(rows_x)), -np.ones(npair)]
        rws = [rows_x, np.arange(npair)]
        cls = [cols_x, y0 + pos[pj_s]]
        if out_in_closest and nv:
            vpos = -np.ones(n, dtype=np.int64)
            vpos[vi] = np.arange(nv)
            with_v = vpos[pi_s] >= 0
            data.append(np.ones(int(with_v.sum())))
            rws.append(np.arange(npair)[with_v])
            cls.append(v0 + vpos[pi_s[with_v]])
        a = sp.csr_matrix((np.concatenate(data), (np.concatenate(rws), np.concatenate(cls))),
                          shape=(npair, nvar))
        cons.append(LinearConstraint(a, 0.0, np.inf))
        nnz += a.nnz
    cons += _site_rows(side, m, ny, y0, nvar, sites)
    if nv and upper is not None and side.p is not None:
        # Capacities below total demand: the LP leaves out exactly the excess, fractionally,
        # while whole points must go; with a large penalty that bin-packing gap is what
        # HiGHS branched on for seconds even on 12 points. Any p open sites pack at most
        # what the p largest capacities can hold (W*, a small packing model whose dual bound
        # is valid), so at least total - W* must stay out: one valid row that closes it.
        caps = np.sort(upper[sites][np.isfinite(upper[sites])])[::-1][:side.p]
        total = float(demand.sum())
        if len(caps) == side.p and caps.sum() < total:
            packable = _packable(demand, caps, max(0.2 * time_limit, 0.05))
            if packable < total - 1e-9:
                row = sp.csr_matrix((demand[vi], (np.zeros(nv, int), v0 + np.arange(nv))),
                                    shape=(1, nvar))
                cons.append(LinearConstraint(row, total - packable - 1e-9 * total, np.inf))
    c = np.concatenate([costs[pi, pj], out_cost[vi] if nv and out_cost is not None
                        else np.zeros(0),
                        side.opening[sites] if side.opening is not None else np.zeros(ny)])
    lb, ub = np.zeros(nvar), np.ones(nvar)
    lb[y0:][side.fixed_open[sites]] = 1.0
    integrality = np.ones(nvar)
    res = _solve(c, integrality, lb, ub, cons, time_limit, gap, sites, ny, y0, nnz,
                 node_limit)
    if res.x is not None:
        xs = res.x
        assign = -np.ones(n, dtype=np.int64)
        chosen = xs[:npair] > 0.5
        assign[pi[chosen]] = pj[chosen]
        res.x = assign
    return res


def _packable(weights: np.ndarray, caps: np.ndarray, time_limit: float) -> float:
    """Upper bound on the weight that bins ``caps`` can hold (items whole, one bin each).

    A multiple-knapsack MILP; bins of equal capacity are interchangeable, so item ``i``
    may only use the first ``i + 1`` bins of each run of equal capacities (symmetry
    breaking). Its dual bound is returned, so a time-out still gives a valid bound.
    """
    from components.highs import milp_walled

    n, b = len(weights), len(caps)
    ii, bb = np.meshgrid(np.arange(n), np.arange(b), indexing="ij")
    first = np.r_[0, np.flatnonzero(np.diff(caps) != 0) + 1]
    run_start = first[np.searchsorted(first, np.arange(b), side="right") - 1]
    keep = (bb - run_start[bb] <= ii) & (weights[ii] <= caps[bb] + 1e-12)
    ii, bb = ii[keep], bb[keep]
    k = len(ii)
    if k == 0:
        return 0.0
    cols = np.arange(k)
    a1 = sp.csr_matrix((np.ones(k), (ii, cols)), shape=(n, k))
    a2 = sp.csr_matrix((weights[ii], (bb, cols)), shape=(b, k))
    res: Any = milp_walled(-weights[ii], integrality=np.ones(k), bounds=Bounds(0, 1),
                      constraints=[LinearConstraint(a1, 0, 1), LinearConstraint(a2, 0, caps)],
                      wall=time_limit, options={"mip_rel_gap": 1e-9, "disp": False})
    total = float(min(weights.sum(), caps.sum()))
    if res is None:
        return total
    bound = res.mip_dual_bound if res.mip_dual_bound is not None else res.fun
    if bound is None or not np.isfinite(bound):
        return total
    return min(total, -float(bound) + 1e-9 * total)


def set_cover(cover: sp.csr_matrix, side: SiteSide, *, time_limit: float, relax: bool = False,
              gap: float = 1e-9, feasibility: bool = False,
              node_limit: int | None = None) -> MilpResult:
    """Fewest sites with every row covered; ``relax``: LP bound.

    ``feasibility``: any cover within the site limits (``side.p`` as "at most p"); HiGHS
    stops at the first one, and status ``infeasible`` proves that none exists.
    """
    n, m = cover.shape
    sites = np.flatnonzero(~side.closed)
    ny = len(sites)
    a = cover[:, sites].astype(float).tocsr()
    cons = [LinearConstraint(a, 1.0, np.inf)] if n else []
    cons += _site_rows(SiteSide(side.p, True, side.fixed_open, side.closed, side.opening,
                                side.budget, side.budget_cost, side.group, side.group_max)
                       if side.p is not None else side, m, ny, 0, ny, sites)
    c = np.zeros(ny) if feasibility else np.ones(ny)
    lb, ub = np.zeros(ny), np.ones(ny)
    lb[side.fixed_open[sites]] = 1.0
    integrality = np.zeros(ny) if relax else np.ones(ny)
    return _solve(c, integrality, lb, ub, cons, time_limit, gap, sites, ny, 0, a.nnz,
                  None if relax else node_limit)

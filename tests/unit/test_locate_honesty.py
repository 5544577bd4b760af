"""Location allocation never claims more than it proved (issues #13, #19).

HiGHS is replaced by a stand-in that behaves like a HiGHS whose time limit cut every
solve short: LPs come back unfinished with nothing proven; MILPs come back unfinished
with (``incumbent``) the true optimum as incumbent but only half the LP relaxation as
proven bound, or (``nothing``) no incumbent at all. Every reported bound must then stay at or
below the brute-force optimum, and no strategy may say ``optimal`` on instances where no
other proof (Lagrangian, trivial bound) can close the gap: each test checks that
precondition with its own oracle first.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.optimize as so
import scipy.sparse as sp
from scipy.spatial.distance import cdist

import components.highs as highs
from components.locate import LocationAllocator


def instance(n: int, seed: int):
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 100, (n, 2))
    return pts, rng.uniform(4, 8, n), np.round(cdist(pts, pts))


def cut_short_highs(mode: str):
    """A HiGHS stand-in whose every solve stopped at its time limit."""
    real = so.milp

    def milp(c, *, integrality=None, bounds=None, constraints=None, options=None):
        integer = integrality is not None and np.any(integrality)
        unfinished = so.OptimizeResult(x=None, fun=None, status=1, success=False,
                                       message="stand-in: time limit reached",
                                       mip_gap=None, mip_dual_bound=None)
        if not integer:
            return unfinished  # an LP cut short proves nothing
        relaxed = real(c, integrality=np.zeros(len(c)), bounds=bounds,
                       constraints=constraints)
        if relaxed.status == 0 and np.all(np.asarray(c) >= 0):
            # cut short before its root LP closed: a valid bound, weaker than the LP
            # (half of it, as the objective is >= 0). The full LP value would itself prove
            # the small p-center thresholds (set-cover LP > p), leaving nothing to test.
            unfinished.mip_dual_bound = 0.5 * float(relaxed.fun)
        if mode == "incumbent":
            full = real(c, integrality=integrality, bounds=bounds, constraints=constraints)
            if full.status == 0:
                unfinished.x, unfinished.fun = full.x, float(full.fun)
        return unfinished

    return milp


@pytest.fixture(params=["incumbent", "nothing"])
def stand_in(request, monkeypatch):
    # milp_walled forks: the child inherits the patched module attribute
    monkeypatch.setattr(highs, "milp", cut_short_highs(request.param))
    return request.param


def lp_pmedian(c: np.ndarray, p: int) -> float:
    """LP relaxation of the classical p-median model (the oracle's bound)."""
    n, m = c.shape
    nx = n * m
    one = sp.hstack([sp.kron(sp.eye(n), np.ones((1, m))), sp.csr_matrix((n, m))])
    link = sp.hstack([sp.eye(nx), -sp.kron(np.ones((n, 1)), sp.eye(m))])
    count = sp.hstack([sp.csr_matrix((1, nx)), np.ones((1, m))])
    res = so.milp(np.r_[c.ravel(), np.zeros(m)], bounds=so.Bounds(0, 1), constraints=[
        so.LinearConstraint(one, 1, 1), so.LinearConstraint(link, -np.inf, 0),
        so.LinearConstraint(count, p, p)])
    return float(res.fun)


def check_bound(la: LocationAllocator, optimum: float) -> None:
    assert la.lower_bound_ <= optimum + 1e-6 * max(1.0, abs(optimum))
    assert la.objective_ >= optimum - 1e-6 * max(1.0, abs(optimum))
    assert la.status_ != "optimal"
    assert la.gap_ is not None and la.gap_ > 0


def test_pmedian_unfinished_highs_is_not_optimal(stand_in):
    _pts, w, d = instance(12, 35)
    c = d * w[:, None]
    best = min(c[:, list(s)].min(axis=1).sum() for s in itertools.combinations(range(12), 3))
    assert lp_pmedian(c, 3) < best * (1 - 1e-3)  # precondition: no LP/Lagrangian proof
    for exact in ("always", "auto"):
        la = LocationAllocator("min_total_cost", 3, exact=exact, time_limit=20).solve(d, w)
        check_bound(la, best)


def test_pcenter_unfinished_set_covers_do_not_raise_the_bound(stand_in):
    # issue #19: a set cover cut short was read as "needs more than p sites"
    for seed, p in ((3, 3), (8, 4)):
        _pts, _w, d = instance(14, seed)
        best = min(d[:, list(s)].min(axis=1).max()
                   for s in itertools.combinations(range(14), p))
        assert d.min(axis=1).max() < best  # precondition: the trivial bound is below
        la = LocationAllocator("min_max_cost", p, exact="always", time_limit=20).solve(d)
        check_bound(la, best)
        assert la.objective_ == best  # the heuristic still finds the optimum here


def cpmp_optimum(c: np.ndarray, a: np.ndarray, cap: float, p: int) -> float:
    """The oracle's own capacitated p-median model, solved by the real HiGHS (the stand-in
    replaces only the module attribute the solver calls)."""
    n, m = c.shape
    nx = n * m
    one = sp.hstack([sp.kron(sp.eye(n), np.ones((1, m))), sp.csr_matrix((n, m))])
    load = sp.hstack([sp.kron(a[None, :], sp.eye(m)), -cap * sp.eye(m)])
    count = sp.hstack([sp.csr_matrix((1, nx)), np.ones((1, m))])
    res = so.milp(np.r_[c.ravel(), np.zeros(m)], integrality=np.ones(nx + m),
                  bounds=so.Bounds(0, 1), constraints=[
                      so.LinearConstraint(one, 1, 1), so.LinearConstraint(load, -np.inf, 0),
                      so.LinearConstraint(count, p, p)])
    assert res.status == 0
    return float(res.fun)


def test_capacitated_unfinished_highs_is_not_optimal(stand_in):
    from components.locate.capacity import LoadProblem
    from components.locate.cpmp import subgradient

    n, p = 20, 4
    _pts, w, d = instance(n, 2)
    a = np.round(w)
    cap = 0.27 * a.sum()
    best = cpmp_optimum(d, a, cap, p)
    free = min(d[:, list(s)].min(axis=1).sum() for s in itertools.combinations(range(n), p))
    assert free < best * (1 - 1e-3)  # precondition: capacities bind
    # precondition: no Lagrangian proof either (a long subgradient run stays below)
    prob = LoadProblem(d, np.ones_like(d, bool), a, np.zeros(n), np.full(n, cap),
                       np.arange(n), np.full(n, np.inf))
    lag = subgradient(prob, p, np.zeros(n, bool), np.ones(n, bool), best, 1e18,
                      max_iterations=3000).bound
    assert lag < best - 1.0  # costs are integers: a proof needs the bound above best - 1
    la = LocationAllocator("min_total_cost", p, max_load=cap, exact="always",
                           time_limit=30).solve(d, None, loads=a)
    check_bound(la, best)
    x = la.assignment_
    assert (np.bincount(x, weights=a, minlength=n) <= cap + 1e-9).all()
    assert d[np.arange(n), x].sum() == pytest.approx(la.objective_)


def test_min_facilities_unfinished_highs_claims_only_the_lp_bound(stand_in):
    # small set covers have no LP gap (ceil(LP) = optimum): the stand-in's proven LP bound
    # may certify them, nothing else may
    _pts, _w, d = instance(14, 6)
    radius = 30.0
    cover = d <= radius
    best = next(k for k in range(1, 15) if any(
        cover[:, list(s)].any(axis=1).all() for s in itertools.combinations(range(14), k)))
    lp = so.milp(np.ones(14), constraints=[so.LinearConstraint(cover.astype(float), 1, np.inf)],
                 bounds=so.Bounds(0, 1)).fun
    assert best >= 2
    la = LocationAllocator("min_facilities", radius=radius, exact="always",
                           time_limit=20).solve(d)
    assert 1 <= la.lower_bound_ <= min(best, np.ceil(lp - 1e-6))  # never 0: one site needed
    assert la.objective_ >= best and cover[:, la.open_].any(axis=1).all()
    assert la.status_ != "optimal" or la.objective_ == best


# ------------------------------------------------------------------ statuses (#13)
PACKING = dict(costs=np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), weights=[5.0, 5.0, 5.0],
               capacities=[7.5, 7.5])  # 15 capacity for 15 demand, but no site holds two


def test_proven_infeasible_raises_with_the_numbers_and_unproven_is_no_feasible_found():
    from components.errors import InfeasibleError

    with pytest.raises(InfeasibleError, match=r"proved .* violates them by 2.5"):
        LocationAllocator("min_total_cost", 2, exact="always").solve(
            PACKING["costs"], PACKING["weights"], capacities=PACKING["capacities"])
    la = LocationAllocator("min_total_cost", 2, exact="never").solve(
        PACKING["costs"], PACKING["weights"], capacities=PACKING["capacities"])
    assert la.status_ == "no_feasible_found" and la.violation_ == pytest.approx(2.5)
    loads = np.bincount(la.assignment_[la.assignment_ >= 0], weights=np.full(3, 5.0)[
        la.assignment_ >= 0], minlength=2)
    assert (loads > 7.5).any() or (la.assignment_ < 0).any()  # the oracle agrees


def test_a_reused_solver_reports_what_a_fresh_one_does():
    pts, w, d = instance(30, 2)
    reused = LocationAllocator("min_total_cost", 2, exact="never", seed=1)
    reused.solve(PACKING["costs"], PACKING["weights"], capacities=PACKING["capacities"])
    assert reused.status_ == "no_feasible_found"
    reused.solve(d, w, coords=(pts, pts))
    fresh = LocationAllocator("min_total_cost", 2, exact="never", seed=1).solve(
        d, w, coords=(pts, pts))
    for name in ("status_", "objective_", "lower_bound_", "gap_", "violation_"):
        assert getattr(reused, name) == getattr(fresh, name), name
    assert np.array_equal(reused.open_, fresh.open_)
    assert np.array_equal(reused.assignment_, fresh.assignment_)


def test_time_limited_answer_keeps_a_real_bound_and_says_why_it_stopped():
    pts, w, _ = instance(600, 9)
    sites = np.random.default_rng(1).uniform(0, 100, (300, 2))
    d = cdist(pts, sites)
    c = d * w[:, None]
    la = LocationAllocator("min_total_cost", 40, exact="never", time_limit=0.05).solve(
        d, w, coords=(pts, sites))
    assert la.stopped_by_ == "time_limit"
    trivial = c.min(axis=1).sum()  # each point at its cheapest site: the oracle's floor
    assert la.lower_bound_ >= trivial * (1 - 1e-12) > 0
    assert la.lower_bound_ <= la.objective_


def test_time_limited_bound_is_not_zero_when_every_point_is_a_candidate():
    # the cheapest-site bound is 0 here (each point is a site): the Lagrangian's first
    # steps still give a real (valid by construction) bound, not 0
    pts, w, d = instance(600, 9)
    la = LocationAllocator("min_total_cost", 40, exact="never", time_limit=0.05).solve(
        d, w, coords=(pts, pts))
    assert la.stopped_by_ == "time_limit"
    assert 0 < la.lower_bound_ <= la.objective_

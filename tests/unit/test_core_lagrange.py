"""The p-median Lagrangian bound (components/locate/lagrange.py) against oracles written here.

- validity: the bound is at most the optimum found by enumeration, and it is ``L(u)`` of
  the multipliers it returns, recomputed by enumerating the site choices;
- the method's promises: the best bound never falls as the ascent runs longer, the dense
  and list paths take the same steps, the ascent reaches the LP relaxation (HiGHS through
  scipy) on instances where nothing else stops it, and each stop rule fires when the
  docstring says it does;
- site fixing: a site is fixed exactly when forcing it the other way gives a bound (by
  enumeration) at or above the incumbent.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from components.locate.engine import neighbour_lists
from components.locate.lagrange import fix_sites, lagrangian_bound
from tests.oracles import lagrangian_value, pmedian_brute, pmedian_lp


def planar(n: int, m: int, seed: int) -> np.ndarray:
    """Weighted distances from n points to m sites: no ties, LP usually integral."""
    rng = np.random.default_rng(seed)
    pts, sites = rng.uniform(0, 10, (n, 2)), rng.uniform(0, 10, (m, 2))
    return np.linalg.norm(pts[:, None] - sites[None], axis=2) * rng.uniform(1, 3, n)[:, None]


def bound(costs, p, upper, *, fixed=None, eligible=None, width=None, dense=True, start=None,
          **kw):
    _n, m = costs.shape
    fixed = np.zeros(m, bool) if fixed is None else fixed
    eligible = np.ones(m, bool) if eligible is None else eligible
    idx, val = neighbour_lists(costs, width)
    u0 = costs.min(axis=1) if start is None else start
    kw.setdefault("deadline", time.monotonic() + 60)
    return lagrangian_bound(idx, val, m, p, fixed, eligible, upper, u0.copy(),
                            costs=costs if dense else None, **kw)


def rules(m: int, seed: int):
    """Random required / ineligible sites and opening costs (some cases with none)."""
    rng = np.random.default_rng(100 + seed)
    fixed = np.zeros(m, bool)
    eligible = np.ones(m, bool)
    opening = None
    if seed % 3 == 1:
        fixed[rng.integers(m)] = True
    if seed % 2 == 1:
        eligible[rng.choice(np.flatnonzero(~fixed), 2, replace=False)] = False
    if seed % 4 >= 2:
        opening = rng.uniform(0, 8, m)
    return fixed, eligible, opening


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize("seed", range(8))
def test_bound_is_valid_and_is_L_of_its_own_multipliers(seed, dense):
    rng = np.random.default_rng(seed)
    n, m, p = int(rng.integers(8, 13)), int(rng.integers(7, 10)), int(rng.integers(2, 4))
    costs = planar(n, m, seed) if seed < 4 else rng.integers(1, 20, (n, m)).astype(float)
    fixed, eligible, opening = rules(m, seed)
    opt, _ = pmedian_brute(costs, p, fixed=fixed, eligible=eligible, opening=opening)
    width = None if dense else m - 3  # short lists: the cap on u matters
    lb = bound(costs, p, opt * 1.03, fixed=fixed, eligible=eligible, width=width, dense=dense,
               opening=opening, max_iterations=150)
    assert lb.bound <= opt + 1e-9 * opt
    banned = ~eligible & ~fixed
    assert lb.bound == pytest.approx(lagrangian_value(costs, lb.u, p, fixed=fixed,
                                                      eligible=eligible, opening=opening),
                                     rel=1e-9, abs=1e-9)
    rho = np.minimum(costs - lb.u[:, None], 0.0).sum(axis=0) + (0 if opening is None
                                                                   else opening)
    assert np.allclose(lb.rho, rho, atol=1e-9)
    chosen = np.sort(lb.chosen)
    assert len(chosen) == p and len(set(chosen.tolist())) == p
    assert fixed[chosen].sum() == fixed.sum() and not banned[chosen].any()
    assert lb.bound == pytest.approx(lb.u.sum() + rho[chosen].sum(), rel=1e-9, abs=1e-9)
    if not dense:
        kth = np.sort(costs, axis=1)[:, width - 1]
        assert (lb.u <= kth + 1e-12).all()  # capped where the list stops being exact
    assert 1 <= lb.iterations <= 150
    # the bound is worth having: well above the trivial "each point pays its cheapest site"
    assert lb.bound >= costs.min(axis=1).sum() - 1e-9


@pytest.mark.parametrize("seed", range(6))
def test_dense_and_list_paths_take_the_same_steps(seed):
    """``costs`` only makes each step cheaper (docstring): same bound, same iterations."""
    costs = planar(14, 11, seed)
    fixed, eligible, opening = rules(11, seed)
    opt, _ = pmedian_brute(costs, 3, fixed=fixed, eligible=eligible, opening=opening)
    a = bound(costs, 3, opt * 1.05, fixed=fixed, eligible=eligible, opening=opening)
    b = bound(costs, 3, opt * 1.05, fixed=fixed, eligible=eligible, opening=opening,
              dense=False)
    assert a.iterations == b.iterations and a.stopped_by == b.stopped_by
    assert a.bound == pytest.approx(b.bound, rel=1e-12)
    assert np.allclose(a.u, b.u, rtol=1e-12)


@pytest.mark.parametrize("slack", [1.0, 1.05])
@pytest.mark.parametrize("seed", range(6))
def test_ascent_reaches_the_lp_relaxation(seed, slack):
    """Relaxing the assignment rows leaves a subproblem with integral LP, so the best
    ``L(u)`` is the p-median LP value; subgradient ascent must get there (and never past)."""
    costs = planar(40, 30, seed)
    lp = pmedian_lp(costs, 5)
    lb = bound(costs, 5, lp * slack)
    assert lb.bound <= lp + 1e-7 * lp
    assert lb.bound >= lp * (1 - 2e-4), (lb.iterations, lb.stopped_by)


def test_ascent_reaches_the_lp_with_opening_costs_and_lists():
    costs = planar(30, 24, 7)
    opening = np.random.default_rng(7).uniform(0, 6, 24)
    lp = pmedian_lp(costs, 4, opening)
    lb = bound(costs, 4, lp * 1.02, opening=opening, dense=False)
    assert lp * (1 - 5e-4) <= lb.bound <= lp + 1e-7 * lp


def test_bound_never_falls_as_the_ascent_runs_longer():
    costs = planar(30, 20, 3)
    opt_ub = pmedian_lp(costs, 4) * 1.1
    first = bound(costs, 4, opt_ub, max_iterations=1)
    fixed, eligible = np.zeros(20, bool), np.ones(20, bool)
    # one step: the bound at the starting multipliers
    assert first.bound == pytest.approx(
        lagrangian_value(costs, costs.min(axis=1), 4, fixed=fixed, eligible=eligible), rel=1e-12)
    assert first.iterations == 1 and first.stopped_by == "iterations"
    last = -np.inf
    for n_it in (1, 2, 3, 5, 8, 13, 30, 60):
        lb = bound(costs, 4, opt_ub, max_iterations=n_it)
        assert lb.bound >= last
        assert lb.iterations <= n_it
        if lb.stopped_by == "iterations":
            assert lb.iterations == n_it
        last = lb.bound
    assert last > first.bound  # and it does rise


def test_deadline_stops_after_min_iterations():
    costs = planar(12, 9, 1)
    past = time.monotonic() - 1.0
    none = bound(costs, 3, 100.0, deadline=past)  # default: no step is owed
    assert none.iterations == 0 and none.stopped_by == "time_limit"
    assert none.bound == -np.inf  # says nothing, and says so
    three = bound(costs, 3, 100.0, deadline=past, min_iterations=3)
    assert three.iterations == 3 and three.stopped_by == "time_limit"
    assert np.isfinite(three.bound)


def test_gap_closed_at_the_default_target():
    costs = planar(12, 9, 0)
    opt, _ = pmedian_brute(costs, 3)
    assert pmedian_lp(costs, 3) == pytest.approx(opt, rel=1e-9)  # integral LP
    lb = bound(costs, 3, opt)
    assert lb.stopped_by == "gap closed"
    assert opt - lb.bound <= 1e-9 * opt
    # a loose incumbent is not "closed" by a bound that is still far under it
    loose = bound(costs, 3, opt * 1.5, max_iterations=400)
    assert loose.stopped_by != "gap closed"


def test_relaxation_feasible_stops_the_ascent():
    # each point has its own free site: at u = 1 the relaxed choice serves every point once
    costs = np.full((3, 3), 10.0)
    np.fill_diagonal(costs, 0.0)
    lb = bound(costs, 3, 5.0, start=np.ones(3))
    assert lb.stopped_by == "relaxation feasible" and lb.iterations == 1
    assert lb.bound == pytest.approx(0.0)
    assert sorted(lb.chosen.tolist()) == [0, 1, 2]


def _improved(costs, p, upper, n_it, **kw) -> list[bool]:
    """Whether each of the first n_it steps raised the best bound (the run is deterministic,
    so a run cut at N retraces the first N steps of a longer one)."""
    values = [bound(costs, p, upper, max_iterations=k, **kw).bound for k in range(n_it + 1)]
    values[0] = -np.inf
    return [values[k] > values[k - 1] for k in range(1, n_it + 1)]


@pytest.mark.parametrize("stall,min_step", [(1, 0.5), (2, 0.3), (3, 1.0), (None, 0.3)])
def test_step_factor_halves_after_stalls_and_stops_below_min_step(stall, min_step):
    """lam starts at 2 and halves after ``stall`` steps in a row without a better bound; the
    ascent stops in the step where it falls under ``min_step``."""
    costs = planar(30, 20, 2)
    upper = pmedian_lp(costs, 4) * 1.2  # loose: the gap never closes
    kw: dict = dict(min_step=min_step) if stall is None else dict(stall=stall, min_step=min_step)
    stall = stall or 20  # the documented default
    lb = bound(costs, 4, upper, max_iterations=90 if stall < 20 else 300, **kw)
    assert lb.stopped_by == "bound stalled"
    lam, run, expected = 2.0, 0, None
    for k, up in enumerate(_improved(costs, 4, upper, lb.iterations, **kw), start=1):
        if up:
            run = 0
        else:
            run += 1
            if run >= stall:
                lam, run = lam / 2, 0
        if lam < min_step:
            expected = k
            break
    assert lb.iterations == expected


def test_slow_progress_is_checked_every_100_steps():
    costs = planar(30, 20, 2)
    upper = pmedian_lp(costs, 4) * 1.2
    kw = dict(stall=10_000, min_step=0.0, max_iterations=350)
    # no progress can reach 100 % of UB in 100 steps: the first check that can fail is at 200
    hopeless = bound(costs, 4, upper, progress=1.0, **kw)
    assert hopeless.iterations == 200 and hopeless.stopped_by == "bound stalled"
    patient = bound(costs, 4, upper, progress=0.0, **kw)
    assert patient.iterations == 350 and patient.stopped_by == "iterations"
    kw.pop("max_iterations")
    default = bound(costs, 4, upper, progress=0.0, **kw)  # the default budget: 600 steps
    assert default.iterations == 600 and default.stopped_by == "iterations"


# -- site fixing ------------------------------------------------------------------------------

def _forced_bounds(costs, lb, p, fixed, eligible):
    """For every free site: the best L(u) with it forced open and with it forced closed."""
    m = costs.shape[1]
    rho = lb.rho
    allowed = eligible & ~fixed
    best_open, best_closed = np.full(m, np.inf), np.full(m, np.inf)
    for s in itertools.combinations(range(m), p):
        idx = list(s)
        if fixed[np.setdiff1d(np.arange(m), idx)].any() or not (allowed | fixed)[idx].all():
            continue
        value = lb.u.sum() + rho[idx].sum()
        inside = np.zeros(m, bool)
        inside[idx] = True
        best_open = np.where(inside, np.minimum(best_open, value), best_open)
        best_closed = np.where(~inside, np.minimum(best_closed, value), best_closed)
    return best_open, best_closed


@pytest.mark.parametrize("seed", range(6))
def test_site_fixing_matches_enumeration(seed):
    rng = np.random.default_rng(seed)
    costs = rng.integers(1, 30, (10, 9)).astype(float) + rng.uniform(0, 1e-3, (10, 9))
    fixed, eligible, _ = rules(9, seed)
    p = 3
    opt, sols = pmedian_brute(costs, p, fixed=fixed, eligible=eligible)
    lb = bound(costs, p, opt * 1.2, fixed=fixed, eligible=eligible, max_iterations=40)
    forced_open, forced_closed = _forced_bounds(costs, lb, p, fixed, eligible)
    free = eligible & ~fixed
    in_sol = np.zeros(9, bool)
    in_sol[lb.chosen] = True
    # incumbents between the forced bounds, so some sites get fixed and some do not
    levels = np.unique(np.r_[forced_open[free & ~in_sol], forced_closed[free & in_sol]])
    checked = 0
    for upper in (levels[:-1] + levels[1:]) / 2:
        closed, opened = fix_sites(lb, p, fixed, eligible, upper)
        assert (closed[~eligible & ~fixed]).all() and opened[fixed].all()
        want_closed = free & ~in_sol & (forced_open >= upper)
        want_open = free & in_sol & (forced_closed >= upper)
        assert closed[free].tolist() == want_closed[free].tolist(), upper
        assert opened[free].tolist() == want_open[free].tolist(), upper
        checked += int(want_closed.any() or want_open.any())
        if upper > opt:  # fixing never cuts off an optimum the incumbent does not beat
            for s in sols:
                assert not closed[list(s)].any() and set(np.flatnonzero(opened)) <= set(s)
    assert checked >= 1


def test_site_fixing_fixes_nothing_when_every_free_site_is_needed():
    costs = planar(8, 5, 0)
    fixed, eligible = np.zeros(5, bool), np.ones(5, bool)
    eligible[4] = False
    lb = bound(costs, 4, 1e9, eligible=eligible)
    closed, opened = fix_sites(lb, 4, fixed, eligible, 1e9)
    assert closed.tolist() == [False] * 4 + [True]
    assert not opened.any()


def test_deadline_is_checked_before_every_step(monkeypatch):
    """An injected clock that advances 0.5 s per reading (exact in binary): with the deadline
    2 s away the 4th reading is the deadline itself, so exactly 3 steps run."""
    from tests.contract import SteppingTime, stepping

    costs = planar(12, 9, 1)
    with stepping(monkeypatch, SteppingTime(0.5)) as fake:
        lb = bound(costs, 3, 1e6, deadline=fake.t + 2.0, stall=10**6, min_step=0.0,
                   progress=0.0)
    assert lb.stopped_by == "time_limit" and lb.iterations == 3


@pytest.mark.parametrize("seed", range(3))
def test_site_fixing_at_a_tie_fixes(seed):
    """A site whose forced bound equals the incumbent is fixed: no *better* solution has it
    (the rounding tolerance counts a tie as reaching the incumbent)."""
    rng = np.random.default_rng(seed)
    costs = rng.integers(1, 30, (10, 9)).astype(float) + rng.uniform(0, 1e-3, (10, 9))
    fixed, eligible = np.zeros(9, bool), np.ones(9, bool)
    opt, _ = pmedian_brute(costs, 3)
    lb = bound(costs, 3, opt * 1.2, max_iterations=40)
    forced_open, forced_closed = _forced_bounds(costs, lb, 3, fixed, eligible)
    in_sol = np.zeros(9, bool)
    in_sol[lb.chosen] = True
    for j in range(9):
        level = forced_closed[j] if in_sol[j] else forced_open[j]
        closed, opened = fix_sites(lb, 3, fixed, eligible, float(level))
        assert (opened if in_sol[j] else closed)[j], j

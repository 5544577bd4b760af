"""Every solve starts from clean state (issue #13): a solver object used for a first
problem (of another shape, an infeasible one, a time-limited one) answers a second one
exactly as a fresh object does: open sites, assignment, status, bound, violation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from components.errors import InfeasibleError
from components.locate import LocationAllocator

FIELDS = ("status_", "objective_", "lower_bound_", "gap_", "violation_", "stopped_by_")


def instance(n: int, m: int, seed: int):
    rng = np.random.default_rng(seed)
    pts, sites = rng.uniform(0, 100, (n, 2)), rng.uniform(0, 100, (m, 2))
    return cdist(pts, sites), rng.integers(1, 6, n).astype(float)


CASES = {
    "min_total_cost": dict(facilities=3),
    "capacitated": dict(facilities=3, max_load=60.0),
    "min_max_cost": dict(facilities=3),
    "max_coverage": dict(facilities=3, radius=25.0),
    "min_facilities": dict(radius=40.0, allow_unassigned=True),
    "max_backup_coverage": dict(facilities=3, radius=30.0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_second_solve_equals_a_fresh_solve(case):
    kw = dict(CASES[case])
    strategy = "min_total_cost" if case == "capacitated" else case
    make = lambda: LocationAllocator(strategy, seed=4, time_limit=30, **kw)  # noqa: E731
    d1, w1 = instance(25, 7, 1)
    d2, w2 = instance(30, 9, 2)
    reused = make()
    if case == "capacitated":  # first a problem proven infeasible (too little room)
        with pytest.raises(InfeasibleError):
            reused.solve(d1, w1 * 10)
    else:
        reused.solve(d1, w1)
    reused.solve(d2, w2)
    fresh = make().solve(d2, w2)
    for name in FIELDS:
        assert getattr(reused, name) == getattr(fresh, name), name
    assert np.array_equal(reused.open_, fresh.open_)
    assert np.array_equal(reused.assignment_, fresh.assignment_)
    assert np.array_equal(reused.loads_, fresh.loads_)
    assert list(reused.reason_) == list(fresh.reason_)
    assert set(vars(reused)) == set(vars(fresh))  # nothing left over from the first solve

"""The time limit is a wall on big maps: measured with an injected clock that runs on
this process's CPU time, scaled up (a machine ten times slower), so the check does not
depend on the machine's load."""

from __future__ import annotations

import time

import numpy as np
import pytest

from components.balance import TerritoryBalancer
from tests.benchmarks.instances import delaunay_graph


# (at 1k units one uninterruptible phase is a large share of a 10x-scaled limit, so the
# small size is measured, not asserted: 1.06 s for a 1 s limit, loaded wall)
# (seen on the merged main in make test: 50.2 simulated s for a 30 s limit at 30k. HiGHS's
# LP got half the time left as its own limit, in the clock's seconds, but HiGHS counts
# wall seconds: on a clock 10x faster than the wall it could run 10x too long. The LP's
# limit is now converted to real seconds, and the local search checks the clock inside a
# round. Fixed centers below make sure the final solve, LP included, runs under the cap.)
@pytest.mark.parametrize("n,m,limit,fixed", [
    (20_000, 100, 20.0, False),
    (30_000, 100, 30.0, False),
    (30_000, 100, 20.0, True),
])
def test_overrun_is_within_ten_percent(n, m, limit, fixed):
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 100, (n, 2))
    a = rng.uniform(4, 8, (n, 1))
    g = delaunay_graph(pts)

    def slow_clock() -> float:  # simulated seconds: 10 x this process's CPU seconds
        return 10 * time.process_time()

    centers = np.random.default_rng(1).choice(n, m, replace=False) if fixed else None
    b = TerritoryBalancer(m, tolerance=0.02, seed=0, time_limit=limit,
                          clock=slow_clock).solve(g, a, coords=pts, centers=centers)
    assert b.stopped_by_ == "time_limit"  # the cap bound: this test is about the cap
    assert b.seconds_ <= 1.10 * limit, f"{b.seconds_:.2f} simulated s for a {limit} s limit"
    assert len(b.labels_) == n and (b.labels_ >= 0).all()

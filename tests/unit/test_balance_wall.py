"""The time limit is a wall at every size: measured with an injected clock that runs on
this process's CPU time, scaled up (a machine ten times slower), so the check does not
depend on the machine's load."""

from __future__ import annotations

import time

import numpy as np
import pytest

from components.balance import TerritoryBalancer
from tests.benchmarks.instances import delaunay_graph


@pytest.mark.parametrize("n,m,limit", [(1_000, 25, 2.0), (20_000, 100, 20.0)])
def test_overrun_is_within_ten_percent(n, m, limit):
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 100, (n, 2))
    a = rng.uniform(4, 8, (n, 1))
    g = delaunay_graph(pts)

    def slow_clock() -> float:  # simulated seconds: 10 x this process's CPU seconds
        return 10 * time.process_time()

    b = TerritoryBalancer(m, tolerance=0.02, seed=0, time_limit=limit,
                          clock=slow_clock).solve(g, a, coords=pts)
    assert b.stopped_by_ == "time_limit"  # the cap bound: this test is about the cap
    assert b.seconds_ <= 1.10 * limit, f"{b.seconds_:.2f} simulated s for a {limit} s limit"
    assert len(b.labels_) == n and (b.labels_ >= 0).all()

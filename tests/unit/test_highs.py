"""components.highs: the walled HiGHS call, with fork allowed, refused, or off (warehouses)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from components import highs


def knapsack(n: int = 30, seed: int = 0):
    rng = np.random.default_rng(seed)
    value, weight = rng.uniform(1, 10, n), rng.uniform(1, 10, n)
    return (-value,), {"integrality": np.ones(n), "bounds": Bounds(0, 1),
                       "constraints": LinearConstraint(weight[None, :], -np.inf,
                                                       weight.sum() / 3)}


def optimum() -> float:
    args, kwargs = knapsack()
    return float(milp(*args, **kwargs).fun)


def refuse_fork(*_a, **_k):
    raise BlockingIOError(11, "Resource temporarily unavailable (fork refused)")


def test_forked_solve_is_optimal():
    args, kwargs = knapsack()
    res = highs.milp_walled(*args, wall=30, **kwargs)
    assert res.fun == pytest.approx(optimum())
    assert not res.in_process


def test_refused_fork_falls_back_to_an_in_process_solve(monkeypatch):
    monkeypatch.setattr(os, "fork", refuse_fork)
    args, kwargs = knapsack()
    res = highs.milp_walled(*args, wall=30, **kwargs)
    assert res is not None and res.in_process
    assert res.fun == pytest.approx(optimum())
    assert res.status == 0


def test_in_process_block_never_forks_and_keeps_highs_own_limit(monkeypatch):
    def no_fork(*_a, **_k):
        raise AssertionError("forked inside highs.in_process()")

    monkeypatch.setattr(os, "fork", no_fork)
    seen = {}
    real = highs.milp

    def spy(*args, **kwargs):
        seen.update(kwargs["options"])
        return real(*args, **kwargs)

    monkeypatch.setattr(highs, "milp", spy)
    args, kwargs = knapsack()
    with highs.in_process():
        assert highs.runs_in_process()
        res = highs.milp_walled(*args, wall=2.0, options={"time_limit": 99}, **kwargs)
    assert not highs.runs_in_process()
    assert res.fun == pytest.approx(optimum())
    assert seen["time_limit"] == pytest.approx(2.0 * highs.MARGIN)

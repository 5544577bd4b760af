"""The solver contract over every location strategy (and the load-limit and facilities-mode
variants) that ``location_allocation`` reaches:

1. same input and seed, the same answer (tables and report, timings aside), decided by
   iteration budgets: the (generous) time limit must not be what stopped it;
2. one object solved twice keeps nothing of the solve before: after a solve of other data
   cut short by the time limit (another status and stop reason), solving the first data
   again equals a fresh object's solve, ``status_``, ``violation_`` and ``stopped_by_``
   included, and sets no attribute a fresh solve would not;
3. invalid parameters raise a ParameterError naming the parameter and the value given;
   the CLI prints it as one line (exit 2), never a traceback;
4. the time limit is a wall, with an injected clock: the locate modules read a stand-in
   ``time`` whose ``monotonic`` steps a fixed amount per reading (tests/contract.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

from components import registry
from components.errors import ParameterError, TerraplanError
from components.locate import LocationAllocator
from components.locate.checks import STRATEGIES
from tests.conftest import grid_scus
from tests.contract import (
    SteppingTime,
    assert_same_state,
    one_line_naming,
    same,
    state,
    stepping,
)


def demand(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": [f"p{i:02d}" for i in range(n)], "x": rng.uniform(0, 100, n),
                         "y": rng.uniform(0, 100, n), "w": rng.uniform(1, 5, n)})


def rivals() -> pd.DataFrame:
    return pd.DataFrame({"id": ["r0", "r1"], "x": [20.0, 80.0], "y": [30.0, 70.0]})


CASES: dict[str, dict] = {
    "min_total_cost": dict(facilities=4),
    "min_total_cost/at_most": dict(facilities=4, facilities_mode="at_most"),
    "min_total_cost/auto": dict(facilities_mode="auto", max_load=40.0),
    "min_total_cost/loads": dict(facilities=4, max_load=45.0),
    "min_max_cost": dict(facilities=4),
    "max_coverage": dict(facilities=3, radius=20.0),
    "max_coverage/loads": dict(facilities=3, radius=25.0, max_load=60.0),
    "min_facilities": dict(radius=30.0),
    "max_backup_coverage": dict(facilities=4, radius=30.0),
    "max_market_share": dict(facilities=3),
    "target_market_share": dict(target_share=0.5),
}


def test_every_strategy_has_a_case():
    assert {k.split("/")[0] for k in CASES} == set(STRATEGIES)


def run(case: str, seed: int = 0):
    # a limit far above what the budgets need (even on a loaded machine): they decide
    params = dict(CASES[case], strategy=case.split("/")[0], weight="w", seed=seed,
                  time_limit=900)
    tables = {"competitors": rivals()} if "share" in case else {}
    return registry.get("location_allocation").run(demand(), **tables, **params)


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_seed_same_answer(case):
    first = run(case, seed=3)
    assert first.report["stopped_by"] != "time_limit"
    same(first, run(case, seed=3))
    assert first.report["status"] in ("optimal", "feasible")


def arrays(n: int, seed: int):
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 100, (n, 2))
    return cdist(pts, pts), rng.uniform(1, 5, n), cdist(pts, rng.uniform(0, 100, (2, 2)))


def solve(obj: LocationAllocator, data) -> LocationAllocator:
    d, w, comp = data
    return obj.solve(d, w, **(dict(competitor_costs=comp) if "share" in obj.strategy else {}))


@pytest.mark.parametrize("case", sorted(CASES))
def test_solve_twice_leaks_nothing(case, monkeypatch):
    params = dict(CASES[case], time_limit=900, seed=1)
    strategy = case.split("/")[0]
    first = arrays(40, 0)
    fresh = solve(LocationAllocator(strategy, **params), first)
    assert fresh.stopped_by_ != "time_limit"
    obj = LocationAllocator(strategy, **params)
    solve(obj, first)
    obj.time_limit = 0.1
    # other data under a limit that cuts it short: it ends another way (stopped by the
    # limit, or an error raised mid-solve), and nothing of that may stay behind
    with stepping(monkeypatch, SteppingTime(0.02)):
        try:
            solve(obj, arrays(60, 5))
        except TerraplanError:
            pass
    obj.time_limit = 900
    assert_same_state(state(fresh), state(solve(obj, first)))


def test_a_violation_does_not_leak():
    """Capacities too tight (points left unassigned, a violation), then none: violation_ is
    0 again and everything equals a fresh solve."""
    d, w, _ = arrays(30, 2)
    obj = LocationAllocator("min_total_cost", 3, max_load=float(w.sum() / 4),
                            allow_unassigned=True, seed=0, time_limit=900)
    obj.solve(d, w)
    assert (obj.assignment_ == -1).any()
    obj.max_load, obj.allow_unassigned = None, False
    obj.solve(d, w)
    fresh = LocationAllocator("min_total_cost", 3, seed=0, time_limit=900).solve(d, w)
    assert_same_state(state(fresh), state(obj))
    assert obj.violation_ == 0.0 and (obj.assignment_ >= 0).all()


BAD = [
    (dict(strategy="cheapest", facilities=3), "strategy", "cheapest"),
    (dict(facilities=0), "facilities", "0"),
    (dict(facilities=2.5), "facilities", "2.5"),
    (dict(facilities=3, facilities_mode="sometimes"), "facilities_mode", "sometimes"),
    (dict(strategy="max_coverage", facilities=3, radius=-1.0), "radius", "-1"),
    (dict(strategy="target_market_share", target_share=1.5), "target_share", "1.5"),
    (dict(strategy="max_market_share", facilities=2, decay="linear"), "decay", "linear"),
    (dict(facilities=3, budget=-5.0), "budget", "-5"),
    (dict(facilities=3, exact="maybe"), "exact", "maybe"),
    (dict(strategy="max_backup_coverage", facilities=3, radius=10.0, backup_weight=2.0),
     "backup_weight", "2"),
    (dict(facilities=3, time_limit=-1), "time_limit", "-1"),
]


@pytest.mark.parametrize("params,name,given", BAD, ids=[b[1] + "-" + b[2] for b in BAD])
def test_invalid_parameters_name_themselves(params, name, given):
    params = {"strategy": "min_total_cost", **params}
    tables = {"competitors": rivals()} if "share" in params["strategy"] else {}
    with pytest.raises(ParameterError) as err:
        registry.get("location_allocation").run(demand(), **tables, weight="w", **params)
    one_line_naming(err.value, name, given)


@pytest.mark.parametrize("args,name", [
    (["--facilities", "3", "--strategy", "cheapest"], "strategy"),
    (["--facilities", "0"], "facilities"),
    (["--strategy", "max_coverage", "--facilities", "2", "--radius", "-3"], "radius"),
])
def test_cli_says_it_in_one_line(args, name, tmp_path, capsys):
    from workflows.cli import main

    csv = tmp_path / "t.csv"
    grid_scus(4, 4).to_csv(csv, index=False)
    try:  # argparse refuses a bad choice itself (SystemExit 2), our checks return 2
        code = main(["locate", str(csv), *args, "--out", str(tmp_path / "out")])
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    # one message line (argparse also prints its usage block above it)
    said = [line for line in err.splitlines()
            if line.strip() and not line.startswith(("usage:", " "))]
    assert len(said) == 1 and name in said[0] and "error:" in said[0], err
    assert not (tmp_path / "out").exists()  # nothing written


WALL = {"min_total_cost/auto": dict(max_load=150.0),
        "min_total_cost/loads": dict(facilities=10, max_load=150.0),
        "max_coverage/loads": dict(radius=15.0, max_load=300.0)}


@pytest.mark.parametrize("case", sorted(CASES))
def test_time_limit_is_a_wall(case, monkeypatch):
    """300 points, a 0.5 s limit, a clock that advances 0.01 s per reading: the limit passes
    after 50 readings whatever the machine does. The solve stops within 15 readings past
    it (0.15 simulated s), or finishes before it, and still answers in full."""
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 100, (300, 2))
    d, w = cdist(pts, pts), rng.uniform(1, 5, 300)
    comp = cdist(pts, rng.uniform(0, 100, (3, 2)))
    obj = LocationAllocator(case.split("/")[0], time_limit=0.5, seed=0,
                            **{**CASES[case], **WALL.get(case, {})})
    with stepping(monkeypatch, SteppingTime(0.01)):
        obj.solve(d, w, **(dict(competitor_costs=comp) if "share" in case else {}))
    assert obj.seconds_ <= 0.5 + 15 * 0.01 + 1e-9, obj.seconds_
    assert obj.stopped_by_ == "time_limit" or obj.seconds_ <= 0.5
    assert obj.status_ in ("feasible", "optimal", "no_feasible_found")
    assert obj.status_ != "optimal" or obj.gap_ <= 1e-6
    assert len(obj.assignment_) == 300 and len(obj.open_) >= 1
    served = obj.assignment_ >= 0
    assert np.isin(obj.assignment_[served], obj.open_).all()

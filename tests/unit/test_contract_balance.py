"""The solver contract over every balance method and objective that ``territory_balancing``
reaches (see tests/unit/test_contract_locate.py for the four points): same seed same
answer, no state leaked between solves (``status_`` and ``violation_`` included), invalid
parameters named in one line, and the time limit a wall measured with an injected clock
(the balancer's ``clock`` argument, stepping a fixed amount per reading)."""

from __future__ import annotations

import numpy as np
import pytest

from components import registry
from components.balance import TerritoryBalancer
from components.errors import ParameterError
from tests.conftest import grid_edges, grid_scus
from tests.contract import assert_same_state, one_line_naming, same, state
from tests.oracles import array_split, frame_split
from tests.unit.test_balance_solver import SteppingClock, instance

CASES: dict[str, dict] = {
    "heuristic": dict(),
    "heuristic/distance": dict(objective="distance"),
    "heuristic/starts": dict(starts=2),
    "heuristic/current": dict(current="cur", max_moved=0.4),
    "exact": dict(method="exact"),
}
SOLVERS = [{}, {"objective": "distance"}, {"starts": 2}, {"lp": False}]
SOLVER_IDS = ["compactness", "distance", "starts", "no-lp"]


def run(case: str, seed: int = 0):
    scus = grid_scus(6, 6).assign(cur=lambda d: np.where(d["x"] < 2, "A", "B"))
    params = dict(CASES[case], territories=4 if "current" not in case else 2,
                  metrics=["load"], tolerance=0.1, seed=seed, time_limit=900)
    return registry.get("territory_balancing").run(scus, edges=grid_edges(6, 6), **params)


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_seed_same_answer(case):
    first = run(case, seed=3)
    assert first.report["stopped_by"] != "time_limit"
    same(first, run(case, seed=3))
    assert frame_split(first.tables["assignments"], grid_edges(6, 6)) == []


@pytest.mark.parametrize("kw", SOLVERS, ids=SOLVER_IDS)
def test_solve_twice_leaks_nothing(kw):
    g, a, pts = instance(200, seed=3)
    fresh = TerritoryBalancer(5, seed=2, tolerance=0.05, time_limit=900, **kw).solve(
        g, a, coords=pts)
    obj = TerritoryBalancer(5, seed=2, tolerance=0.05, time_limit=900, **kw)
    obj.solve(g, a, coords=pts)
    # other data and a tolerance one iteration cannot meet: another status, a violation
    g2, a2, pts2 = instance(150, seed=9)
    obj.tolerance, obj.max_iter = 1e-6, 1
    obj.solve(g2, a2, coords=pts2)
    assert obj.status_ == "tolerance_not_met" and obj.violation_ > 0
    obj.tolerance, obj.max_iter = 0.05, 200
    obj.solve(g, a, coords=pts)
    assert_same_state(state(fresh), state(obj))
    assert obj.status_ == fresh.status_ and obj.violation_ == fresh.violation_ == 0
    assert array_split(g, obj.labels_) == []


BAD = [
    (dict(territories=0), "territories", "0"),
    (dict(territories=3, tolerance=-0.1), "tolerance", "-0.1"),
    (dict(territories=3, objective="shortest"), "objective", "shortest"),
    (dict(territories=3, method="magic"), "method", "magic"),
    (dict(territories=3, starts=-1), "starts", "-1"),
    (dict(territories=3, time_limit=-1), "time_limit", "-1"),
    (dict(territories=3, max_moved=1.5, current="cur"), "max_moved", "1.5"),
]


@pytest.mark.parametrize("params,name,given", BAD, ids=[b[1] + "-" + b[2] for b in BAD])
def test_invalid_parameters_name_themselves(params, name, given):
    scus = grid_scus(4, 4).assign(cur="A")
    with pytest.raises(ParameterError) as err:
        registry.get("territory_balancing").run(scus, edges=grid_edges(4, 4),
                                                metrics=["load"], **params)
    one_line_naming(err.value, name, given)


@pytest.mark.parametrize("args,name", [
    (["--territories", "3", "--tolerance", "-0.1"], "tolerance"),
    (["--territories", "0"], "territories"),
])
def test_cli_says_it_in_one_line(args, name, tmp_path, capsys):
    from workflows.cli import main

    csv = tmp_path / "t.csv"
    grid_scus(4, 4).to_csv(csv, index=False)
    try:  # argparse refuses a bad choice itself (SystemExit 2), our checks return 2
        code = main(["balance", str(csv), "--metric", "load", *args, "--out",
                     str(tmp_path / "out")])
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    # one message line (argparse also prints its usage block above it)
    said = [line for line in err.splitlines()
            if line.strip() and not line.startswith(("usage:", " "))]
    assert len(said) == 1 and name in said[0] and "error:" in said[0], err
    assert not (tmp_path / "out").exists()  # nothing written


@pytest.mark.parametrize("kw", SOLVERS, ids=SOLVER_IDS)
def test_time_limit_is_a_wall(kw):
    g, a, pts = instance(2000, seed=4)
    clock = SteppingClock(0.01)  # the limit passes after 50 readings
    b = TerritoryBalancer(25, seed=0, time_limit=0.5, tolerance=0.01, clock=clock,
                          **kw).solve(g, a, coords=pts)
    assert b.stopped_by_ == "time_limit"
    assert clock.reads < 120  # every phase checked the clock and stopped soon after
    assert b.seconds_ <= 0.5 * 1.25
    assert array_split(g, b.labels_) == []  # the repair still ran: the answer is whole
    assert (b.labels_[b.centers_] == np.arange(25)).all()
    assert b.status_ != "optimal"

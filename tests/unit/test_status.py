"""One status vocabulary (#10): every solver's status is a :class:`Status`, and the
component layer refuses any other string instead of passing it on to the user."""

from __future__ import annotations

import pandas as pd
import pytest

from components import registry
from components.result import Status, solve_status
from tests.conftest import grid_edges, grid_scus


def test_the_vocabulary():
    assert {s.value for s in Status} == {"optimal", "feasible", "tolerance_not_met",
                                         "constraint_violated", "no_feasible_found"}
    assert "infeasible" not in {s.value for s in Status}  # a proof raises, exit 3


def test_an_unknown_status_is_refused():
    assert solve_status("feasible") == "feasible"
    with pytest.raises(ValueError, match="'done' is not one of optimal"):
        solve_status("done")


def test_both_components_report_a_status_of_the_vocabulary():
    res = registry.get("territory_balancing").run(
        grid_scus(6, 6), edges=grid_edges(6, 6), territories=3, metrics=["load"],
        tolerance=0.2, seed=0)
    assert res.report["status"] in {s.value for s in Status}
    pts = pd.DataFrame({"id": [f"p{i}" for i in range(12)], "x": [float(i) for i in range(12)],
                        "y": [0.0] * 12, "w": [1.0] * 12})
    res = registry.get("location_allocation").run(pts, facilities=2, weight="w", seed=0)
    assert res.report["status"] in {s.value for s in Status}


def test_a_solver_inventing_a_status_is_stopped(monkeypatch):
    """Break the solver (it says 'done'): the component refuses to pass that on."""
    from components.locate.solver import LocationAllocator

    real = LocationAllocator.solve

    def lying(self, *a, **k):
        out = real(self, *a, **k)
        self.status_ = "done"
        return out

    monkeypatch.setattr(LocationAllocator, "solve", lying)
    pts = pd.DataFrame({"id": ["a", "b", "c"], "x": [0.0, 1.0, 2.0], "y": [0.0] * 3})
    with pytest.raises(ValueError, match="'done'"):
        registry.get("location_allocation").run(pts, facilities=1, seed=0)

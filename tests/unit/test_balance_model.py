"""The territory-balancing model end to end: every option of the component."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.balance import territory_balancing
from components.errors import InfeasibleError, InputError, ParameterError, UnknownIdError
from tests.conftest import grid_edges, grid_scus
from tests.oracles import frame_split

GRID = dict(edges=grid_edges(8, 8))


def balance(df=None, **kw):
    df = grid_scus(8, 8) if df is None else df
    kw.setdefault("metrics", ["load"])
    kw.setdefault("time_limit", 20)
    return territory_balancing(df, **{**GRID, **kw})


def whole(res, edges=None) -> bool:
    """Every territory one piece by the BFS oracle, and the report says the same."""
    split = frame_split(res.tables["assignments"], GRID["edges"] if edges is None else edges)
    assert res.report["contiguous"] == (not split)
    assert sorted(res.report.get("noncontiguous_territories", [])) == sorted(map(str, split))
    return not split


def ratios(res, metric="load"):
    return res.tables["territories"][f"{metric}_ratio"].to_numpy()


def test_per_metric_tolerance():
    df = grid_scus(8, 8).assign(visits=np.random.default_rng(1).integers(1, 20, 64))
    res = balance(df, territories=4, metrics=["load", "visits"], tolerance=0.10,
                  metric_tolerance=["load=0.02"])
    assert res.report["balance"]["load"]["tolerance"] == 0.02
    assert res.report["balance"]["visits"]["tolerance"] == 0.10
    assert np.abs(ratios(res, "load") - 1).max() <= 0.02 + 1e-9
    assert np.abs(ratios(res, "visits") - 1).max() <= 0.10 + 1e-9


def test_bad_metric_tolerance():
    with pytest.raises(ParameterError, match=r"metric_tolerance 'revenue=0\.1' must be COL=F"):
        balance(territories=2, metric_tolerance=["revenue=0.1"])


def test_part_time_rep_share_and_explicit_bounds():
    centers = pd.DataFrame({"id": ["full1", "full2", "part"], "scu_id": ["u000", "u007", "u063"],
                            "share": [1.0, 1.0, 0.6]})
    res = balance(territories=3, centers=centers, tolerance=0.03)
    terr = res.tables["territories"].set_index("territory")
    total = grid_scus(8, 8)["load"].sum()
    assert terr.loc["part", "load"] == pytest.approx(total * 0.6 / 2.6, rel=0.031)
    assert terr.loc["full1", "load"] == pytest.approx(total / 2.6, rel=0.031)
    assert res.report["status"] in ("feasible", "optimal")

    bounded = centers.drop(columns="share").assign(min_load=[0, 0, 30.0], max_load=[None, None,
                                                                                      40.0])
    res = balance(territories=3, centers=bounded, tolerance=0.5)
    assert 30 - 1e-9 <= res.tables["territories"].set_index("territory").loc["part", "load"] \
        <= 40 + 1e-9


def test_contradictory_bounds_are_infeasible_with_numbers():
    centers = pd.DataFrame({"id": ["a", "b"], "scu_id": ["u000", "u063"],
                            "min_load": [500.0, 0], "max_load": [400.0, None]})
    with pytest.raises(InfeasibleError, match="territory 'a': load lower bound 500 is above "
                                              "its upper bound 400"):
        balance(territories=2, centers=centers)


def test_mixed_fixed_and_free_centers():
    centers = pd.DataFrame({"id": ["home", "free1", "free2"], "scu_id": ["u000", None, None]})
    res = balance(territories=3, centers=centers, tolerance=0.05)
    terr = res.tables["territories"].set_index("territory")
    assert terr.loc["home", "center"] == "u000"
    assert set(terr.index) == {"home", "free1", "free2"}
    assert whole(res)


def test_locked_units_stay_and_stay_contiguous():
    df = grid_scus(8, 8)
    centers = pd.DataFrame({"id": ["west", "east"], "scu_id": ["u024", "u031"]})
    # lock a unit deep in the east to the west territory
    df["lock"] = None
    df.loc[df["id"] == "u030", "lock"] = "west"
    res = balance(df, territories=2, centers=centers, locked="lock", tolerance=0.1)
    assign = res.tables["assignments"].set_index("id")
    assert assign.loc["u030", "territory"] == "west"
    assert whole(res) and res.report["locked_respected"]


def test_unknown_locked_territory():
    df = grid_scus(8, 8).assign(lock=None)
    df.loc[3, "lock"] = "mars"
    with pytest.raises(UnknownIdError, match="locked column 'lock' names territories that do "
                                             "not exist: 'mars'"):
        balance(df, territories=2, locked="lock")


def test_regions_are_never_crossed():
    df = grid_scus(8, 8)
    df["state"] = np.where(df["x"] < 3, "A", "B")
    res = balance(df, territories=4, region="state", tolerance=0.25)
    joined = res.tables["assignments"].merge(df[["id", "state"]], on="id")
    assert (joined.groupby("territory")["state"].nunique() == 1).all()
    assert set(joined["state"]) == {"A", "B"}
    assert whole(res)


def test_more_regions_than_territories_is_infeasible():
    df = grid_scus(8, 8).assign(state=lambda d: (d["x"] // 2).astype(int).astype(str))
    with pytest.raises(InfeasibleError, match="4 regions need at least one territory each"):
        balance(df, territories=3, region="state")


def test_max_distance_is_respected_or_infeasible():
    res = balance(territories=4, max_distance=7.0, tolerance=0.1)
    assert res.tables["assignments"]["distance"].max() <= 7.0 + 1e-9
    assert res.report["forbidden_assignments"] == 0
    centers = pd.DataFrame({"id": ["a"], "scu_id": ["u000"]})
    with pytest.raises(InfeasibleError, match=r"have no territory they may join"):
        balance(territories=1, centers=centers, max_distance=3.0)


def test_current_alignment_disruption_weight_and_cap():
    df = grid_scus(8, 8)
    df["cur"] = np.where(df["x"] < 2, "A", np.where(df["x"] < 5, "B", "C"))  # uneven
    free = balance(df, territories=3, current="cur", tolerance=0.05)
    assert set(free.tables["assignments"]["territory"]) == {"A", "B", "C"}
    capped = balance(df, territories=3, current="cur", tolerance=0.05, max_moved=0.25)
    assert capped.report["moved_share"] <= 0.25 + 1e-9
    assert capped.report["moved_share"] <= free.report["moved_share"] + 1e-9
    sticky = balance(df, territories=3, current="cur", tolerance=0.05, disruption_weight=5.0)
    assert sticky.report["moved_units"] <= free.report["moved_units"]


def test_max_moved_needs_current():
    with pytest.raises(InputError, match="max_moved caps moves away from the current alignment"):
        balance(territories=2, max_moved=0.1)


def test_consolidate_and_expand_keep_names():
    df = grid_scus(8, 8)
    df["cur"] = "T" + ((df["x"] // 2) + 4 * (df["y"] // 4)).astype(int).astype(str)  # 8 terr.
    fewer = balance(df, territories=5, current="cur", tolerance=0.1)
    names = set(fewer.tables["assignments"]["territory"])
    assert len(names) == 5 and names <= set(df["cur"])
    more = balance(df, territories=10, current="cur", tolerance=0.1)
    names = set(more.tables["assignments"]["territory"])
    assert len(names) == 10 and set(df["cur"]) <= names


def test_distance_objective_and_starts():
    a = balance(territories=4, objective="distance", tolerance=0.05)
    assert a.report["objective_kind"] == "distance"
    assert a.report["objective"] == pytest.approx(a.tables["assignments"]["distance"].sum())
    one = balance(territories=4, tolerance=0.05, starts=1, seed=3)
    three = balance(territories=4, tolerance=0.05, starts=3, seed=3)
    assert three.report["objective"] <= one.report["objective"] + 1e-9


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nx=st.integers(4, 9), ny=st.integers(4, 9), m=st.integers(2, 5),
       seed=st.integers(0, 1000), n_locked=st.integers(0, 3), tol=st.sampled_from([0.1, 0.3]))
def test_property_locked_bounds_contiguity(nx, ny, m, seed, n_locked, tol):
    df = grid_scus(nx, ny, seed)
    rng = np.random.default_rng(seed)
    centers = pd.DataFrame({"id": [f"c{i}" for i in range(m)],
                            "scu_id": rng.choice(df["id"], m, replace=False)})
    df["lock"] = None
    free_rows = np.flatnonzero(~df["id"].isin(centers["scu_id"]))
    for j in rng.choice(free_rows, n_locked, replace=False):
        df.loc[j, "lock"] = centers["id"][rng.integers(m)]
    try:
        res = territory_balancing(df, edges=grid_edges(nx, ny), territories=m, centers=centers,
                                  metrics=["load"], locked="lock", tolerance=tol, time_limit=5)
    except InfeasibleError:
        return
    assign = res.tables["assignments"]
    assert len(assign) == len(df) and assign["id"].is_unique  # single assignment
    # contiguous, or honestly reported (locks whose paths to their centers collide)
    assert whole(res, grid_edges(nx, ny)) or res.report["status"] == "constraint_violated"
    locked = df.dropna(subset=["lock"]).set_index("id")["lock"]
    assert (assign.set_index("id").loc[locked.index, "territory"] == locked).all()
    if res.report["status"] in ("feasible", "optimal"):
        assert res.report["balance"]["load"]["within_bounds"]
        assert res.report["lower_bound"] <= res.report["cost"] + 1e-6


def test_exact_method_proves_optimality_and_never_loses():
    heur = balance(territories=4, tolerance=0.05, seed=2)
    exact = balance(territories=4, tolerance=0.05, seed=2, method="exact")
    assert exact.report["exact"]["status"] == "optimal"
    assert exact.report["status"] == "optimal" and exact.report["gap"] <= 1e-6
    assert exact.report["objective"] <= heur.report["objective"] + 1e-6
    assert whole(exact) and exact.report["balance"]["load"]["within_bounds"]
    assert "HiGHS" in exact.report["lower_bound_scope"]


def test_reported_objective_uses_the_users_weights():
    df = grid_scus(8, 8)
    res = balance(df, territories=3, tolerance=0.1)
    a = res.tables["assignments"].merge(df[["id", "load"]], on="id")
    assert res.report["objective"] == pytest.approx((a["load"] * a["distance"]).sum(), rel=1e-9)

"""Load limits with p-center as the user meets them (issue #13): the `terraplan` console
script, `main`, and the DuckDB SQL function, checked by oracles on the written tables
(capacities held, radius recomputed, brute-force optimum); a strategy where limits mean
nothing says why in one line."""

from __future__ import annotations

import itertools
import json
import os
import subprocess

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

from tests.conftest import ROOT
from udfs.duckdb import register_functions
from workflows.cli import main

TERRAPLAN = ROOT / ".venv" / "bin" / "terraplan"


def tables(seed: int = 1, n: int = 9, m: int = 5):
    rng = np.random.default_rng(seed)
    demand = pd.DataFrame({"id": [f"p{i}" for i in range(n)],
                           "x": rng.uniform(0, 100, n).round(1),
                           "y": rng.uniform(0, 100, n).round(1),
                           "load": rng.integers(1, 6, n).astype(float)})
    cand = pd.DataFrame({"id": [f"s{j}" for j in range(m)],
                         "x": rng.uniform(0, 100, m).round(1),
                         "y": rng.uniform(0, 100, m).round(1)})
    cand["capacity"] = 0.6 * demand["load"].sum()
    return demand, cand


def brute_radius(d: np.ndarray, load: np.ndarray, cap: np.ndarray, p: int) -> float:
    n, m = d.shape
    best = np.inf
    for s in itertools.combinations(range(m), p):
        for pick in itertools.product(range(p), repeat=n):
            cols = np.asarray(s)[list(pick)]
            if (np.bincount(cols, weights=load, minlength=m) <= cap + 1e-9).all():
                best = min(best, float(d[np.arange(n), cols].max()))
    return best


def check(assign: pd.DataFrame, demand: pd.DataFrame, cand: pd.DataFrame) -> float:
    """The oracle on a written assignment: every point served, capacities held; the
    largest distance, recomputed from the coordinates."""
    a = assign.merge(demand, on="id").merge(cand, left_on="facility", right_on="id",
                                            suffixes=("", "_site"))
    assert len(a) == len(demand) and (assign["status"] == "served").all()
    per_site = a.groupby("facility")["load"].sum()
    assert (per_site <= cand.set_index("id").loc[per_site.index, "capacity"] + 1e-9).all()
    dist = np.hypot(a["x"] - a["x_site"], a["y"] - a["y_site"])
    assert np.allclose(dist, a["cost"])
    return float(dist.max())


def optimum(demand: pd.DataFrame, cand: pd.DataFrame, p: int) -> float:
    d = cdist(demand[["x", "y"]].to_numpy(), cand[["x", "y"]].to_numpy())
    return brute_radius(d, demand["load"].to_numpy(), cand["capacity"].to_numpy(), p)


def test_console_script_capacitated_p_center(tmp_path):
    demand, cand = tables(2)
    d = cdist(demand[["x", "y"]].to_numpy(), cand[["x", "y"]].to_numpy())
    free = min(d[:, list(s)].min(axis=1).max() for s in itertools.combinations(range(5), 2))
    assert free < optimum(demand, cand, 2) - 1  # precondition: the capacities bind
    demand.to_csv(tmp_path / "d.csv", index=False)
    cand.to_csv(tmp_path / "c.csv", index=False)
    proc = subprocess.run(
        [str(TERRAPLAN), "locate", str(tmp_path / "d.csv"), "--strategy", "min_max_cost",
         "--facilities", "2", "--load", "load", "--candidates", str(tmp_path / "c.csv"),
         "--exact", "always", "--time-limit", "60", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    radius = check(pd.read_csv(tmp_path / "out" / "assignments.csv"), demand, cand)
    best = optimum(demand, cand, 2)
    assert radius == pytest.approx(report["objective"]) == pytest.approx(best)
    assert report["lower_bound"] <= best + 1e-9
    facilities = pd.read_csv(tmp_path / "out" / "facilities.csv")
    assert (facilities["load"] <= facilities["capacity"] + 1e-9).all()


def test_duckdb_sql_capacitated_p_center_with_max_load():
    demand, cand = tables(2)
    cap = 0.6 * demand["load"].sum()
    con = duckdb.connect()
    register_functions(con)
    con.register("d", demand)
    con.register("c", cand.drop(columns="capacity"))
    raw = con.execute(
        "SELECT terraplan_location_allocation((SELECT to_json(list(d)) FROM d), "
        "(SELECT to_json(list(c)) FROM c), NULL, NULL, NULL, NULL, ?)",
        [json.dumps({"strategy": "min_max_cost", "facilities": 2, "load": "load",
                     "max_load": cap, "exact": "always", "time_limit": 60})]).fetchone()[0]
    out = json.loads(raw)
    assert "error" not in out, out
    radius = check(pd.DataFrame(out["tables"]["assignments"]), demand, cand)
    assert radius == pytest.approx(out["report"]["objective"]) == pytest.approx(
        optimum(demand, cand, 2))


def test_limits_where_they_mean_nothing_say_why(tmp_path, capsys):
    demand, cand = tables(3)
    demand.to_csv(tmp_path / "d.csv", index=False)
    cand.to_csv(tmp_path / "c.csv", index=False)
    base = ["locate", str(tmp_path / "d.csv"), "--facilities", "2", "--load", "load",
            "--candidates", str(tmp_path / "c.csv"), "--out", str(tmp_path / "out")]
    for extra, why in ((["--strategy", "max_market_share"], "expected share"),
                       (["--strategy", "max_backup_coverage", "--radius", "50"],
                        "not which one serves it")):
        code = main([*base, *extra])
        err = capsys.readouterr().err
        assert code != 0 and why in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
    # the capacity sum cannot hold the demand: a proof, exit 3, with the numbers
    cand.assign(capacity=0.3 * demand["load"].sum()).to_csv(tmp_path / "c.csv", index=False)
    code = main([*base, "--strategy", "min_max_cost"])
    err = capsys.readouterr().err
    assert code == 3 and "largest capacities sum to" in err and "total demand is" in err

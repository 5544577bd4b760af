"""Load limits with max_coverage and min_facilities (capacitated coverage and set cover,
issue #13), checked by brute force over every site subset and every assignment."""

from __future__ import annotations

import itertools
import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

from components.locate import LocationAllocator
from udfs.duckdb import register_functions


def instance(seed: int, n: int = 8, m: int = 5):
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 100, (n, 2))
    sites = rng.uniform(0, 100, (m, 2))
    return np.round(cdist(pts, sites)), rng.integers(1, 6, n).astype(float), \
        rng.integers(1, 4, n).astype(float)


def covered_best(d, w, load, cap, radius, subset) -> float:
    """Most demand weight the sites in ``subset`` cover, each point whole or not at all:
    depth-first over every point's choices (a reachable site with room, or uncovered)."""
    n = len(w)
    used = np.zeros(len(subset))
    rest = np.r_[np.cumsum(w[::-1])[::-1], 0.0]  # weight of points i.. still to place
    best = [0.0]

    def place(i: int, got: float) -> None:
        if got + rest[i] <= best[0]:
            return
        if i == n:
            best[0] = got
            return
        for k, j in enumerate(subset):
            if d[i, j] <= radius and used[k] + load[i] <= cap + 1e-9:
                used[k] += load[i]
                place(i + 1, got + w[i])
                used[k] -= load[i]
        place(i + 1, got)

    place(0, 0.0)
    return best[0]


@pytest.mark.parametrize("seed,p", [(1, 2), (2, 2), (3, 3)])
def test_capacitated_max_coverage(seed, p):
    d, w, load = instance(seed)
    radius, cap = 45.0, 0.35 * load.sum()
    best = max(covered_best(d, w, load, cap, radius, s)
               for s in itertools.combinations(range(d.shape[1]), p))
    la = LocationAllocator("max_coverage", p, radius=radius, max_load=cap,
                           exact="always").solve(d, w, loads=load)
    assert w.sum() - la.objective_ == pytest.approx(best)
    assert la.status_ == "optimal"
    a = la.assignment_
    served = a >= 0
    assert (d[served, a[served]] <= radius).all()
    assert (np.bincount(a[served], weights=load[served], minlength=d.shape[1]) <= cap).all()
    # the uncapacitated answer covers more: the limits did bind
    free = LocationAllocator("max_coverage", p, radius=radius).solve(d, w)
    assert free.objective_ <= la.objective_


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_capacitated_set_cover(seed):
    d, w, load = instance(seed)
    radius = 70.0
    cap = 0.4 * load.sum()
    fewest = min(k for k in range(1, 6) for s in itertools.combinations(range(5), k)
                 if covered_best(d, np.ones(len(w)), load, cap, radius, s) == len(w))
    la = LocationAllocator("min_facilities", radius=radius, max_load=cap,
                           exact="always").solve(d, w, loads=load)
    assert la.objective_ == fewest and len(la.open_) == fewest
    assert la.lower_bound_ <= fewest
    a = la.assignment_
    assert (a >= 0).all() and (d[np.arange(len(a)), a] <= radius).all()
    assert (np.bincount(a, weights=load, minlength=5) <= cap + 1e-9).all()
    uncap = LocationAllocator("min_facilities", radius=radius).solve(d, w)
    assert uncap.objective_ <= fewest


def test_duckdb_sql_capacitated_set_cover():
    d, w, load = instance(5)
    demand = pd.DataFrame({"id": [f"p{i}" for i in range(8)], "w": w, "load": load})
    cand = pd.DataFrame({"id": [f"s{j}" for j in range(5)], "capacity": 0.4 * load.sum()})
    table = pd.DataFrame([(f"p{i}", f"s{j}", d[i, j]) for i in range(8) for j in range(5)],
                         columns=["origin", "destination", "cost"])
    con = duckdb.connect()
    register_functions(con)
    for name, df in (("d", demand), ("c", cand), ("k", table)):
        con.register(name, df)
    raw = con.execute(
        "SELECT terraplan_location_allocation((SELECT to_json(list(d)) FROM d), "
        "(SELECT to_json(list(c)) FROM c), NULL, NULL, NULL, (SELECT to_json(list(k)) FROM k), "
        "?)", [json.dumps({"strategy": "min_facilities", "radius": 70, "load": "load",
                           "weight": "w", "exact": "always"})]).fetchone()[0]
    out = json.loads(raw)
    direct = LocationAllocator("min_facilities", radius=70.0, max_load=0.4 * load.sum(),
                               exact="always").solve(d, w, loads=load)
    assert out["report"]["objective"] == direct.objective_
    f = pd.DataFrame(out["tables"]["facilities"])
    assert (f["load"] <= 0.4 * load.sum() + 1e-9).all()


def backup_score(d, w, radius, subset, beta) -> float:
    counts = (d[:, list(subset)] <= radius).sum(axis=1)
    return float(w @ ((1 - beta) * (counts >= 1) + beta * (counts >= 2)))


@pytest.mark.parametrize("seed,p,beta", [(7, 2, 0.5), (8, 3, 0.3), (9, 3, 0.8)])
def test_backup_coverage_matches_brute_force(seed, p, beta):
    d, w, _load = instance(seed, n=14, m=7)
    radius = 50.0
    best = max(backup_score(d, w, radius, s, beta)
               for s in itertools.combinations(range(7), p))
    for exact in ("always", "never"):
        la = LocationAllocator("max_backup_coverage", p, radius=radius, backup_weight=beta,
                               exact=exact).solve(d, w)
        assert w.sum() - la.lower_bound_ >= best - 1e-9  # a valid upper bound on the score
        assert backup_score(d, w, radius, la.open_, beta) == pytest.approx(
            w.sum() - la.objective_)
        if exact == "always":
            assert w.sum() - la.objective_ == pytest.approx(best)
            assert la.status_ == "optimal"
    # beta = 0 is plain max coverage
    plain = LocationAllocator("max_coverage", p, radius=radius, exact="always").solve(d, w)
    zero = LocationAllocator("max_backup_coverage", p, radius=radius, backup_weight=0.0,
                             exact="always").solve(d, w)
    assert zero.objective_ == pytest.approx(plain.objective_)


def test_cli_backup_and_capacitated_coverage(tmp_path, capsys):
    from workflows.cli import main

    d, w, load = instance(9, n=14, m=7)
    demand = pd.DataFrame({"id": [f"p{i}" for i in range(14)], "w": w, "load": load})
    table = pd.DataFrame([(f"p{i}", f"s{j}", d[i, j]) for i in range(14) for j in range(7)],
                         columns=["origin", "destination", "cost"])
    cand = pd.DataFrame({"id": [f"s{j}" for j in range(7)]})
    demand.to_csv(tmp_path / "d.csv", index=False)
    table.to_csv(tmp_path / "k.csv", index=False)
    cand.to_csv(tmp_path / "c.csv", index=False)
    base = ["locate", str(tmp_path / "d.csv"), "--candidates", str(tmp_path / "c.csv"),
            "--costs", str(tmp_path / "k.csv"), "--weight", "w", "--facilities", "3",
            "--radius", "50", "--exact", "always"]
    assert main([*base, "--strategy", "max_backup_coverage", "--backup-weight", "0.3",
                 "--out", str(tmp_path / "b")]) == 0, capsys.readouterr().err
    rep = json.loads((tmp_path / "b" / "report.json").read_text())
    best = max(backup_score(d, w, 50.0, s, 0.3) for s in itertools.combinations(range(7), 3))
    assert w.sum() - rep["objective"] == pytest.approx(best)
    cap = 0.3 * load.sum()
    assert main([*base, "--strategy", "max_coverage", "--load", "load", "--max-load",
                 str(cap), "--out", str(tmp_path / "m")]) == 0, capsys.readouterr().err
    rep = json.loads((tmp_path / "m" / "report.json").read_text())
    best = max(covered_best(d, w, load, cap, 50.0, s)
               for s in itertools.combinations(range(7), 3))
    assert w.sum() - rep["objective"] == pytest.approx(best)

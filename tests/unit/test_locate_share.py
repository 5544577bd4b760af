"""Huff market share (issue #13): a hand computation, and brute force over store subsets.

The oracle here computes the Huff probabilities from the formula itself
(``P_ij = A_j d_ij^-lambda / sum_k A_k d_ik^-lambda`` over our open stores and the
competitors, exponential decay alike, nothing beyond the cutoff) and enumerates every
subset of candidates.
"""

from __future__ import annotations

import itertools
import json
import time

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

import components.highs as highs
from components.locate import huff, location_allocation
from tests.unit.test_locate_honesty import cut_short_highs
from udfs.duckdb import register_functions
from workflows.cli import main


def test_hand_computation():
    # three customers on a line, our store S2 at x=18 (A=2), a rival R at (10, 5) (A=3),
    # power decay lambda=2. By hand: a: (2/18^2)/(2/18^2 + 3/125) = 0.204583 of 100;
    # b: (2/64)/(2/64 + 3/25) = 0.206612 of 200; c: (2/4)/(2/4 + 3/125) = 0.954198 of 300.
    d = pd.DataFrame({"id": ["a", "b", "c"], "x": [0.0, 10.0, 20.0], "y": [0.0] * 3,
                      "w": [100.0, 200.0, 300.0]})
    cand = pd.DataFrame({"id": ["S1", "S2"], "x": [2.0, 18.0], "y": [0.0, 0.0],
                         "pull": [1.0, 2.0]})
    rival = pd.DataFrame({"id": ["R"], "x": [10.0], "y": [5.0], "pull": [3.0]})
    res = location_allocation(d, candidates=cand, competitors=rival, facilities=1,
                              strategy="max_market_share", weight="w", attractiveness="pull")
    by_hand = 100 * 0.204583 + 200 * 0.206612 + 300 * 0.954198
    f = res.tables["facilities"].set_index("id")
    assert bool(f.loc["S2", "open"]) and not bool(f.loc["S1", "open"])
    assert f.loc["S2", "load"] == pytest.approx(by_hand, abs=1e-3)
    assert f.loc["R", "load"] == pytest.approx(600 - by_hand, abs=1e-3)
    assert res.report["market_share"] == pytest.approx(by_hand / 600, abs=1e-6)
    # S1 instead: a: (1/4)/(1/4+0.024), b: (1/64)/(1/64+0.12), c: (1/324)/(1/324+0.024)
    s1 = 100 * 0.912409 + 200 * 0.115207 + 300 * 0.114035
    assert by_hand > s1  # so S2 is the right single store
    assert res.report["status"] == "optimal"


def huff_instance(seed: int, n: int = 14, m: int = 6, k: int = 2):
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 100, (n, 2))
    sites = rng.uniform(0, 100, (m, 2))
    rivals = rng.uniform(0, 100, (k, 2))
    demand = pd.DataFrame({"id": [f"p{i}" for i in range(n)], "x": pts[:, 0],
                           "y": pts[:, 1], "w": rng.uniform(1, 10, n)})
    cand = pd.DataFrame({"id": [f"s{j}" for j in range(m)], "x": sites[:, 0],
                         "y": sites[:, 1], "attractiveness": rng.uniform(1, 5, m)})
    comp = pd.DataFrame({"id": [f"r{j}" for j in range(k)], "x": rivals[:, 0],
                         "y": rivals[:, 1], "attractiveness": rng.uniform(1, 5, k)})
    return demand, cand, comp


def oracle_share(demand, cand, comp, subset, decay, rate, cutoff):
    pts = demand[["x", "y"]].to_numpy()

    def util(sites):
        d = cdist(pts, sites[["x", "y"]].to_numpy())
        f = d ** -rate if decay == "power" else np.exp(-rate * d)
        f = np.where(d <= (cutoff if cutoff is not None else np.inf), f, 0.0)
        return f * sites["attractiveness"].to_numpy()[None, :]

    ours = util(cand.iloc[list(subset)]).sum(axis=1)
    theirs = util(comp).sum(axis=1)
    den = ours + theirs
    share = np.divide(ours, den, out=np.zeros_like(ours), where=den > 0)
    return float((demand["w"].to_numpy() * share).sum())


@pytest.mark.parametrize("seed,p,decay,rate,cutoff", [
    (1, 2, "power", 2.0, None), (2, 3, "power", 1.5, 45.0),
    (3, 2, "exponential", 0.05, None), (4, 3, "exponential", 0.08, 60.0)])
def test_max_market_share_matches_brute_force(seed, p, decay, rate, cutoff):
    demand, cand, comp = huff_instance(seed)
    best = max(oracle_share(demand, cand, comp, s, decay, rate, cutoff)
               for s in itertools.combinations(range(len(cand)), p))
    params = dict(facilities=p, strategy="max_market_share", weight="w", decay=decay,
                  decay_rate=rate, impedance_cutoff=cutoff)
    res = location_allocation(demand, candidates=cand, competitors=comp, **params)
    total = demand["w"].sum()
    assert total - res.report["objective"] == pytest.approx(best, rel=1e-9)
    opened = [int(i[1:]) for i in res.report["open_facilities"]]
    assert oracle_share(demand, cand, comp, opened, decay, rate, cutoff) == pytest.approx(best)
    assert res.report["status"] == "optimal"
    # heuristic alone: its bound must still be valid (at or above the best share)
    h = location_allocation(demand, candidates=cand, competitors=comp, exact="never", **params)
    assert total - h.report["lower_bound"] >= best * (1 - 1e-9)
    # the outer-approximation model's own bound (before any clamping), from a poor start
    pts = demand[["x", "y"]].to_numpy()
    u = huff.utilities(cdist(pts, cand[["x", "y"]].to_numpy()),
                       cand["attractiveness"].to_numpy(), decay, rate, cutoff, 1e-9)
    c = huff.utilities(cdist(pts, comp[["x", "y"]].to_numpy()),
                       comp["attractiveness"].to_numpy(), decay, rate, cutoff, 1e-9).sum(axis=1)
    m = len(cand)
    worst = min(itertools.combinations(range(m), p),
                key=lambda s: oracle_share(demand, cand, comp, s, decay, rate, cutoff))
    for rounds in (1, 8):
        bound, _sites, _info = huff.upper_bound(
            u, c, demand["w"].to_numpy(), p, np.zeros(m, bool), np.ones(m, bool),
            np.asarray(worst), time.monotonic() + 30, max_rounds=rounds)
        assert bound >= best * (1 - 1e-9)


@pytest.mark.parametrize("seed,target", [(5, 0.4), (6, 0.55), (7, 0.7)])
def test_target_market_share_is_the_fewest_stores(seed, target):
    demand, cand, comp = huff_instance(seed, m=7)
    need = target * demand["w"].sum()
    fewest = min(len(s) for r in range(1, 8) for s in itertools.combinations(range(7), r)
                 if oracle_share(demand, cand, comp, s, "power", 2.0, None) >= need)
    res = location_allocation(demand, candidates=cand, competitors=comp, weight="w",
                              strategy="target_market_share", target_share=target)
    assert res.report["objective"] == fewest
    assert res.report["market_share"] >= target - 1e-12
    assert res.report["lower_bound"] <= fewest


def test_unreachable_target_is_proven_and_exits_3(tmp_path, capsys):
    demand, cand, comp = huff_instance(8, m=3)
    demand.to_csv(tmp_path / "d.csv", index=False)
    cand.to_csv(tmp_path / "c.csv", index=False)
    comp.to_csv(tmp_path / "r.csv", index=False)
    code = main(["locate", str(tmp_path / "d.csv"), "--strategy", "target_market_share",
                 "--target-share", "0.99", "--weight", "w", "--candidates",
                 str(tmp_path / "c.csv"), "--competitors", str(tmp_path / "r.csv"),
                 "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 3 and "below the target 99.00 %" in err and "Traceback" not in err


def test_cli_and_duckdb_sql_agree(tmp_path, capsys):
    demand, cand, comp = huff_instance(9)
    demand.to_csv(tmp_path / "d.csv", index=False)
    cand.to_csv(tmp_path / "c.csv", index=False)
    comp.to_csv(tmp_path / "r.csv", index=False)
    code = main(["locate", str(tmp_path / "d.csv"), "--strategy", "max_market_share",
                 "--facilities", "2", "--weight", "w", "--decay", "exponential",
                 "--decay-rate", "0.05", "--candidates", str(tmp_path / "c.csv"),
                 "--competitors", str(tmp_path / "r.csv"), "--out", str(tmp_path / "o")])
    assert code == 0, capsys.readouterr().err
    cli = json.loads((tmp_path / "o" / "report.json").read_text())
    con = duckdb.connect()
    register_functions(con)
    for name, df in (("d", demand), ("c", cand), ("r", comp)):
        con.register(name, df)
    raw = con.execute(
        "SELECT terraplan_location_allocation((SELECT to_json(list(d)) FROM d), "
        "(SELECT to_json(list(c)) FROM c), NULL, (SELECT to_json(list(r)) FROM r), NULL, "
        "NULL, ?)", [json.dumps({"facilities": 2, "weight": "w", "strategy":
                                 "max_market_share", "decay": "exponential",
                                 "decay_rate": 0.05})]).fetchone()[0]
    sql = json.loads(raw)["report"]
    assert sql["open_facilities"] == cli["open_facilities"]
    assert sql["market_share"] == pytest.approx(cli["market_share"])


@pytest.mark.parametrize("mode", ["incumbent", "nothing"])
def test_cut_short_highs_never_claims_optimal_share(monkeypatch, mode):
    monkeypatch.setattr(highs, "milp", cut_short_highs(mode))
    demand, cand, comp = huff_instance(10)
    best = max(oracle_share(demand, cand, comp, s, "power", 2.0, None)
               for s in itertools.combinations(range(len(cand)), 2))
    res = location_allocation(demand, candidates=cand, competitors=comp, facilities=2,
                              strategy="max_market_share", weight="w", exact="always")
    total = demand["w"].sum()
    assert total - res.report["lower_bound"] >= best * (1 - 1e-9)  # upper bound still valid
    assert res.report["status"] != "optimal"

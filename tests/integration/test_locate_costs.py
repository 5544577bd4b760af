"""Inputs users could not express (issue #13): their own cost matrix (``--costs``), a load
separate from the cost weight (``--load``), and road-network costs without coordinates.

Each answer is checked against a brute force written here (every site subset, every
single-sourced assignment), through the CLI, the DuckDB SQL function and a workflow.
"""

from __future__ import annotations

import itertools
import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

from components.locate import location_allocation
from udfs.duckdb import register_functions
from workflows.cli import main


def sparse_instance(seed: int, n: int = 9, m: int = 5, keep: float = 0.6):
    """Demand ids only (no coordinates), sites S0..S{m-1}, a sparse long cost table."""
    rng = np.random.default_rng(seed)
    cost = rng.integers(1, 60, (n, m)).astype(float)
    allowed = rng.random((n, m)) < keep
    allowed[np.arange(n), rng.integers(0, m, n)] = True  # every point has a pair
    demand = pd.DataFrame({"id": [f"p{i}" for i in range(n)],
                           "w": rng.integers(1, 9, n).astype(float),
                           "load": rng.integers(1, 6, n).astype(float)})
    sites = pd.DataFrame({"id": [f"S{j}" for j in range(m)]})
    ii, jj = np.nonzero(allowed)
    table = pd.DataFrame({"origin": demand["id"].to_numpy()[ii],
                          "destination": sites["id"].to_numpy()[jj], "cost": cost[ii, jj]})
    return demand, sites, table, np.where(allowed, cost, np.inf)


def brute_median(c: np.ndarray, w: np.ndarray, p: int) -> float:
    best = np.inf
    for s in itertools.combinations(range(c.shape[1]), p):
        near = c[:, list(s)].min(axis=1)
        if np.isfinite(near).all():
            best = min(best, float((w * near).sum()))
    return best


def brute_capacitated(c: np.ndarray, w: np.ndarray, load: np.ndarray, cap: float,
                      p: int) -> float:
    """Every site subset and every single-sourced assignment within the capacity."""
    n, _m = c.shape
    best = np.inf
    for s in itertools.combinations(range(c.shape[1]), p):
        for pick in itertools.product(range(p), repeat=n):
            sites = np.asarray(s)[list(pick)]
            unit = c[np.arange(n), sites]
            if not np.isfinite(unit).all():
                continue
            if (np.bincount(pick, weights=load, minlength=p) > cap + 1e-9).any():
                continue
            best = min(best, float((w * unit).sum()))
    return best


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cost_table_matches_brute_force_through_the_cli(tmp_path, capsys, seed):
    demand, sites, table, c = sparse_instance(seed)
    demand.drop(columns="load").to_csv(tmp_path / "d.csv", index=False)  # no coordinates
    sites.to_csv(tmp_path / "s.csv", index=False)
    table.to_csv(tmp_path / "c.csv", index=False)
    code = main(["locate", str(tmp_path / "d.csv"), "--facilities", "2", "--weight", "w",
                 "--candidates", str(tmp_path / "s.csv"), "--costs", str(tmp_path / "c.csv"),
                 "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    best = brute_median(c, demand["w"].to_numpy(), 2)
    assert report["objective"] == pytest.approx(best)
    assert report["distance"] == "matrix" and report["status"] == "optimal"
    a = pd.read_csv(tmp_path / "out" / "assignments.csv")
    # only pairs of the table are used, at the table's cost
    used = a.merge(table, left_on=["id", "facility"], right_on=["origin", "destination"])
    assert len(used) == len(demand)
    assert np.allclose(used["cost_x"], used["cost_y"])


@pytest.mark.parametrize("seed", [4, 5])
def test_load_is_separate_from_the_weight(seed):
    demand, sites, table, c = sparse_instance(seed, n=7, m=4, keep=0.8)
    cap = 0.6 * demand["load"].sum()
    res = location_allocation(demand, candidates=sites.assign(capacity=cap), costs=table,
                              facilities=2, weight="w", load="load", exact="always",
                              time_limit=30)
    best = brute_capacitated(c, demand["w"].to_numpy(), demand["load"].to_numpy(), cap, 2)
    assert res.report["objective"] == pytest.approx(best)
    f = res.tables["facilities"]
    assert (f["load"] <= cap + 1e-9).all()
    a = res.tables["assignments"].merge(demand, on="id")
    per_site = a.groupby("facility")["load"].sum()
    assert np.allclose(f.set_index("id").loc[per_site.index, "load"], per_site)
    # the weight column still scales the cost, the load column does not
    assert np.allclose(a["weighted_cost"], a["cost"] * a["w"])


def test_duckdb_sql_function_takes_the_cost_table():
    demand, sites, table, c = sparse_instance(7)
    con = duckdb.connect()
    register_functions(con)
    for name, df in (("d", demand), ("s", sites), ("c", table)):
        con.register(name, df)
    raw = con.execute(
        "SELECT terraplan_location_allocation((SELECT to_json(list(d)) FROM d), "
        "(SELECT to_json(list(s)) FROM s), NULL, NULL, NULL, "
        "(SELECT to_json(list(c)) FROM c), ?)",
        [json.dumps({"facilities": 2, "weight": "w"})]).fetchone()[0]
    out = json.loads(raw)
    assert "error" not in out, out
    assert out["report"]["objective"] == pytest.approx(brute_median(c, demand["w"].to_numpy(), 2))


def test_workflow_chains_the_costs_component_into_locate(tmp_path):
    rng = np.random.default_rng(3)
    pts = pd.DataFrame({"id": [f"q{i}" for i in range(12)], "x": rng.uniform(0, 50, 12),
                        "y": rng.uniform(0, 50, 12), "w": rng.uniform(1, 5, 12)})
    pts.to_csv(tmp_path / "pts.csv", index=False)
    db = tmp_path / "w.duckdb"
    (tmp_path / "wf.yaml").write_text(f"""
name: own_costs
database: {db}
sources:
  pts: {{path: pts.csv, id_columns: [id]}}
steps:
  - name: price
    uses: cost_matrix
    inputs: {{points: pts}}
    with: {{x: x, y: y}}
    outputs: {{costs: od}}
  - name: place
    uses: location_allocation
    inputs: {{demand: pts, costs: od}}
    with: {{facilities: 3, weight: w, seed: 0}}
    outputs: {{assignments: hubs, facilities: hub_sites}}
""")
    assert main(["run", str(tmp_path / "wf.yaml")]) == 0
    con = duckdb.connect(str(db), read_only=True)
    try:
        hubs = con.sql("SELECT * FROM hubs").df()
    finally:
        con.close()
    d = np.hypot(pts["x"].to_numpy()[:, None] - pts["x"].to_numpy()[None, :],
                 pts["y"].to_numpy()[:, None] - pts["y"].to_numpy()[None, :])
    best = brute_median(d, pts["w"].to_numpy(), 3)
    assert hubs["weighted_cost"].sum() == pytest.approx(best, rel=1e-6)


def test_network_distance_needs_no_coordinates():
    rng = np.random.default_rng(11)
    n = 10
    ids = [f"n{i}" for i in range(n)]
    ring = [(ids[i], ids[(i + 1) % n], float(rng.integers(1, 9))) for i in range(n)]
    chords = [(ids[0], ids[5], 3.0), (ids[2], ids[7], 4.0)]
    edges = pd.DataFrame(ring + chords, columns=["from_id", "to_id", "cost"])
    edges = pd.concat([edges, edges.rename(columns={"from_id": "to_id", "to_id": "from_id"})])
    demand = pd.DataFrame({"id": ids, "w": rng.integers(1, 5, n).astype(float)})
    res = location_allocation(demand, edges=edges, distance="network", facilities=3, weight="w")
    g = csr_matrix((edges["cost"], (edges["from_id"].map(ids.index),
                                    edges["to_id"].map(ids.index))), shape=(n, n))
    d = shortest_path(g, directed=True)
    assert res.report["objective"] == pytest.approx(brute_median(d, demand["w"].to_numpy(), 3))


def test_cost_table_mistakes_are_one_line_errors(tmp_path, capsys):
    demand, sites, table, _c = sparse_instance(1)
    demand.to_csv(tmp_path / "d.csv", index=False)
    sites.to_csv(tmp_path / "s.csv", index=False)
    cases = {
        "bad": (table.assign(cost=table["cost"].where(table.index != 2, -1.0)),
                "finite numbers >= 0"),
        "dup": (pd.concat([table, table.iloc[[0]]]), "more than once"),
        "nojoin": (table.assign(origin="x" + table["origin"]), "joins a demand id"),
        "cols": (table.rename(columns={"cost": "minutes"}), "missing cost"),
    }
    for name, (df, message) in cases.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
        code = main(["locate", str(tmp_path / "d.csv"), "--facilities", "2",
                     "--candidates", str(tmp_path / "s.csv"),
                     "--costs", str(tmp_path / f"{name}.csv"), "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert code == 2 and message in err and "Traceback" not in err, (name, err)
    code = main(["locate", str(tmp_path / "d.csv"), "--facilities", "2", "--distance",
                 "euclidean", "--costs", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "o")])
    assert code == 2 and "not both" in capsys.readouterr().err

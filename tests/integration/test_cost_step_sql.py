"""A workflow's cost step runs as SQL in DuckDB where a template exists (#10).

All straight-line pairs (planar or great circle) are computed by the ``costs/planar`` /
``costs/great_circle`` template inside DuckDB: the points never become a DataFrame (a
spy on the warehouse's table reads says so), the run record says ``engine: sql``, and
the published table equals what the Python path gives for the same inputs. Parameters
without a template (``k``) and unclean data (a NULL coordinate) take the Python path,
whose messages stay exactly the ones a user knows.
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from components.costs import run as cost_matrix
from components.errors import InputError
from udfs.duckdb import DuckDBWarehouse
from workflows.runner import run_workflow


def _points(tmp_path, *, lonlat: bool, n: int = 70, m: int = 12, seed: int = 3):
    rng = np.random.default_rng(seed)
    a, b = ("lon", "lat") if lonlat else ("x", "y")
    scale = (10.0, 5.0) if lonlat else (1000.0, 1000.0)
    pts = pd.DataFrame({"unit": [f"u{i:03d}" for i in rng.permutation(n)],
                        a: rng.uniform(-scale[0], scale[0], n).round(5),
                        b: rng.uniform(-scale[1], scale[1], n).round(5)})
    ctr = pts.sample(m, random_state=seed).rename(columns={"unit": "site"})
    ctr["site"] = [f"c{i}" for i in range(m)]
    pts.to_csv(tmp_path / "units.csv", index=False)
    ctr.to_csv(tmp_path / "centers.csv", index=False)
    return pts, ctr, (a, b)


def _workflow(tmp_path, coords, params, *, to: bool = True):
    a, b = coords
    step = {"name": "unit_costs", "uses": "cost_matrix",
            "inputs": {"points": "units", **({"to": "centers"} if to else {})},
            "with": {"id": "unit", a: a, b: b, **({"to_id": "site"} if to else {}), **params},
            "outputs": {"costs": "unit_costs"}}
    wf = {"name": "costs_in_sql",
          "sources": {"units": {"path": "units.csv", "id_columns": ["unit"]},
                      "centers": {"path": "centers.csv", "id_columns": ["site"]}},
          "steps": [step]}
    path = tmp_path / "wf.yaml"
    path.write_text(yaml.safe_dump(wf, sort_keys=False))
    return path


@pytest.fixture
def reads(monkeypatch):
    """Every table the runner pulls into pandas, by name (a spy on the warehouse)."""
    seen: list[str] = []
    original = DuckDBWarehouse.read_table

    def spy(self, name):
        seen.append(name)
        return original(self, name)

    monkeypatch.setattr(DuckDBWarehouse, "read_table", spy)
    return seen


def _published(db) -> tuple[pd.DataFrame, dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        table = con.execute("SELECT origin_id, destination_id, cost FROM unit_costs").df()
        report = con.execute("SELECT report FROM terraplan_runs WHERE step = 'unit_costs'"
                             ).fetchall()[-1][0]
    finally:
        con.close()
    return table, json.loads(report)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["origin_id", "destination_id"]).reset_index(drop=True)


@pytest.mark.parametrize(("lonlat", "to", "unit"), [(False, True, "km"), (True, True, "mi"),
                                                    (False, False, "km")])
def test_a_cost_step_runs_as_sql_and_equals_the_python_path(tmp_path, reads, lonlat, to, unit):
    pts, ctr, coords = _points(tmp_path, lonlat=lonlat)
    params = {"unit": unit} if lonlat else {}
    db = tmp_path / "w.duckdb"
    summary = run_workflow(_workflow(tmp_path, coords, params, to=to), database=str(db))
    assert not reads, f"rows were pulled into pandas: {reads}"
    got, report = _published(db)
    assert summary.steps[0].report["engine"] == "sql" and report["engine"] == "sql"
    n, m = len(pts), (len(ctr) if to else len(pts))
    assert report["pairs_written"] == report["rows"] == len(got) == n * m
    assert (report["n_origins"], report["n_destinations"]) == (n, m)
    a, b = coords
    python_result = cost_matrix(pts, **({"to": ctr, "to_id": "site"} if to else {}),
                                id="unit", **{a: a, b: b}, **params)
    python = python_result.tables["costs"]
    for key, want in python_result.report.items():  # the same report, taken in SQL
        if key == "seconds":
            continue
        if key == "cost":
            for stat, value in want.items():
                assert report["cost"][stat] == pytest.approx(value, rel=1e-12), stat
        else:
            assert report[key] == want, key
    want, have = _sorted(python), _sorted(got)
    assert have["origin_id"].tolist() == want["origin_id"].tolist()
    assert have["destination_id"].tolist() == want["destination_id"].tolist()
    np.testing.assert_allclose(have["cost"], want["cost"], rtol=1e-12, atol=1e-9)
    assert report["metric"] == ("haversine" if lonlat else "euclidean")


def test_without_a_template_the_python_path_runs(tmp_path, reads):
    _, _, coords = _points(tmp_path, lonlat=False)
    db = tmp_path / "w.duckdb"
    summary = run_workflow(_workflow(tmp_path, coords, {"k": 2}), database=str(db))
    assert summary.steps[0].report.get("engine") != "sql"
    assert reads  # k nearest has no template: the rows went through the component
    got, _ = _published(db)
    assert len(got) == 70 * 2


def test_unclean_data_take_the_python_path_and_its_message(tmp_path, reads):
    pts, _, coords = _points(tmp_path, lonlat=False)
    pts.loc[5, "x"] = None
    pts.to_csv(tmp_path / "units.csv", index=False)
    with pytest.raises(InputError) as caught:
        run_workflow(_workflow(tmp_path, coords, {}), database=str(tmp_path / "w.duckdb"))
    with pytest.raises(InputError) as direct:
        cost_matrix(pts, id="unit", x="x", y="y")
    assert str(caught.value) == f"step 'unit_costs': {direct.value}"
    assert reads


def test_more_pairs_than_max_pairs_take_the_python_path_and_its_message(tmp_path, reads):
    _, _, coords = _points(tmp_path, lonlat=False)
    with pytest.raises(InputError, match=r"70 x 12 = 840 pairs exceed max_pairs=100"):
        run_workflow(_workflow(tmp_path, coords, {"max_pairs": 100}),
                     database=str(tmp_path / "w.duckdb"))

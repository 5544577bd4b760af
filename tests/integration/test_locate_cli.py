"""`terraplan locate`: the CLI contract, the console script and the DuckDB SQL function."""

from __future__ import annotations

import json
import subprocess

import duckdb
import numpy as np
import pandas as pd
import pytest

from components.locate import location_allocation
from tests.conftest import ROOT
from udfs.duckdb import register_functions
from workflows.cli import main

TERRAPLAN = ROOT / ".venv" / "bin" / "terraplan"


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    n = 40
    demand = pd.DataFrame({"id": [f"d{i:02d}" for i in range(n)],
                           "x": rng.uniform(0, 100, n).round(3),
                           "y": rng.uniform(0, 100, n).round(3),
                           "sales": rng.uniform(4, 8, n).round(3)})
    demand.to_csv(tmp_path / "demand.csv", index=False)
    cand = pd.DataFrame({"id": ["c1", "c2", "c3", "d05", "d17"],
                         "x": [25.0, 75.0, 25.0, None, None], "y": [25.0, 25.0, 75.0, None, None]})
    cand.to_csv(tmp_path / "cand.csv", index=False)
    pd.DataFrame({"id": ["c1"]}).to_csv(tmp_path / "req.csv", index=False)
    pd.DataFrame({"id": ["rival"], "x": [80.0], "y": [80.0]}).to_csv(tmp_path / "comp.csv",
                                                                      index=False)
    return tmp_path, demand


def test_cli_contract_through_main(files, capsys):
    tmp, demand = files
    out = tmp / "out"
    code = main(["locate", str(tmp / "demand.csv"), "--facilities", "3", "--weight", "sales",
                 "--candidates", str(tmp / "cand.csv"), "--required", str(tmp / "req.csv"),
                 "--competitors", str(tmp / "comp.csv"), "--seed", "1", "--time-limit", "20",
                 "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    a = pd.read_csv(out / "assignments.csv", dtype={"id": str, "facility": str})
    assert list(a.columns[:2]) == ["id", "facility"] and len(a) == len(demand)
    f = pd.read_csv(out / "facilities.csv")
    assert {"id", "type", "open", "load", "capacity", "utilisation"} <= set(f.columns)
    opened = set(f.loc[f["open"] & (f["type"] != "competitor"), "id"])
    assert "c1" in opened and len(opened) == 3
    assert set(a["facility"].dropna()) <= opened | {"rival"}
    report = json.loads((out / "report.json").read_text())
    for key in ("strategy", "status", "objective", "lower_bound", "gap", "coverage_pct",
                "unassigned", "seconds"):
        assert key in report
    assert report["lower_bound"] <= report["objective"] + 1e-6


def test_console_script_capacity_and_closest_assignment(files):
    tmp, demand = files
    out = tmp / "out2"
    total = demand["sales"].sum()
    proc = subprocess.run([str(TERRAPLAN), "locate", str(tmp / "demand.csv"), "--facilities", "4",
                           "--weight", "sales", "--x", "x", "--y", "y",
                           "--min-load", str(0.6 * total / 4), "--max-load", str(1.4 * total / 4),
                           "--closest-assignment", "--seed", "3", "--time-limit", "5",
                           "--exact", "never",
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    a = pd.read_csv(out / "assignments.csv", dtype={"id": str, "facility": str})
    assert a["facility"].notna().all()
    loads = a.groupby("facility")["weight"].sum()
    assert len(loads) == 4
    assert (loads <= 1.4 * total / 4 + 1e-6).all() and (loads >= 0.6 * total / 4 - 1e-6).all()


def test_cli_bad_input_fails_before_solving(files, capsys):
    tmp, _ = files
    code = main(["locate", str(tmp / "demand.csv"), "--facilities", "3", "--weight", "sales",
                 "--max-load", "20", "--out", str(tmp / "bad")])
    err = capsys.readouterr().err
    assert code == 3 and "the 3 largest capacities sum to 60 but total demand is" in err
    code = main(["locate", str(tmp / "demand.csv"), "--facilities", "9",
                 "--candidates", str(tmp / "cand.csv"), "--out", str(tmp / "bad")])
    assert code == 2 and "9 facilities requested but only 5" in capsys.readouterr().err


def test_cli_coverage_strategies(files):
    tmp, _ = files
    for strategy, extra in (("max_coverage", ["--facilities", "2"]), ("min_facilities", []),
                            ("min_max_cost", ["--facilities", "3"])):
        out = tmp / strategy
        code = main(["locate", str(tmp / "demand.csv"), "--strategy", strategy, "--radius", "40",
                     *extra, "--out", str(out)])
        assert code == 0
        report = json.loads((out / "report.json").read_text())
        # the default stop tolerance (--gap 0.0001) may end the proof early: then the
        # answer is 'feasible' with its gap, never 'optimal'
        assert report["strategy"] == strategy and report["gap"] <= 1e-4
        assert (report["status"] == "optimal") == (report["gap"] <= 1e-6)
        code = main(["locate", str(tmp / "demand.csv"), "--strategy", strategy, "--radius", "40",
                     *extra, "--gap", "0", "--out", str(out)])
        report = json.loads((out / "report.json").read_text())
        assert code == 0 and report["status"] == "optimal", report


def test_cli_facilities_mode(files):
    tmp, demand = files
    sites = demand[["id"]].copy()
    sites["opening_cost"] = 150.0
    sites.to_csv(tmp / "costly.csv", index=False)
    out = tmp / "auto"
    code = main(["locate", str(tmp / "demand.csv"), "--weight", "sales", "--candidates",
                 str(tmp / "costly.csv"), "--facilities-mode", "auto", "--out", str(out)])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert 1 <= report["n_open"] < len(demand)
    a = pd.read_csv(out / "assignments.csv", dtype={"id": str, "facility": str})
    assert set(a["facility"]) == set(report["open_facilities"])
    out = tmp / "at_most"
    code = main(["locate", str(tmp / "demand.csv"), "--weight", "sales", "--candidates",
                 str(tmp / "costly.csv"), "--facilities", "3", "--facilities-mode", "at_most",
                 "--out", str(out)])
    assert code == 0
    assert json.loads((out / "report.json").read_text())["n_open"] <= 3


def test_duckdb_sql_function_matches_python(files):
    _tmp, demand = files
    con = duckdb.connect()
    names = register_functions(con)
    assert "terraplan_location_allocation" in names
    con.register("d", demand)
    params = {"facilities": 4, "weight": "sales", "seed": 2}
    raw = con.execute("SELECT terraplan_location_allocation((SELECT to_json(list(d)) FROM d), "
                      "NULL, NULL, NULL, NULL, NULL, ?)", [json.dumps(params)]).fetchone()[0]
    result = json.loads(raw)
    direct = location_allocation(demand, **params)
    sql = pd.DataFrame(result["tables"]["assignments"])
    assert sql["facility"].tolist() == direct.tables["assignments"]["facility"].tolist()
    assert result["report"]["objective"] == pytest.approx(direct.report["objective"])
    bad = con.execute("SELECT terraplan_location_allocation((SELECT to_json(list(d)) FROM d), "
                      "NULL, NULL, NULL, NULL, NULL, '{\"facilities\": 99}')").fetchone()[0]
    assert "99 facilities requested but only 40" in json.loads(bad)["error"]


def test_cli_proven_infeasible_exits_3_with_the_numbers(tmp_path, capsys):
    # 15 capacity for 15 demand on paper, but no site can hold two points of 5
    pd.DataFrame({"id": ["a", "b", "c"], "x": [0.0, 10.0, 5.0], "y": [0.0, 0.0, 1.0],
                  "w": [5.0, 5.0, 5.0]}).to_csv(tmp_path / "d.csv", index=False)
    pd.DataFrame({"id": ["a", "b"], "capacity": [7.5, 7.5]}).to_csv(tmp_path / "c.csv",
                                                                    index=False)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.json").write_text("previous")
    code = main(["locate", str(tmp_path / "d.csv"), "--facilities", "2", "--weight", "w",
                 "--candidates", str(tmp_path / "c.csv"), "--exact", "always",
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "proved" in err and "total demand 15" in err and "Traceback" not in err
    assert (tmp_path / "out" / "report.json").read_text() == "previous"  # left intact

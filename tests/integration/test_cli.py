"""The `terraplan` CLI contract, through the installed console script and main()."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.conftest import DATA, grid_edges, grid_scus
from tests.oracles import frame_split
from workflows.cli import main

TERRAPLAN = Path(sys.executable).parent / "terraplan"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    exe = [str(TERRAPLAN)] if TERRAPLAN.exists() else [sys.executable, "-m", "workflows.cli"]
    return subprocess.run([*exe, *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.fixture
def grid_csv(tmp_path):
    path = tmp_path / "grid.csv"
    grid_scus(8, 8).to_csv(path, index=False)
    return path


def test_help_is_useful():
    out = run_cli("--help")
    assert out.returncode == 0
    assert "balance" in out.stdout and "run" in out.stdout
    sub = run_cli("balance", "--help")
    assert sub.returncode == 0
    for flag in ("--territories", "--metric", "--tolerance", "--centers", "--edges",
                 "--distance", "--current", "--seed", "--time-limit", "--out", "duckdb:FILE"):
        assert flag in sub.stdout
    assert "example:" in sub.stdout


def test_balance_writes_contract_files(tmp_path):
    out = tmp_path / "out"
    res = run_cli("balance", DATA / "scus.csv", "--id", "scu_id", "--lon", "lon", "--lat",
                  "lat", "--metric", "population", "--metric", "accounts", "--territories", "8",
                  "--edges", DATA / "edges.csv", "--tolerance", "0.05", "--seed", "3",
                  "--time-limit", "30", "--out", out)
    assert res.returncode == 0, res.stderr
    assert "contiguous: yes" in res.stdout and "balance population" in res.stdout
    assign = pd.read_csv(out / "assignments.csv", dtype=str)
    assert list(assign.columns[:2]) == ["id", "territory"]
    assert len(assign) == 159 and assign["id"].str.len().eq(5).all()  # FIPS keep zeros
    assert assign["territory"].nunique() == 8
    terr = pd.read_csv(out / "territories.csv")
    assert {"territory", "center", "n_units", "population", "population_ratio", "accounts",
            "compactness", "contiguous"} <= set(terr.columns)
    assert terr["contiguous"].all()
    assert frame_split(assign, pd.read_csv(DATA / "edges.csv", dtype=str)) == []
    assert terr["population_ratio"].between(0.95 - 1e-9, 1.05 + 1e-9).all()
    report = json.loads((out / "report.json").read_text())
    assert report["status"] in ("feasible", "optimal")
    assert report["contiguous"] is True
    assert report["lower_bound"] <= report["objective"] + 1e-6
    assert 0 <= report["gap"] < 0.2


def test_same_seed_same_bytes(tmp_path, grid_csv):
    outs = []
    for name in ("a", "b"):
        res = run_cli("balance", grid_csv, "--metric", "load", "--territories", "4", "--seed",
                      "7", "--out", tmp_path / name)
        assert res.returncode == 0, res.stderr
        outs.append((tmp_path / name / "assignments.csv").read_bytes())
    assert outs[0] == outs[1]


def test_centers_by_scu_id_name_the_territories(tmp_path, grid_csv):
    centers = tmp_path / "centers.csv"
    pd.DataFrame({"id": ["north", "south"], "scu_id": ["u060", "u003"]}).to_csv(centers,
                                                                                index=False)
    res = run_cli("balance", grid_csv, "--metric", "load", "--territories", "2", "--centers",
                  centers, "--tolerance", "0.1", "--out", tmp_path / "o")
    assert res.returncode == 0, res.stderr
    assign = pd.read_csv(tmp_path / "o" / "assignments.csv")
    assert set(assign["territory"]) == {"north", "south"}
    assert assign.set_index("id").loc["u060", "territory"] == "north"
    assert assign.set_index("id").loc["u003", "territory"] == "south"


def test_centers_by_coordinates_snap_to_nearest_scu(tmp_path, grid_csv):
    centers = tmp_path / "centers.csv"
    pd.DataFrame({"id": ["w", "e"], "x": [0.2, 6.9], "y": [3.1, 3.9]}).to_csv(centers,
                                                                             index=False)
    res = run_cli("balance", grid_csv, "--metric", "load", "--territories", "2", "--centers",
                  centers, "--out", tmp_path / "o")
    assert res.returncode == 0, res.stderr
    terr = pd.read_csv(tmp_path / "o" / "territories.csv").set_index("territory")
    assert terr.loc["w", "center"] == "u024" and terr.loc["e", "center"] == "u039"


def test_network_distance_uses_edge_costs(tmp_path, grid_csv):
    edges = grid_edges(8, 8).assign(cost=1.0)
    edges.to_csv(tmp_path / "edges.csv", index=False)
    res = run_cli("balance", grid_csv, "--metric", "load", "--territories", "4", "--edges",
                  tmp_path / "edges.csv", "--distance", "network", "--out", tmp_path / "o")
    assert res.returncode == 0, res.stderr
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["distance"] == "network" and report["adjacency"]["source"] == "edges"
    dist = pd.read_csv(tmp_path / "o" / "assignments.csv")["distance"]
    assert (dist == dist.round()).all()  # hop counts on unit-cost edges


def test_parquet_and_duckdb_inputs(tmp_path):
    df = grid_scus(5, 5)
    df.to_parquet(tmp_path / "g.parquet")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.register("df", df)
    con.execute('CREATE TABLE "my scus" AS SELECT * FROM df')
    con.close()
    for src in (tmp_path / "g.parquet", f"duckdb:{tmp_path / 'w.duckdb'}::my scus"):
        res = run_cli("balance", src, "--metric", "load", "--territories", "3",
                      "--out", tmp_path / "o")
        assert res.returncode == 0, res.stderr
        assert len(pd.read_csv(tmp_path / "o" / "assignments.csv")) == 25


def test_current_alignment_reports_moves(tmp_path, georgia):
    res = run_cli("balance", DATA / "scus.csv", "--id", "scu_id", "--metric", "population",
                  "--territories", "10", "--edges", DATA / "edges.csv", "--current",
                  "current_territory", "--out", tmp_path / "o")
    assert res.returncode == 0, res.stderr
    assign = pd.read_csv(tmp_path / "o" / "assignments.csv", dtype={"id": str})
    assert {"previous_territory", "moved"} <= set(assign.columns)
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["moved_units"] == int(assign["moved"].sum()) > 0
    # territories keep the names of the current ones they overlap most
    assert set(assign["territory"]) == set(georgia["current_territory"])


BAD_INPUTS = [
    ({"drop": "load"}, ["--metric", "load"],
     "column 'load' not found in the SCU table; columns present: id, x, y"),
    ({"dup": True}, ["--metric", "load"], "duplicated id(s)"),
    ({"nan_x": True}, ["--metric", "load"], "coordinate column 'x' has 1 NULL, NaN or infinite"),
    ({"neg": True}, ["--metric", "load"], "metric column 'load' has 1 negative value(s)"),
    ({}, ["--metric", "load", "--territories", "99"], "99 territories requested but the SCU "
                                                      "table has only 36 unit(s)"),
    ({"empty": True}, ["--metric", "load"], "the SCU table is empty"),
    ({"lonlat": True}, ["--metric", "load", "--lon", "x", "--lat", "y"],
     "latitude column 'y' has 1 value(s) outside [-90, 90]"),
    ({}, ["--metric", "load", "--tolerance", "2"],
     "parameter 'tolerance' must be a float in [0, 1]; got '2'"),
]


@pytest.mark.parametrize(("change", "args", "message"), BAD_INPUTS)
def test_bad_input_exits_2_with_message_and_no_traceback(tmp_path, change, args, message):
    df = grid_scus()
    if change.get("drop"):
        df = df.drop(columns=[change["drop"]])
    if change.get("dup"):
        df.loc[1, "id"] = df.loc[0, "id"]
    if change.get("nan_x"):
        df.loc[2, "x"] = float("nan")
    if change.get("neg"):
        df.loc[3, "load"] = -1
    if change.get("empty"):
        df = df.iloc[0:0]
    if change.get("lonlat"):
        df.loc[4, "y"] = 120.0
    path = tmp_path / "in.csv"
    df.to_csv(path, index=False)
    argv = ["balance", str(path), *args, "--out", str(tmp_path / "o")]
    if "--territories" not in args:
        argv += ["--territories", "3"]
    res = run_cli(*argv)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    assert res.stderr.startswith("terraplan: error: ")


def test_missing_required_option_and_unknown_file(tmp_path, capsys):
    assert run_cli("balance", "nope.csv", "--metric", "a", "--out", "o").returncode == 2
    rc = main(["balance", str(tmp_path / "missing.csv"), "--metric", "a", "--territories", "2",
               "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "input file" in capsys.readouterr().err


def test_failed_run_leaves_previous_outputs(tmp_path, grid_csv):
    out = tmp_path / "o"
    assert main(["balance", str(grid_csv), "--metric", "load", "--territories", "3",
                 "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = tmp_path / "bad.csv"
    grid_scus().assign(load=-1.0).to_csv(bad, index=False)
    assert main(["balance", str(bad), "--metric", "load", "--territories", "3",
                 "--out", str(out)]) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_infeasible_request_exits_3(tmp_path, capsys):
    df = grid_scus(3, 3)
    df.loc[0, "load"] = 1000.0  # one unit larger than any territory may be
    path = tmp_path / "big.csv"
    df.to_csv(path, index=False)
    rc = main(["balance", str(path), "--metric", "load", "--territories", "3", "--out",
               str(tmp_path / "o")])
    assert rc == 3
    assert "metric 'load': unit 'u000' alone has 1,000" in capsys.readouterr().err


def test_console_script_installed():
    assert TERRAPLAN.exists() or shutil.which("terraplan")

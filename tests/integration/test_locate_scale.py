"""Candidate lists and size messages through the user's paths (issue #19): the CLI
(``terraplan locate --candidate-list K``, in-process and as a real subprocess) and the
DuckDB SQL function. Answers are checked by oracles written here: the objective
recomputed from the coordinates, every point at its nearest open facility, and the
bound against a brute-force optimum.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

from udfs.duckdb import register_functions
from workflows.cli import main

ROOT = Path(__file__).resolve().parents[2]


def demand(n: int = 160, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": [f"d{i:03d}" for i in range(n)], "x": rng.uniform(0, 100, n),
                         "y": rng.uniform(0, 100, n), "w": rng.integers(1, 6, n)})


def sites(m: int = 12, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": [f"s{j:02d}" for j in range(m)], "x": rng.uniform(0, 100, m),
                         "y": rng.uniform(0, 100, m)})


def check_answer(d: pd.DataFrame, s: pd.DataFrame, report: dict, a: pd.DataFrame, p: int):
    """The oracle: nearest open facility per point, objective from the coordinates,
    the bound below the brute-force optimum."""
    dist = cdist(d[["x", "y"]], s[["x", "y"]])
    w = d["w"].to_numpy(float)
    opened = [list(s["id"]).index(f) for f in report["open_facilities"]]
    assert len(opened) == p
    a = a.set_index("id").loc[d["id"]]
    col = s["id"].tolist()
    got = dist[np.arange(len(d)), [col.index(f) for f in a["facility"]]]
    assert np.allclose(got, dist[:, opened].min(axis=1))
    assert report["objective"] == pytest.approx(float((w * got).sum()), rel=1e-9)
    best = min(float((w * dist[:, list(c)].min(axis=1)).sum())
               for c in itertools.combinations(range(len(s)), p))
    assert report["lower_bound"] <= best * (1 + 1e-9) <= report["objective"] * (1 + 1e-9)


def test_cli_candidate_list_answers_the_full_problem(tmp_path, capsys):
    d, s = demand(), sites()
    d.to_csv(tmp_path / "d.csv", index=False)
    s.to_csv(tmp_path / "s.csv", index=False)
    code = main(["locate", str(tmp_path / "d.csv"), "--candidates", str(tmp_path / "s.csv"),
                 "--facilities", "3", "--weight", "w", "--candidate-list", "4",
                 "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["solver"]["candidate_list"] == 4
    assert report["stopped_by"] in ("gap closed", "gap tolerance", "search finished")
    check_answer(d, s, report, pd.read_csv(tmp_path / "out" / "assignments.csv"), 3)


def test_duckdb_sql_takes_candidate_list():
    d, s = demand(120, 8), sites(10, 9)
    con = duckdb.connect()
    register_functions(con)
    con.register("d", d)
    con.register("s", s)
    raw = con.execute(
        "SELECT terraplan_location_allocation((SELECT to_json(list(d)) FROM d), "
        "(SELECT to_json(list(s)) FROM s), NULL, NULL, NULL, NULL, ?)",
        [json.dumps({"facilities": 2, "weight": "w", "candidate_list": 3})]).fetchone()[0]
    out = json.loads(raw)
    assert "error" not in out, out
    rows = out["tables"]["assignments"] if "tables" in out else out["assignments"]
    check_answer(d, s, out["report"], pd.DataFrame(rows), 2)


def test_cli_candidate_list_refuses_what_it_cannot_serve(tmp_path, capsys):
    d = demand(40)
    d.to_csv(tmp_path / "d.csv", index=False)
    for extra, message in ((["--strategy", "min_max_cost"], "drop the candidate list"),
                           (["--max-load", "50"], "drop the candidate list"),
                           (["--transform", "power", "--exponent", "2"], "linear transform")):
        code = main(["locate", str(tmp_path / "d.csv"), "--facilities", "3",
                     "--candidate-list", "5", *extra, "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert code == 2 and message in err and "Traceback" not in err, (extra, err)


def test_a_matrix_that_would_not_fit_is_a_one_line_size_message(tmp_path):
    # a real subprocess, as a user meets it: the memory limit is the environment's
    d = demand(3000, 1)
    d.to_csv(tmp_path / "d.csv", index=False)
    env = dict(os.environ, PYTHONPATH=str(ROOT), TERRAPLAN_MEMORY_LIMIT_BYTES=str(50 * 2**20))
    out = subprocess.run([sys.executable, "-m", "workflows.cli", "locate",
                          str(tmp_path / "d.csv"), "--facilities", "10", "--out",
                          str(tmp_path / "o")], capture_output=True, text=True, env=env,
                         timeout=300)
    err = out.stderr.strip()
    assert out.returncode == 2, err
    assert "Traceback" not in err and "MemoryError" not in err and len(err.splitlines()) == 1
    assert "3,000 demand x 3,000 candidates" in err and "--candidate-list" in err
    assert not (tmp_path / "o").exists()  # failed before writing anything
    # the fix it names works under the same limit
    ok = subprocess.run([sys.executable, "-m", "workflows.cli", "locate",
                         str(tmp_path / "d.csv"), "--facilities", "10", "--candidate-list",
                         "64", "--time-limit", "20", "--out", str(tmp_path / "o")],
                        capture_output=True, text=True, env=env, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert json.loads((tmp_path / "o" / "report.json").read_text())["n_open"] == 10

"""#11, one test per bullet about inputs, through real ``terraplan`` subprocesses: codes
keep their leading zeros in every text-like column, workflow names cannot escape or
carry a newline, and every bad input in the issue's list is one line with the fix."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.automation_data import cli, cli_env, counties, no_traceback, read_db, workflow, write


@pytest.fixture
def coded(tmp_path: Path) -> Path:
    """Counties whose every text-like column is a code with leading zeros."""
    data, edges = counties(side=4)
    data["cur"] = ["01", "02", "03", "04"] * 4
    data["reg"] = ["01"] * 8 + ["1"] * 8  # two regions, not one
    data["lk"] = ["01"] + [""] * 15
    data.to_csv(tmp_path / "c.csv", index=False)
    edges.to_csv(tmp_path / "e.csv", index=False)
    return tmp_path


def _balance(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return cli("balance", str(folder / "c.csv"), "--edges", str(folder / "e.csv"), "--metric",
               "population", "--id", "geoid", "--x", "x", "--y", "y", "--tolerance", "0.5",
               "--quiet", *args)


def test_current_region_locked_keep_leading_zeros(coded):
    """Bullet 8: --current 01..04 stays 01..04, --region 01 and 1 stay two regions,
    --locked 01 is accepted and holds."""
    proc = _balance(coded, "--territories", "4", "--current", "cur", "--region", "reg",
                    "--locked", "lk", "--out", str(coded / "o"))
    assert proc.returncode == 0, proc.stderr
    a = pd.read_csv(coded / "o" / "assignments.csv", dtype=str)
    assert set(a["territory"]) == {"01", "02", "03", "04"}
    assert set(a["previous_territory"]) == {"01", "02", "03", "04"}
    assert a.loc[a["id"] == "01001", "territory"].item() == "01"  # locked to '01'
    region = pd.read_csv(coded / "c.csv", dtype=str).set_index("geoid")["reg"]
    spans = a.assign(reg=a["id"].map(region)).groupby("territory")["reg"].nunique()
    assert (spans == 1).all() and a["id"].map(region).nunique() == 2


def test_centers_ids_keep_leading_zeros(coded):
    """Bullet 8: the centers file's territory ids and SCU ids are codes too."""
    pd.DataFrame({"id": ["01", "02"], "scu_id": ["01001", "04004"]}).to_csv(
        coded / "centers.csv", index=False)
    proc = _balance(coded, "--territories", "2", "--centers", str(coded / "centers.csv"),
                    "--out", str(coded / "o"))
    assert proc.returncode == 0, proc.stderr
    t = pd.read_csv(coded / "o" / "territories.csv", dtype=str)
    assert dict(zip(t["territory"], t["center"], strict=True)) == {"01": "01001", "02": "04004"}


def test_aggregate_keeps_01001_and_1001_apart(tmp_path):
    """Bullet 8: --scu-id codes: 01001 and 1001 are two SCUs."""
    pd.DataFrame({"zip": ["01001", "1001", "01001"], "x": [0, 1, 2], "y": [0, 0, 0],
                  "n": [1, 2, 3]}).to_csv(tmp_path / "pts.csv", index=False)
    proc = cli("aggregate", str(tmp_path / "pts.csv"), "--scu-id", "zip", "--metric", "n",
               "--x", "x", "--y", "y", "--out", str(tmp_path / "agg.csv"))
    assert proc.returncode == 0, proc.stderr
    agg = pd.read_csv(tmp_path / "agg.csv", dtype=str).set_index("id")["n"].to_dict()
    assert agg == {"01001": "4", "1001": "2"}


def test_yaml_id_columns_stay_text_in_the_loaded_table(tmp_path):
    """Bullet 8: a column only YAML id_columns names (no step reads it as an id) is loaded
    as text; the step's id and the edges' ids too."""
    data, edges = counties()
    data["zip"] = [f"{i:05d}" for i in range(len(data))]
    spec = workflow(tmp_path)
    spec["sources"]["counties"]["id_columns"] = ["geoid", "zip"]
    path = write(tmp_path, spec, data, edges)
    proc = cli("run", str(path))
    assert proc.returncode == 0, proc.stderr
    db = tmp_path / "t.duckdb"
    types = read_db(db, "DESCRIBE counties").set_index("column_name")["column_type"]
    assert types["zip"] == types["geoid"] == "VARCHAR"
    assert read_db(db, "SELECT MIN(zip) AS z FROM counties")["z"][0] == "00000"
    assert read_db(db, "SELECT MIN(from_id) AS f FROM adjacency")["f"][0] == "01001"
    assert read_db(db, "SELECT MIN(id) AS i FROM territory_assignments")["i"][0] == "01001"


@pytest.mark.parametrize("name", ["../../x", "out\n", "a/b"])
def test_workflow_names_cannot_escape_or_carry_a_newline(tmp_path, name):
    """Bullet 9: a name that is a path or ends in a newline is refused in one line, and
    nothing is written outside the export folder."""
    data, edges = counties()
    spec = workflow(tmp_path, name=name, exports={"dir": str(tmp_path / "out" / "exports")})
    path = write(tmp_path, spec, data, edges)
    proc = cli("run", str(path))
    assert proc.returncode == 2
    assert "name" in no_traceback(proc)
    assert not (tmp_path / "t.duckdb").exists() or "out\n" not in set(
        read_db(tmp_path / "t.duckdb", "SELECT table_name FROM information_schema.tables"
                )["table_name"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counties.csv", "edges.csv",
                                                           "wf.yaml"]


# -- every traceback in the list is one line with the fix -----------------------------------

def _bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, words the message must have)."""
    binary = folder / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    empty = folder / "empty.csv"
    empty.write_text("")
    parquet = folder / "corrupt.parquet"
    parquet.write_bytes(b"PAR1" + os.urandom(64) + b"PAR1")
    ragged = folder / "ragged.csv"
    ragged.write_text("id,x,y\n1,0,0\n2,1,1,9\n")
    unreadable = folder / "unreadable.csv"
    if os.geteuid() == 0:  # root reads any mode: a file whose read fails (EIO) instead
        unreadable.symlink_to("/proc/self/mem")
    else:
        unreadable.write_text("id,x,y\n1,0,0\n")
        unreadable.chmod(0)
    return {"binary": (binary, "binary"), "empty": (empty, "empty"),
            "parquet": (parquet, "Parquet"), "ragged": (ragged, "line 3"),
            "unreadable": (unreadable, "cannot be read")}


@pytest.mark.parametrize("kind", ["binary", "empty", "parquet", "ragged", "unreadable"])
def test_bad_input_files_are_one_line(tmp_path, kind):
    path, words = _bad_files(tmp_path)[kind]
    proc = cli("balance", str(path), "--territories", "2", "--metric", "p", "--out",
               str(tmp_path / "o"))
    assert proc.returncode == 2
    line = no_traceback(proc)
    assert words in line and path.name in line, line
    if kind == "unreadable" and path.is_symlink():
        return  # a workflow resolves source paths: the /proc stand-in loses its suffix
    # the same file as a workflow source: one line, the run logged failed
    data, edges = counties()
    spec = workflow(tmp_path)
    spec["sources"]["counties"]["path"] = str(path)
    proc = cli("run", str(write(tmp_path, spec, data, edges)))
    assert proc.returncode == 2 and words in no_traceback(proc)


@pytest.mark.parametrize("command", ["history", "run"])
def test_a_database_that_is_not_duckdb_is_one_line(tmp_path, command):
    db = tmp_path / "notes.duckdb"
    db.write_text("not a database\n")
    data, edges = counties()
    args = ["history"] if command == "history" else \
        ["run", str(write(tmp_path, workflow(tmp_path), data, edges))]
    proc = cli(*args, "--database", str(db))
    assert proc.returncode == 2
    line = no_traceback(proc)
    assert "cannot be opened as a DuckDB database" in line and "--database" in line


@pytest.mark.parametrize("where", ["a_file", "not_writable"])
def test_out_that_is_a_file_or_not_writable_is_one_line(coded, where):
    target = coded / "afile" if where == "a_file" else Path("/proc/terraplan-out")
    (coded / "afile").write_text("x")
    proc = _balance(coded, "--territories", "2", "--out", str(target))
    assert proc.returncode == 2
    line = no_traceback(proc)
    assert "--out" in line and ("is a file" in line if where == "a_file" else
                                "cannot write" in line)
    assert (coded / "afile").read_text() == "x"


def test_out_of_memory_is_one_line(tmp_path):
    """A location model far too big for a 3 GiB address space is refused before anything
    is allocated: one line with the sizes and the fix (candidate lists), exit 2."""
    import numpy as np

    n = 40_000
    rng = np.random.default_rng(0)
    pd.DataFrame({"id": [f"{i:06d}" for i in range(n)], "x": rng.random(n), "y": rng.random(n),
                  "p": rng.integers(1, 9, n)}).to_csv(tmp_path / "big.csv", index=False)
    limit = 3 * 2**30
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, "
            f"({limit}, {limit})); from workflows.cli import main; sys.exit(main())")
    proc = subprocess.run(
        [sys.executable, "-c", code, "locate", str(tmp_path / "big.csv"), "--facilities", "5",
         "--weight", "p", "--x", "x", "--y", "y", "--exact", "always", "--out",
         str(tmp_path / "o")], capture_output=True, text=True, env=cli_env(), timeout=600)
    assert proc.returncode == 2
    line = no_traceback(proc)
    assert "40,000 demand x 40,000 candidates" in line and "--candidate-list" in line
    assert not (tmp_path / "o").exists()


def test_ctrl_c_in_a_command_is_one_line(tmp_path):
    """SIGINT while a solve is running: exit 130, one line, the output folder untouched."""
    data, edges = counties(side=40)
    data.to_csv(tmp_path / "c.csv", index=False)
    edges.to_csv(tmp_path / "e.csv", index=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "workflows.cli", "balance", str(tmp_path / "c.csv"), "--edges",
         str(tmp_path / "e.csv"), "--territories", "40", "--metric", "population", "--id",
         "geoid", "--x", "x", "--y", "y", "--tolerance", "0.0001", "--time-limit", "300",
         "--out", str(tmp_path / "o")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=cli_env())
    first = proc.stderr.readline()  # a progress line: the solve is under way
    assert first.startswith("balance"), first
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert [ln for ln in err.splitlines() if ln.startswith("terraplan:")] == [
        "terraplan: interrupted (SIGINT): nothing was written"]
    assert not (tmp_path / "o").exists()
    assert json.dumps  # the report is never half-written either: no folder at all

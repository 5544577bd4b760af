"""A small two-step workflow (balance + locate on the same generated counties) for the
automation tests: the state machine, the kill test and the per-bullet tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import yaml


def counties(side: int = 5, seed: int = 0, metrics: tuple[str, ...] = ("population",),
             negative: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A side x side grid of counties with text codes ('01001'...) and rook edges."""
    rng = np.random.default_rng(seed)
    n = side * side
    ids = [f"{1 + i // side:02d}{1 + i % side:03d}" for i in range(n)]
    df = pd.DataFrame({"geoid": ids, "x": [float(i % side) for i in range(n)],
                       "y": [float(i // side) for i in range(n)]})
    for m in metrics:
        df[m] = rng.integers(50, 150, n)
    if negative:
        df.loc[n // 2, metrics[0]] = -5
    edges = [(ids[i], ids[i + 1]) for i in range(n) if (i + 1) % side]
    edges += [(ids[i], ids[i + side]) for i in range(n - side)]
    return df, pd.DataFrame(edges, columns=["from_id", "to_id"])


def workflow(folder: Path, *, territories: int = 3, facilities: int = 2,
             metrics: tuple[str, ...] = ("population",), name: str = "two_step",
             **top: Any) -> dict[str, Any]:
    """The workflow spec (balance, then locate on the same counties)."""
    spec: dict[str, Any] = {
        "name": name,
        "database": str(folder / "t.duckdb"),
        "sources": {"counties": {"path": "counties.csv", "id_columns": ["geoid"]},
                    "adjacency": {"path": "edges.csv"}},
        "steps": [
            {"name": "balance", "uses": "territory_balancing",
             "inputs": {"scus": "counties", "edges": "adjacency"},
             "with": {"territories": territories, "metrics": list(metrics), "id": "geoid",
                      "x": "x", "y": "y", "tolerance": 0.3, "seed": 0, "time_limit": 60},
             "outputs": {"assignments": "territory_assignments",
                         "territories": "territory_summary"}},
            {"name": "locate", "uses": "location_allocation",
             "inputs": {"demand": "counties"},
             "with": {"facilities": facilities, "id": "geoid", "x": "x", "y": "y",
                      "weight": metrics[0], "seed": 0, "time_limit": 60},
             "outputs": {"assignments": "site_assignments", "facilities": "sites"}},
        ],
    }
    spec.update(top)
    return spec


def write(folder: Path, spec: dict[str, Any], data: pd.DataFrame | None = None,
          edges: pd.DataFrame | None = None, file: str = "wf.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if data is not None:
        data.to_csv(folder / "counties.csv", index=False)
    if edges is not None:
        edges.to_csv(folder / "edges.csv", index=False)
    path = folder / file
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


OUTPUTS = ("territory_assignments", "territory_summary", "site_assignments", "sites")
SOURCES = ("counties", "adjacency")


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300,
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``terraplan ARGS`` in a real subprocess (this tree's code), output captured."""
    return subprocess.run([sys.executable, "-m", "workflows.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env=cli_env(env), cwd=cwd)


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return {**env, **(extra or {})}


def no_traceback(proc: subprocess.CompletedProcess) -> str:
    """The one-line message of a failed command (asserts there is no traceback)."""
    err = proc.stderr.strip()
    assert "Traceback" not in err, err
    raw = [ln for ln in err.splitlines() if re.match(r"[\w.]+(Error|Exception): ", ln)]
    assert not raw, err  # an exception printed bare, without the one-line message
    lines = [line for line in err.splitlines() if line.startswith("terraplan:")]
    assert len(lines) == 1, err
    return lines[0]


def read_db(db: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


def frame(df: pd.DataFrame) -> pd.DataFrame:
    """Rows as text, sorted, for comparing tables read back from anywhere."""
    out = df.astype(str).replace({"nan": "None", "<NA>": "None", "NaT": "None"})
    return out.sort_values(list(out.columns)).reset_index(drop=True)


def check_invariants(db: Path, sources: dict[str, pd.DataFrame] | None = None,
                     outputs: tuple[str, ...] = OUTPUTS) -> str | None:
    """The run-as-one-unit invariants of a DuckDB store; returns the current run id.

    Every published table carries one run id, the same for all; that run's row says
    ``succeeded``; each table equals its version in ``<table>__history``; the loaded
    sources equal the given frames (the last files a published run validated).
    """
    con = duckdb.connect(str(db), read_only=True)
    try:
        have = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
        current = [t for t in outputs if t in have]
        ids = set()
        for t in current:
            ids |= {r[0] for r in con.execute(f'SELECT DISTINCT run_id FROM "{t}"').fetchall()}
        if not current:
            return None
        assert len(ids) == 1, f"published tables carry several run ids: {ids}"
        (run_id,) = ids
        status = con.execute("SELECT status FROM terraplan_runs WHERE run_id = ? AND "
                             "step = '(run)'", [run_id]).fetchall()
        assert status == [("succeeded",)], f"current run {run_id} is logged {status}"
        for t in current:
            now = con.execute(f'SELECT * FROM "{t}"').df()
            hist = con.execute(f'SELECT * FROM "{t}__history" WHERE run_id = ?',
                               [run_id]).df()
            assert len(hist) == len(now), f"{t}: {len(now)} rows, history has {len(hist)}"
            assert frame(now).equals(frame(hist[list(now.columns)])), f"{t} != its history"
        for name, expected in (sources or {}).items():
            loaded = con.execute(f'SELECT * FROM "{name}"').df()
            assert frame(loaded).equals(frame(expected)), f"source {name} is not the last file"
        return run_id
    finally:
        con.close()


def run_until(path: Path, phase: str, marks: Path, *args: str,
              timeout: float = 240) -> subprocess.Popen:
    """Start ``terraplan run PATH`` paused at ``phase`` (workflows/phases.py); returns once
    it is there, for the caller to signal."""
    marks.mkdir(parents=True, exist_ok=True)
    for old in marks.iterdir():
        old.unlink()
    proc = subprocess.Popen(
        [sys.executable, "-m", "workflows.cli", "run", str(path), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=cli_env({"TERRAPLAN_PHASE_DIR": str(marks), "TERRAPLAN_PAUSE_AT": phase,
                     "TERRAPLAN_PAUSE_SECONDS": "120"}))
    mark = marks / phase.replace(":", "_")
    deadline = time.monotonic() + timeout
    while not mark.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"run never reached {phase}: {out}\n{err}")
        time.sleep(0.05)
    return proc

"""#11: SIGKILL a real ``terraplan run`` at 10 points spread over its phases.

Each point is a named checkpoint of the run (workflows/phases.py: inert unless the test's
environment variables are set): the process pauses there and gets SIGKILL, no chance to
clean up. After each kill: the database opens, the published tables carry one run id
whose row says ``succeeded``, each equals its ``__history`` version, the loaded sources
are the last published files, ``history`` shows the killed run as ``crashed``, the
export folder is one whole run's, and the next run succeeds. The count of kills
survived is written to ``out/test-artifacts/kill_runs.json``.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

from tests.automation_data import (
    check_invariants,
    cli,
    counties,
    read_db,
    run_until,
    workflow,
    write,
)
from workflows.runner import run_workflow

ROOT = Path(__file__).resolve().parents[2]
# (point, is the killed run published by then?)
POINTS = [("started", False), ("source:counties", False), ("sources", False),
          ("step:balance", False), ("step:locate", False), ("exports", False),
          ("publish", False), ("published", True), ("exports:swap", True), ("exported", True)]


def _export_run(out: Path, clean: bool = True) -> str:
    """The run id of the whole export folder (every file present, one report); ``clean``:
    no staging or old folder left beside it."""
    report = json.loads((out / "report.json").read_text())
    for name in ("territory_assignments", "territory_summary", "site_assignments", "sites"):
        assert (out / f"{name}.csv").is_file(), name
    if clean:
        assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    return report["run_id"]


def test_sigkill_at_ten_points_of_a_run(tmp_path):
    out = tmp_path / "exports"
    data, edges = counties(side=4)
    spec = workflow(tmp_path, exports={"dir": str(out)})
    path = write(tmp_path, spec, data, edges)
    current = run_workflow(path).run_id
    sources = {"counties": data, "adjacency": edges}
    db = tmp_path / "t.duckdb"
    survived = []
    for i, (point, published) in enumerate(POINTS, 1):
        new, _ = counties(side=4, seed=i)
        write(tmp_path, workflow(tmp_path, territories=2 + i % 3, exports={"dir": str(out)}),
              new)
        proc = run_until(path, point, tmp_path / "marks")
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL
        killed = read_db(db, "SELECT run_id FROM terraplan_runs WHERE step = '(run)' ORDER BY "
                         "started_at DESC LIMIT 1")["run_id"][0]
        folder = killed if point == "exported" else current  # swapped after the commit
        if published:
            current, sources = killed, {"counties": new, "adjacency": edges}
        assert check_invariants(db, sources) == current, point
        history = cli("history", "--database", str(db))
        assert history.returncode == 0, history.stderr
        row = next(ln for ln in history.stdout.splitlines() if killed in ln)
        assert ("succeeded" if published else "crashed") in row, (point, row)
        if point != "exports:swap":  # killed between the two renames: no folder until...
            assert _export_run(out, clean=False) == folder, point
        # ... the next run, which puts the previous folder back, then swaps its own in
        rerun = run_workflow(path)
        assert check_invariants(db, {"counties": new, "adjacency": edges}) == rerun.run_id
        assert _export_run(out) == rerun.run_id
        current, sources = rerun.run_id, {"counties": new, "adjacency": edges}
        survived.append(point)
    statuses = read_db(db, "SELECT status FROM terraplan_runs WHERE step = '(run)'")["status"]
    assert (statuses == "crashed").sum() == 7  # the killed, unpublished runs, recorded so
    artifacts = ROOT / "out" / "test-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "kill_runs.json").write_text(json.dumps(
        {"kills": len(POINTS), "survived": len(survived), "points": survived}, indent=2))
    assert survived == [p for p, _ in POINTS]

"""#11: a stateful property test of runs as one unit, over a two-step workflow (balance,
then locate, on the same small generated counties) in one DuckDB file.

Rules: run (new data, other parameters), run with changed columns (one more metric, a
current-alignment column, the locate step dropped), run with bad data, a run interrupted
by a real SIGINT at a named phase, rollback to any published run, diff of two runs.
After every rule: the published tables all carry one run id, that run is ``succeeded``
in the log, each table equals its version in ``__history``, the tables are exactly the
current run's, and the loaded sources equal the files the last published run validated.

Bounded (a few examples of a few steps each, two-core machine: a couple of minutes); the
number of rules and invariant checks run is written to
``out/test-artifacts/run_state_machine.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
)

import workflows.runner as runner
from components.errors import InputError
from tests.automation_data import OUTPUTS, check_invariants, counties, read_db, workflow, write
from udfs.duckdb import DuckDBWarehouse
from workflows.history import diff_runs, rollback
from workflows.runner import RunInterrupted, run_workflow

ROOT = Path(__file__).resolve().parents[2]
COUNTS = {"examples": 0, "rules": 0, "invariant_checks": 0, "runs": 0, "published": 0,
          "rejected": 0, "interrupted": 0, "rollbacks": 0, "diffs": 0}
PHASES = ("started", "sources", "step:balance", "step:locate", "publish", "published")


class RunsAsOneUnit(RuleBasedStateMachine):
    published = Bundle("published")

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="terraplan-sm-"))
        self.db = self.folder / "t.duckdb"
        self.current: str | None = None
        self.tables: tuple[str, ...] = ()
        self.tables_of: dict[str, tuple[str, ...]] = {}
        self.sources: dict[str, pd.DataFrame] = {}
        self.seq = 0
        COUNTS["examples"] += 1

    def teardown(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- helpers ----------------------------------------------------------------------------

    def _spec(self, territories: int, facilities: int, metrics: tuple[str, ...],
              current: bool, two_steps: bool) -> dict:
        spec = workflow(self.folder, territories=territories, facilities=facilities,
                        metrics=metrics)
        for step in spec["steps"]:
            step["with"]["time_limit"] = 30
        if current:
            spec["steps"][0]["with"]["current"] = "today"
        if not two_steps:
            spec["steps"] = spec["steps"][:1]
        return spec

    def _data(self, seed: int, metrics: tuple[str, ...], current: bool,
              negative: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
        data, edges = counties(side=4, seed=seed, metrics=metrics, negative=negative)
        if current:
            now = read_db(self.db, "SELECT id, territory FROM territory_assignments")
            data["today"] = data["geoid"].map(dict(zip(now["id"], now["territory"],
                                                       strict=True))).fillna("T9")
        return data, edges

    def _latest_run(self) -> tuple[str, str]:
        row = read_db(self.db, "SELECT run_id, status FROM terraplan_runs WHERE step = '(run)' "
                      "ORDER BY started_at DESC, run_id DESC LIMIT 1")
        return str(row["run_id"][0]), str(row["status"][0])

    def _publish(self, run_id: str, data, edges, two_steps: bool) -> str:
        self.current = run_id
        self.tables = OUTPUTS if two_steps else OUTPUTS[:2]
        self.tables_of[run_id] = self.tables
        self.sources = {"counties": data, "adjacency": edges}
        COUNTS["published"] += 1
        return run_id

    def _run(self, spec, data, edges, two_steps: bool, **kwargs) -> str | None:
        self.seq += 1
        path = write(self.folder, spec, data, edges, file=f"wf{self.seq}.yaml")
        COUNTS["runs"] += 1
        summary = run_workflow(path, **kwargs)
        if not summary.published:  # on_infeasible keep_previous: nothing changes
            assert summary.kept_run == self.current
            return None
        return self._publish(summary.run_id, data, edges, two_steps)

    # -- rules ------------------------------------------------------------------------------

    @initialize(target=published)
    def first_run(self):
        COUNTS["rules"] += 1
        data, edges = self._data(0, ("population",), False)
        run_id = self._run(self._spec(3, 2, ("population",), False, True), data, edges, True)
        assert run_id is not None
        return run_id

    @rule(target=published, seed=st.integers(0, 50), territories=st.sampled_from([2, 3, 4]),
          facilities=st.sampled_from([1, 2, 3]))
    def run(self, seed, territories, facilities):
        COUNTS["rules"] += 1
        data, edges = self._data(seed, ("population",), False)
        run_id = self._run(self._spec(territories, facilities, ("population",), False, True),
                           data, edges, True)
        return run_id if run_id is not None else consumes_nothing()

    @rule(target=published, seed=st.integers(0, 50),
          shape=st.sampled_from(["two_metrics", "current", "one_step", "current_one_metric"]))
    def run_changed_columns(self, seed, shape):
        COUNTS["rules"] += 1
        metrics = ("population", "accounts") if shape == "two_metrics" else ("population",)
        current = shape.startswith("current") and "territory_assignments" in self.tables
        two_steps = shape != "one_step"
        data, edges = self._data(seed, metrics, current)
        run_id = self._run(self._spec(3, 2, metrics, current, two_steps), data, edges,
                           two_steps)
        return run_id if run_id is not None else consumes_nothing()

    @rule(seed=st.integers(0, 50), kind=st.sampled_from(["negative", "missing_metric"]))
    def run_with_bad_data(self, seed, kind):
        COUNTS["rules"] += 1
        data, edges = self._data(seed, ("population",), False, negative=kind == "negative")
        if kind == "missing_metric":
            data = data.drop(columns=["population"]).assign(people=data["population"])
        with pytest.raises(InputError):
            self._run(self._spec(3, 2, ("population",), False, True), data, edges, True)
        COUNTS["rejected"] += 1
        assert self._latest_run()[1] == "failed"

    @rule(target=published, seed=st.integers(0, 50), phase=st.sampled_from(PHASES))
    def interrupt(self, seed, phase):
        """A real SIGINT delivered to this process at a named point of the run."""
        COUNTS["rules"] += 1

        def stop_here(name: str) -> None:
            if name == phase:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)  # the signal arrives before this ends

        data, edges = self._data(seed, ("population",), False)
        original = runner.checkpoint
        runner.checkpoint = stop_here
        try:
            with pytest.raises(RunInterrupted) as caught:
                self._run(self._spec(3, 2, ("population",), False, True), data, edges, True)
        finally:
            runner.checkpoint = original
        COUNTS["interrupted"] += 1
        run_id, status = self._latest_run()
        if phase == "published":  # after the commit: the run is current, and says so
            assert status == "succeeded" and "was published" in str(caught.value)
            return self._publish(run_id, data, edges, True)
        assert status == "interrupted" and "nothing of run" in str(caught.value)
        return consumes_nothing()

    @rule(target=published, run_id=published)
    def roll_back(self, run_id):
        COUNTS["rules"] += 1
        wh = DuckDBWarehouse.open(self.db)
        try:
            restored = rollback(wh, run_id)
        finally:
            wh.close()
        COUNTS["rollbacks"] += 1
        assert sorted(restored) == sorted(self.tables_of[run_id])
        new_id, status = self._latest_run()
        assert status == "succeeded"
        self.current, self.tables = new_id, self.tables_of[run_id]
        self.tables_of[new_id] = self.tables
        return new_id

    @rule(a=published, b=published)
    def diff(self, a, b):
        COUNTS["rules"] += 1
        wh = DuckDBWarehouse.open(self.db, read_only=True)
        try:
            d = diff_runs(wh, a, b, "assignments", step="balance")
            units = set(read_db(self.db, "SELECT id FROM territory_assignments__history "
                                "WHERE run_id IN (?, ?)", [a, b])["id"])
            assert d.summary["units"] == len(units)
            if a == b:
                assert d.changes.empty
            if "sites" in self.tables_of[a] and "sites" in self.tables_of[b]:
                diff_runs(wh, a, b, "facilities", step="locate")
        finally:
            wh.close()
        COUNTS["diffs"] += 1

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def one_run_is_current(self):
        if self.current is None:
            return
        COUNTS["invariant_checks"] += 1
        assert check_invariants(self.db, self.sources) == self.current
        tables = set(read_db(self.db, "SELECT table_name FROM information_schema.tables"
                             )["table_name"])
        assert {t for t in OUTPUTS if t in tables} == set(self.tables)


def consumes_nothing():
    """A rule that published nothing adds no run to the bundle."""
    from hypothesis.stateful import multiple

    return multiple()


RunsAsOneUnit.TestCase.settings = settings(
    max_examples=int(os.environ.get("TERRAPLAN_SM_EXAMPLES", "10")), stateful_step_count=12,
    deadline=None, derandomize=True, suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.reuse, Phase.generate])  # no shrinking: it takes minutes
TestRunsAsOneUnit = RunsAsOneUnit.TestCase


def teardown_module(_module) -> None:
    out = ROOT / "out" / "test-artifacts"
    out.mkdir(parents=True, exist_ok=True)
    (out / "run_state_machine.json").write_text(json.dumps(COUNTS, indent=2) + "\n")
    print(f"\nrun state machine: {json.dumps(COUNTS)}")


__all__ = ["RunsAsOneUnit", "TestRunsAsOneUnit", "consumes", "precondition"]

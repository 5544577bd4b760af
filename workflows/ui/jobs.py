"""Re-optimising from the page: balancing runs in a worker thread as a job the page polls.

The page's plan becomes the solver's ``current`` column, its locks the ``locked``
column and its pinned centers the ``centers`` table, so the page reruns exactly the
``territory_balancing`` the CLI runs; the result comes back as a new scenario.
"""

from __future__ import annotations

import itertools
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from components.balance.component import territory_balancing
from components.balance.spec import SPEC as BALANCE_SPEC
from components.errors import InputError, ParameterError, TerraplanError
from components.result import jsonable
from workflows.ui.scenario import Scenario

CURRENT_COLUMN = "__planner_current"
LOCKED_COLUMN = "__planner_locked"
BALANCE_PARAMS = {p.name for p in BALANCE_SPEC.params}


@dataclass
class Job:
    id: str
    request: dict[str, Any]
    time_limit: float
    started: float = field(default_factory=time.monotonic)
    state: str = "running"  # running, done, failed
    error: str = ""
    scenario: str | None = None
    seconds: float = 0.0

    def status(self) -> dict[str, Any]:
        elapsed = self.seconds if self.state != "running" else time.monotonic() - self.started
        return {"id": self.id, "state": self.state, "elapsed": round(elapsed, 2),
                "time_limit": self.time_limit, "scenario": self.scenario, "error": self.error,
                "progress": 1.0 if self.state != "running"
                else round(min(0.99, elapsed / self.time_limit), 3)}


class Optimising(ABC):
    """The re-optimising half of :class:`workflows.ui.plan.Workspace` (which supplies
    the unit table and the four abstract methods below)."""

    ids: np.ndarray
    index: dict[str, int]
    values: np.ndarray
    units: pd.DataFrame
    params: dict[str, Any]
    id_column: str
    metrics: list[str]
    coords: tuple[str, str]
    lonlat: bool
    edges_table: pd.DataFrame | None
    jobs: dict[str, Job]

    @abstractmethod
    def plan_from(self, values: Any) -> np.ndarray:
        """A plan sent by the page: one territory name per unit, in unit order."""

    @abstractmethod
    def _align(self, assignment: pd.DataFrame) -> np.ndarray:
        """The plan an assignments table gives, in unit order."""

    @abstractmethod
    def _new_id(self, prefix: str) -> str:
        """A fresh id for a job or scenario."""

    @abstractmethod
    def add_scenario(self, name: str, plan: np.ndarray, source: str,
                     centers: dict[str, str] | None = None,
                     report: dict[str, Any] | None = None,
                     territories: pd.DataFrame | None = None) -> Scenario:
        """Keep ``plan`` as a new scenario."""

    def optimise(self, request: dict[str, Any]) -> Job:
        """Start balancing in a worker thread: the page's plan as ``current``, its locks as
        ``locked``; the result becomes a new scenario."""
        plan = self.plan_from(request.get("assignment"))
        locked = request.get("locked") or []
        unknown = [u for u in locked if str(u) not in self.index]
        if unknown:
            raise InputError(f"locked units not in the map: {', '.join(map(str, unknown[:5]))}",
                             column="locked")
        current_m = len(set(plan))
        m = _int(request.get("territories", current_m), "territories", 1, len(self.ids))
        time_limit = _float(request.get("time_limit", min(30.0, float(
            self.params.get("time_limit") or 30.0))), "time_limit", 0.1, 600.0)
        params = {k: v for k, v in self.params.items() if k in BALANCE_PARAMS}
        params.update(territories=m, metrics=self.metrics, id=self.id_column,
                      current=CURRENT_COLUMN, time_limit=time_limit,
                      disruption_weight=_float(request.get("disruption_weight", 0.0),
                                               "disruption_weight", 0.0, 1000.0))
        if request.get("tolerance") not in (None, ""):
            params["tolerance"] = _float(request["tolerance"], "tolerance", 0.0, 1.0)
            params.pop("metric_tolerance", None)  # one band for every metric, as asked
        cap = request.get("max_moved")
        params["max_moved"] = None if cap in (None, "", 1, 1.0) else _float(
            cap, "max_moved", 0.0, 1.0)
        if self.lonlat:
            params.update(lon=self.coords[0], lat=self.coords[1])
            params.pop("x", None), params.pop("y", None)
        else:
            params.update(x=self.coords[0], y=self.coords[1])
        lock_col = np.full(len(self.ids), None, dtype=object)
        for u in locked:
            lock_col[self.index[str(u)]] = plan[self.index[str(u)]]
        if locked:
            params["locked"] = LOCKED_COLUMN
        else:
            params.pop("locked", None)
        centers = self._pinned_centers(request.get("centers"), plan, m)
        mode = "optimise" if m == current_m else ("consolidate" if m < current_m else "expand")
        scus = self.units.assign(**{CURRENT_COLUMN: plan, LOCKED_COLUMN: lock_col})
        scus[self.id_column] = self.ids
        edges = None
        if self.edges_table is not None:
            edges = self.edges_table.assign(from_id=self.edges_table["from_id"].astype(str),
                                            to_id=self.edges_table["to_id"].astype(str))
        job = Job(self._new_id("j"), {"mode": mode, "territories": m, "locked": len(locked),
                                      "pinned_centers": 0 if centers is None else
                                      int(centers["scu_id"].notna().sum()),
                                      **{k: params.get(k) for k in
                                         ("disruption_weight", "max_moved", "time_limit",
                                          "tolerance")}},
                  time_limit)
        self.jobs[job.id] = job
        name = str(request.get("name") or f"{mode} {m}" + (f", {len(locked)} locked"
                                                           if locked else "")
                   + (f", {job.request['pinned_centers']} centers pinned"
                      if centers is not None else ""))
        threading.Thread(target=self._solve, args=(job, scus, edges, params, plan, name,
                                                   centers),
                         daemon=True, name=f"planner-{job.id}").start()
        return job

    def _pinned_centers(self, pinned: Any, plan: np.ndarray, m: int) -> pd.DataFrame | None:
        """The balancing ``centers`` table for centers pinned on the page ({territory:
        unit id}): those territories keep their names and sit at those units; the others
        take the plan's largest remaining territory names (then T1, T2...) and the solver
        places their centers, as eSpatial's "optimise around these centers" does."""
        if not pinned:
            return None
        if not isinstance(pinned, dict):
            raise InputError("'centers' must map territory names to unit ids",
                             column="centers")
        unknown = [str(u) for u in pinned.values() if str(u) not in self.index]
        if unknown:
            raise InputError(f"pinned centers not in the map: {', '.join(unknown[:5])}",
                             column="centers")
        if len(pinned) > m:
            raise InputError(f"{len(pinned)} centers are pinned but {m} territories were "
                             "asked for; unpin some or ask for more territories",
                             column="centers")
        names = [str(t) for t in pinned]
        labels, inv = np.unique(plan.astype(str), return_inverse=True)
        size = np.bincount(inv, weights=self.values[:, 0] + 1e-9)
        rest = [str(t) for t in labels[np.argsort(-size, kind="stable")] if t not in pinned]
        fresh = (f"T{k}" for k in itertools.count(1))
        while len(names) < m:
            names.append(rest.pop(0) if rest else next(t for t in fresh if t not in names
                                                        and t not in set(labels)))
        units = [str(pinned[t]) if t in pinned else None for t in names]
        return pd.DataFrame({"id": names, "scu_id": pd.Series(units, dtype=object)})

    def _solve(self, job: Job, scus: pd.DataFrame, edges: pd.DataFrame | None,
               params: dict[str, Any], plan: np.ndarray, name: str,
               centers: pd.DataFrame | None = None) -> None:
        try:
            result = territory_balancing(scus, edges=edges, centers=centers, **params)
            assign = result.tables["assignments"]
            new_plan = self._align(assign)
            terr = result.tables["territories"]
            found = dict(zip(terr["territory"].astype(str), terr["center"].astype(str),
                             strict=True))
            report = jsonable({k: v for k, v in result.report.items() if k != "adjacency"})
            report["params"] = jsonable({k: v for k, v in params.items()
                                         if k not in ("current", "locked")})
            sc = self.add_scenario(name, new_plan, "optimised", found, report, terr)
            sc.stats["moved_from_edit"] = int((new_plan != plan).sum())
            job.scenario, job.state = sc.id, "done"
        except TerraplanError as err:
            job.state, job.error = "failed", str(err)
        except Exception as err:  # a bug, not bad input: say what it was
            job.state, job.error = "failed", f"{type(err).__name__}: {err}"
        finally:
            job.seconds = time.monotonic() - job.started

    def job(self, jid: str) -> Job:
        if jid not in self.jobs:
            raise InputError(f"no job '{jid}'", column="job")
        return self.jobs[jid]


def _float(value: Any, name: str, low: float, high: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number from {low:g} to {high:g}; got "
                             f"{value!r}", column=name) from None
    if not (low <= v <= high):
        raise ParameterError(f"{name} must be from {low:g} to {high:g}; got {v:g}", column=name)
    return v


def _int(value: Any, name: str, low: int, high: int) -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a whole number from {low} to {high}; got "
                             f"{value!r}", column=name) from None
    if not (low <= v <= high):
        raise ParameterError(f"{name} must be from {low} to {high}; got {v}", column=name)
    return v

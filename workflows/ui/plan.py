"""The planner's working state: units, the published plan, scenarios and solver jobs.

A *plan* is one territory name per unit (in unit order). The page edits plans; the
server scores them (:meth:`Workspace.evaluate`), re-optimises them through the same
``territory_balancing`` function as the CLI (:meth:`Workspace.optimise`), keeps them
as scenarios and publishes one as a run (:meth:`Workspace.promote`).
"""

from __future__ import annotations

import io
import itertools
import threading
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from components.errors import InputError, ParameterError
from components.result import jsonable
from workflows.ui.geometry import Shapes, geojson
from workflows.ui.jobs import Job, Optimising
from workflows.ui.scenario import Scenario
from workflows.ui.store import PublishedRun, Store

EARTH_KM = 6371.0088
MAX_SCENARIOS = 50


class Workspace(Optimising):
    """Units with shapes and metrics, their adjacency, and the plans made from them."""

    def __init__(self, units: pd.DataFrame, *, id_column: str, coords: tuple[str, str],
                 lonlat: bool, metrics: list[str], tolerance: dict[str, float],
                 assignment: pd.DataFrame, shapes: Shapes, edges: pd.DataFrame | None = None,
                 params: dict[str, Any] | None = None, base: PublishedRun | None = None,
                 store: Store | None = None, title: str = "terraplan planner",
                 name_column: str | None = None, source: str = "",
                 locations: list[dict[str, Any]] | None = None) -> None:
        self.units = units.reset_index(drop=True)
        self.id_column, self.coords, self.lonlat = id_column, coords, lonlat
        self.ids = self.units[id_column].astype(str).to_numpy()
        self.index = {u: i for i, u in enumerate(self.ids)}
        self.xy = self.units[list(coords)].to_numpy(dtype=float)
        self.metrics = metrics
        self.values = self.units[metrics].to_numpy(dtype=float)
        self.tolerance = tolerance
        self.shapes, self.edges_table = shapes, edges
        self.params = dict(params or {})
        self.base, self.store, self.title, self.source = base, store, title, source
        self.name_column = name_column
        self.locations = locations
        self.edge_index = self._edge_index(edges)
        self.scenarios: dict[str, Scenario] = {}
        self.jobs: dict[str, Job] = {}
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self.load_published(assignment)

    # -- loading ------------------------------------------------------------------------

    def _edge_index(self, edges: pd.DataFrame | None) -> np.ndarray:
        if edges is None or edges.empty:
            return np.empty((0, 2), dtype=np.int64)
        a = edges["from_id"].astype(str).map(self.index)
        b = edges["to_id"].astype(str).map(self.index)
        ok = a.notna() & b.notna()
        return np.column_stack([a[ok].astype(np.int64), b[ok].astype(np.int64)])

    def load_published(self, assignment: pd.DataFrame, run_id: str | None = None) -> Scenario:
        """The published plan becomes scenario 'current' (replacing the previous one)."""
        plan = self._align(assignment)
        centers = {}
        if "center" in assignment.columns:
            pairs = assignment[["territory", "center"]].dropna().astype(str).drop_duplicates()
            centers = dict(zip(pairs["territory"], pairs["center"], strict=False))
        scenario = Scenario("current", "current (published)", "published", plan,
                            self._fix_centers(plan, centers), {},
                            published_run=run_id or (self.base.run_id if self.base else None))
        scenario.stats = self.evaluate(plan, scenario.centers)
        self.scenarios["current"] = scenario
        return scenario

    def _align(self, assignment: pd.DataFrame) -> np.ndarray:
        label = "territory" if "territory" in assignment.columns else "facility"
        frame = assignment.assign(id=assignment["id"].astype(str)).set_index("id")[label]
        plan = frame.reindex(self.ids)
        missing = plan.isna()
        if missing.any():
            ids = ", ".join(self.ids[missing.to_numpy()][:5])
            raise InputError(f"the published assignments have no territory for "
                             f"{int(missing.sum())} unit(s) ({ids}); rerun the workflow so "
                             "every unit is assigned", column="territory")
        return plan.astype(str).to_numpy(dtype=object)

    def plan_from(self, values: Any) -> np.ndarray:
        """A plan sent by the page: one territory name per unit, in unit order."""
        if not isinstance(values, list) or len(values) != len(self.ids):
            got = len(values) if isinstance(values, list) else repr(values)
            raise InputError(f"'assignment' must list one territory per unit ({len(self.ids)} "
                             f"values); got {got}", column="assignment")
        if any(not isinstance(v, str) or not v for v in values):
            raise InputError("'assignment' values must be non-empty territory names",
                             column="assignment")
        return np.array(values, dtype=object)

    # -- scoring ------------------------------------------------------------------------

    def _fix_centers(self, plan: np.ndarray, centers: dict[str, str]) -> dict[str, str]:
        """Keep each territory's center when it still lies inside; otherwise the member
        nearest the territory's weighted centroid."""
        out = {}
        w = self.values[:, 0] + 1e-12
        for t in sorted(set(plan)):
            members = np.flatnonzero(plan == t)
            c = centers.get(t)
            if c is not None and c in self.index and plan[self.index[c]] == t:
                out[t] = c
                continue
            mid = (self.xy[members] * w[members, None]).sum(0) / w[members].sum()
            out[t] = str(self.ids[members[np.argmin(((self.xy[members] - mid) ** 2).sum(1))]])
        return out

    def _distance_to(self, points: np.ndarray, targets: np.ndarray) -> np.ndarray:
        if not self.lonlat:
            return np.sqrt(((points - targets) ** 2).sum(1))
        lon1, lat1 = np.radians(points).T
        lon2, lat2 = np.radians(targets).T
        h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(
            (lon2 - lon1) / 2) ** 2
        return 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))

    def evaluate(self, plan: np.ndarray, centers: dict[str, str],
                 reference: np.ndarray | None = None) -> dict[str, Any]:
        """Balance, contiguity, compactness and moves of a plan, computed the same way for
        every scenario so that they compare: ratio = total / (grand total / territories);
        compactness = first-metric-weighted mean straight-line distance to the center."""
        names, labels = np.unique(plan.astype(str), return_inverse=True)
        m = len(names)
        totals = np.zeros((m, len(self.metrics)))
        np.add.at(totals, labels, self.values)
        target = self.values.sum(0) / m
        ratio = np.divide(totals, target, out=np.zeros_like(totals), where=target > 0)
        center_idx = np.array([self.index[centers[t]] for t in names])
        dist = self._distance_to(self.xy, self.xy[center_idx[labels]])
        w = self.values[:, 0] + 1e-12
        compact = np.bincount(labels, w * dist, m) / np.bincount(labels, w, m)
        pieces = self._pieces(labels, m)
        tol = np.array([self.tolerance.get(k, 0.05) for k in self.metrics])
        out_of_band = np.abs(ratio - 1) > tol + 1e-9
        reference = self.scenarios["current"].assignment if reference is None and \
            "current" in self.scenarios else reference
        moved = np.zeros(len(plan), dtype=bool) if reference is None else (
            plan.astype(str) != reference.astype(str))
        rows = [{"territory": str(t), "center": centers[t], "units": int(n),
                 **{k: float(totals[i, j]) for j, k in enumerate(self.metrics)},
                 **{f"{k}_ratio": round(float(ratio[i, j]), 6)
                    for j, k in enumerate(self.metrics)},
                 "compactness": round(float(compact[i]), 4), "pieces": int(pieces[i]),
                 "contiguous": bool(pieces[i] == 1),
                 "out_of_band": [k for j, k in enumerate(self.metrics) if out_of_band[i, j]]}
                for i, (t, n) in enumerate(zip(names, np.bincount(labels, minlength=m),
                                               strict=True))]
        return {
            "territories": m,
            "balance": {k: {"min_ratio": float(ratio[:, j].min()),
                            "max_ratio": float(ratio[:, j].max()),
                            "range": float(ratio[:, j].max() - ratio[:, j].min()),
                            "std": float(ratio[:, j].std()), "tolerance": float(tol[j]),
                            "target": float(target[j]),
                            "out_of_band": int(out_of_band[:, j].sum())}
                        for j, k in enumerate(self.metrics)},
            "compactness": round(float((w * dist).sum() / w.sum()), 4),
            "compactness_unit": "km" if self.lonlat else "coordinate units",
            "noncontiguous": [r["territory"] for r in rows if not r["contiguous"]],
            "moved_units": int(moved.sum()),
            "moved": {k: float(self.values[moved, j].sum()) for j, k in enumerate(self.metrics)},
            "rows": rows,
        }

    def _pieces(self, labels: np.ndarray, m: int) -> np.ndarray:
        """Connected pieces per territory over the unit adjacency (1 = contiguous)."""
        n = len(labels)
        if len(self.edge_index) == 0:
            return np.ones(m, dtype=np.int64)
        a, b = self.edge_index[:, 0], self.edge_index[:, 1]
        same = labels[a] == labels[b]
        graph = coo_matrix((np.ones(int(same.sum())), (a[same], b[same])), shape=(n, n))
        _, comp = connected_components(graph, directed=False)
        per = pd.DataFrame({"t": labels, "c": comp}).drop_duplicates()
        return np.bincount(per["t"].to_numpy(), minlength=m)

    # -- scenarios ----------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter)}"

    def add_scenario(self, name: str, plan: np.ndarray, source: str,
                     centers: dict[str, str] | None = None, report: dict[str, Any] | None = None,
                     territories: pd.DataFrame | None = None) -> Scenario:
        with self._lock:
            if len(self.scenarios) >= MAX_SCENARIOS:
                raise InputError(f"at most {MAX_SCENARIOS} scenarios are kept; delete one "
                                 "first", column="scenario")
            sid = self._new_id("s")
            fixed = self._fix_centers(plan, centers or self.scenarios["current"].centers)
            sc = Scenario(sid, name or f"scenario {sid[1:]}", source, plan, fixed,
                          self.evaluate(plan, fixed), report or {}, territories)
            self.scenarios[sid] = sc
            return sc

    def scenario(self, sid: str) -> Scenario:
        if sid not in self.scenarios:
            raise InputError(f"no scenario '{sid}'; scenarios: {', '.join(self.scenarios)}",
                             column="scenario")
        return self.scenarios[sid]

    def delete(self, sid: str) -> None:
        if sid == "current":
            raise InputError("the published plan 'current' cannot be deleted", column="scenario")
        self.scenario(sid)
        del self.scenarios[sid]

    # -- publishing and history -----------------------------------------------------------

    def promote(self, sid: str) -> str:
        """Publish a scenario as a new run (trigger ``manual``); it becomes 'current'."""
        if self.store is None or self.base is None:
            raise InputError("promoting needs a database: start the planner with "
                             "--database FILE", column="--database")
        sc = self.scenario(sid)
        previous = self.scenarios["current"].assignment
        assignments, territories = self.output_tables(sc, previous)
        report = {"component": "territory_balancing", "status": "promoted",
                  "source": sc.source, "scenario": sc.name, "n_units": len(self.ids),
                  "n_territories": sc.stats["territories"], "contiguous":
                      not sc.stats["noncontiguous"], "noncontiguous_territories":
                      sc.stats["noncontiguous"], "moved_units": int((sc.assignment != previous)
                                                                    .sum()),
                  "balance": {k: {kk: v[kk] for kk in ("min_ratio", "max_ratio", "range", "std",
                                                       "tolerance", "target")}
                              for k, v in sc.stats["balance"].items()},
                  "objective": sc.report.get("objective"), "gap": sc.report.get("gap")}
        params = {**self.params, **(sc.report.get("params") or {}), "promoted_from": sc.name}
        run_id = self.store.publish(self.base, {"assignments": assignments,
                                                "territories": territories}, report, params)
        sc.published_run = run_id
        self.load_published(assignments, run_id)
        return run_id

    def output_tables(self, sc: Scenario, previous: np.ndarray) -> tuple[pd.DataFrame,
                                                                          pd.DataFrame]:
        """The scenario in the published tables' shape (assignments, territory summary)."""
        center_idx = np.array([self.index[sc.centers[t]] for t in sc.assignment])
        assignments = pd.DataFrame({
            "id": self.ids, "territory": sc.assignment.astype(str),
            "center": self.ids[center_idx],
            "distance": np.round(self._distance_to(self.xy, self.xy[center_idx]), 9),
            "previous_territory": previous.astype(str),
            "moved": sc.assignment.astype(str) != previous.astype(str)})
        rows = pd.DataFrame(sc.stats["rows"])
        territories = rows[["territory", "center", "units", *self.metrics,
                            *[f"{k}_ratio" for k in self.metrics], "compactness",
                            "contiguous"]].rename(columns={"units": "n_units"})
        return assignments, territories

    def rollback(self, run_id: str) -> list[str]:
        if self.store is None or self.base is None:
            raise InputError("rollback needs a database: start the planner with --database",
                             column="--database")
        restored = self.store.rollback(run_id, workflow=self.base.workflow)
        table = self.store.read(self.base.outputs["assignments"])
        self.load_published(table, run_id)
        return restored

    # -- export -------------------------------------------------------------------------

    def export(self, plan: np.ndarray, fmt: str) -> tuple[str, str]:
        """(body, media type) of a plan as CSV or GeoJSON."""
        names = self.units[self.name_column].astype(str).tolist() if self.name_column else None
        frame = pd.DataFrame({"id": self.ids, "territory": plan.astype(str)})
        if names:
            frame.insert(1, "name", names)
        for k in self.metrics:
            frame[k] = self.units[k].to_numpy()
        if fmt == "csv":
            buf = io.StringIO()
            frame.to_csv(buf, index=False)
            return buf.getvalue(), "text/csv"
        if fmt == "geojson":
            props = jsonable(frame.to_dict(orient="records"))
            return geojson(self.shapes, self.xy, props), "application/geo+json"
        raise ParameterError(f"format must be csv or geojson; got {fmt!r}", column="format")

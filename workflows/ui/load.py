"""Open a planner workspace from a DuckDB file (a workflow's published tables) or from
a CLI output folder plus the unit table it was made from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from components.errors import InputError
from workflows.io import read_input
from workflows.ui.geometry import detect
from workflows.ui.plan import Workspace
from workflows.ui.store import BALANCING, LOCATING, Store

NAME_COLUMNS = ("name", "label", "title", "county", "zip")


def from_database(database: str | Path, *, units: str | None = None,
                  edges: str | None = None) -> Workspace:
    """The newest balancing run in ``database``, its current tables and its unit table
    (the table holding the run's id, coordinate and metric columns)."""
    store = Store(database)
    base = store.latest(BALANCING)
    if base is None:
        raise InputError(f"'{database}' has no successful territory_balancing run; run a "
                         "workflow first (e.g. `make demo`)", column="--database")
    params = base.params
    id_col = params.get("id") or "id"
    metrics = list(params.get("metrics") or [])
    coords, _ = _coords(params)
    tables = store.tables()
    outputs = set(base.outputs.values())
    needed = {id_col, *coords, *metrics}
    if units is None:
        fits = [t for t, cols in tables.items() if t not in outputs and needed <= set(cols)]
        if not fits:
            raise InputError(f"no table in '{database}' has the run's columns "
                             f"{', '.join(sorted(needed))}; pass --units TABLE", column="--units")
        units = max(fits, key=lambda t: ("wkt" in tables[t], -len(tables[t])))
    unit_table = store.read(units)
    missing = sorted(needed - set(unit_table.columns))
    if missing:
        raise InputError(f"table '{units}' lacks the run's column(s) {', '.join(missing)}",
                         column=missing[0])
    if edges is None:
        edges = next((t for t, cols in tables.items() if {"from_id", "to_id"} <= set(cols)),
                     None)
    edge_table = store.read(edges) if edges else None
    locations = _locations(store, unit_table, id_col, coords)
    title = f"{base.workflow}: {base.step}"
    return _workspace(unit_table, base.tables["assignments"], params, base.report,
                      edge_table, base=base, store=store, title=title,
                      source=f"{Path(database).name} · {units}", locations=locations)


def from_results(folder: str | Path, *, units: str | None, edges: str | None = None,
                 id_column: str | None = None) -> Workspace:
    """A ``terraplan balance --out DIR`` folder; ``units`` is the INPUT it was made from."""
    folder = Path(folder)
    if not (folder / "assignments.csv").is_file():
        raise InputError(f"'{folder}' has no assignments.csv; pass the --out folder of "
                         "`terraplan balance`", column="--results")
    if units is None:
        raise InputError("--results needs --units FILE: the unit table the results were "
                         "made from (coordinates, metrics, optional wkt)", column="--units")
    report = json.loads((folder / "report.json").read_text()) if (
        folder / "report.json").is_file() else {}
    params = dict(report.get("params") or {})
    metrics = list(params.get("metrics") or (report.get("balance") or {}).keys())
    if not metrics:
        raise InputError(f"{folder / 'report.json'} names no balanced metrics; is this a "
                         "balance output folder?", column="--results")
    table = read_input(units, id_columns=[id_column] if id_column else ())
    id_col = id_column or params.get("id") or ("id" if "id" in table.columns else
                                               table.columns[0])
    if "lon" not in params and "x" not in params:
        params.update({"lon": "lon", "lat": "lat"} if "lon" in table.columns
                      else {"x": "x", "y": "y"})
    first: dict[str, Any] = next(iter((report.get("balance") or {}).values()), {})
    params.setdefault("tolerance", first.get("tolerance", 0.05))
    params.update(id=id_col, metrics=metrics)
    assignments = read_input(str(folder / "assignments.csv"), id_columns=["id"])
    edge_table = read_input(edges) if edges else None
    return _workspace(table, assignments, params, report, edge_table,
                      title=f"results in {folder}", source=f"{folder} · {units}")


def _coords(params: dict[str, Any]) -> tuple[tuple[str, str], bool]:
    if params.get("x") and params.get("y"):
        return (params["x"], params["y"]), False
    return (params.get("lon") or "lon", params.get("lat") or "lat"), True


def _workspace(units: pd.DataFrame, assignments: pd.DataFrame, params: dict[str, Any],
               report: dict[str, Any], edges: pd.DataFrame | None, **kw: Any) -> Workspace:
    id_col = params.get("id") or "id"
    if id_col not in units.columns:
        raise InputError(f"unit table has no id column '{id_col}'; columns: "
                         f"{', '.join(map(str, units.columns))}", column=id_col)
    coords, lonlat = _coords(params)
    metrics = list(params["metrics"])
    tolerance = {k: float((report.get("balance") or {}).get(k, {}).get(
        "tolerance", params.get("tolerance", 0.05))) for k in metrics}
    units = units.assign(**{id_col: units[id_col].astype(str)})
    name_col = next((c for c in units.columns if str(c).lower() in NAME_COLUMNS), None)
    shapes = detect(units, id_col)
    return Workspace(units, id_column=id_col, coords=coords, lonlat=lonlat, metrics=metrics,
                     tolerance=tolerance, assignment=assignments, shapes=shapes, edges=edges,
                     params=params, name_column=name_col, **kw)


def _locations(store: Store, units: pd.DataFrame, id_col: str,
               coords: tuple[str, str]) -> list[dict[str, Any]] | None:
    """Every location-allocation step's newest run: open facilities at unit (or
    candidate) coordinates, each unit's facility (None when unserved), the coverage
    radius when one was set, and the report's headline figures."""
    xy = units.assign(_id=units[id_col].astype(str)).set_index("_id")[list(coords)]
    found = []
    for run in store.latest_steps(LOCATING):
        if "assignments" not in run.tables:
            continue
        facilities = run.tables.get("facilities", pd.DataFrame({"id": []}))
        if "open" in facilities.columns:
            facilities = facilities[facilities["open"].astype(bool)]
        sites = []
        for row in facilities.to_dict(orient="records"):
            fid = str(row["id"])
            x, y = row.get("x", row.get(coords[0])), row.get("y", row.get(coords[1]))
            if fid in xy.index:
                x, y = xy.at[fid, coords[0]], xy.at[fid, coords[1]]
            if x is None or y is None or _plain(x) is None:
                continue  # a candidate site with no coordinates we know: not drawable
            sites.append({**{k: _plain(v) for k, v in row.items()}, "id": fid,
                          "x": float(x), "y": float(y)})
        assign = run.tables["assignments"]
        facility = {str(u): (None if _plain(f) is None else str(f))
                    for u, f in zip(assign["id"], assign["facility"], strict=True)}
        report = run.report
        unassigned = report.get("unassigned") or {}
        found.append({
            "run_id": run.run_id, "step": run.step, "strategy": run.params.get("strategy"),
            "radius": run.params.get("radius"), "distance": report.get("distance"),
            "facilities": sites, "assignment": facility,
            "report": {"status": report.get("status"), "objective": report.get("objective"),
                       "objective_meaning": report.get("objective_meaning"),
                       "gap": report.get("gap"), "coverage_pct": report.get("coverage_pct"),
                       "unassigned": unassigned.get("count", 0)}})
    return found or None


def _plain(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and v != v:
        return None
    return v

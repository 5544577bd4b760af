"""Dissolve units' polygons by territory (shapely), checked at the boundary."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from components.adjacency._optional import require
from components.errors import InputError, MissingColumnError, UnknownIdError, preview
from components.polygons.spec import SPEC
from components.result import ComponentResult


def territory_polygons(units: pd.DataFrame, *, assignments: pd.DataFrame | None = None,
                       **params: Any) -> ComponentResult:
    """Territory polygons (or units with their territory) from WKT units and assignments.

    >>> import pandas as pd
    >>> units = pd.DataFrame({"id": ["a", "b"], "wkt": [
    ...     "POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))", "POLYGON ((1 0, 2 0, 2 1, 1 1, 1 0))"]})
    >>> done = territory_polygons(units, assignments=pd.DataFrame(
    ...     {"id": ["a", "b"], "territory": ["T1", "T1"]}))
    >>> done.tables["polygons"][["territory", "n_units", "n_parts"]].values.tolist()
    [['T1', 2, 1]]
    """
    started = time.perf_counter()
    p = SPEC.validate_params(params)
    shapely = require("shapely", "territory polygons")
    if assignments is None:
        raise InputError("territory polygons need the assignments table (--assignments "
                         "FILE with id and territory columns)", column="assignments")
    for table, cols, name in ((units, (p["id"], p["wkt"], *(p["metric"] or [])), "units"),
                              (assignments, (p["territory"],), "assignments")):
        missing = [c for c in cols if c not in table.columns]
        if missing:
            raise MissingColumnError(
                f"column '{missing[0]}' not found in the {name} table; columns present: "
                f"{preview(list(table.columns), limit=20)}", column=missing[0])
    a_id = p["assignment_id"] or ("id" if "id" in assignments.columns else p["id"])
    if a_id not in assignments.columns:
        raise MissingColumnError(f"column '{a_id}' not found in the assignments table; "
                                 f"columns present: {preview(list(assignments.columns))}: "
                                 "name it with --assignment-id COL", column=a_id)
    unit_ids = units[p["id"]].astype(str)
    territory = assignments.assign(_id=assignments[a_id].astype(str)).drop_duplicates(
        "_id").set_index("_id")[p["territory"]]
    unknown = ~unit_ids.isin(territory.index)
    if unknown.all():
        raise UnknownIdError(
            f"no unit id of units.{p['id']} is in assignments.{a_id} (e.g. "
            f"{preview(unit_ids.head(3))} vs {preview(territory.index[:3])}): check --id and "
            "--assignment-id", column=a_id)
    geoms = shapely.from_wkt(units[p["wkt"]].to_numpy(dtype=object), on_invalid="ignore")
    broken = shapely.is_missing(geoms) & units[p["wkt"]].notna().to_numpy()
    if broken.any():
        raise InputError(f"column '{p['wkt']}' holds unreadable WKT at ids "
                         f"{preview(unit_ids[broken])}", column=p["wkt"])
    geoms = np.where(shapely.is_valid(geoms), geoms, shapely.make_valid(geoms))
    labels = unit_ids.map(territory)
    report: dict[str, Any] = {"status": "ok", "level": p["level"], "n_units": len(units),
                              "unassigned_units": {"count": int(unknown.sum()),
                                                   "ids": unit_ids[unknown].head(20).tolist()}}
    if p["level"] == "units":
        out = units.assign(territory=labels.to_numpy(),
                           **{p["wkt"]: shapely.to_wkt(geoms, rounding_precision=-1)})
        out = out.rename(columns={p["wkt"]: "wkt"})
    else:
        rows = []
        for name in pd.unique(labels.dropna()):
            members = (labels == name).to_numpy()
            shape = shapely.union_all(geoms[members])
            if p["gap_tolerance"] > 0:
                eps = p["gap_tolerance"] / 2
                shape = shapely.buffer(shapely.buffer(shape, eps, join_style="mitre"), -eps,
                                       join_style="mitre")
            row = {"territory": name, "n_units": int(members.sum()),
                   "n_parts": int(shapely.get_num_geometries(shape))}
            for metric in p["metric"] or []:
                row[metric] = float(pd.to_numeric(units.loc[members, metric]).sum())
            row["wkt"] = shapely.to_wkt(shape, rounding_precision=-1)
            rows.append(row)
        out = pd.DataFrame(rows).sort_values("territory", kind="mergesort",
                                             key=lambda c: c.astype(str))
        out = out.reset_index(drop=True)
        report["n_territories"] = len(out)
        report["territories_in_several_parts"] = out.loc[out["n_parts"] > 1,
                                                         "territory"].tolist()
    if report["unassigned_units"]["count"]:
        report["status"] = "warnings"
        report["warnings"] = [f"{int(unknown.sum())} unit(s) have no territory in the "
                              f"assignments, e.g. {preview(unit_ids[unknown])}"]
    report["seconds"] = time.perf_counter() - started
    return ComponentResult({"polygons": out}, report)

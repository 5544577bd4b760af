"""The static map of one component run (``terraplan balance|locate ... --map FILE``).

Builds :func:`components.report.render_map`'s inputs from what the run had: its input
table (ids, coordinates, an optional WKT column and name, the metrics), its output
tables and its report. Territory balancing shows territories, centers, the balance
chart and the units that moved from ``current``; location allocation shows each
point's facility (unserved points grey) and the open facilities as centers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from components.errors import InputError

WKT_NAMES = ("wkt", "geometry", "geom")
NAME_NAMES = ("name", "label", "title")


def result_map_inputs(component: str, table: pd.DataFrame, tables: Mapping[str, pd.DataFrame],
                      report: Mapping[str, Any], params: Mapping[str, Any],
                      inputs: Mapping[str, pd.DataFrame] | None = None,
                      wkt: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``render_map``/``write_map`` (``units`` included); ``wkt``
    names the polygon column when it is not called wkt, geometry or geom."""
    inputs = dict(inputs or {})
    id_col = str(params.get("id") or "id")
    planar = bool(params.get("x")) and not params.get("lon")
    c1, c2 = ((str(params["x"]), str(params.get("y") or "y")) if planar
              else (str(params.get("lon") or "lon"), str(params.get("lat") or "lat")))
    xcol, ycol = ("x", "y") if planar else ("lon", "lat")
    missing = [c for c in (id_col, c1, c2) if c not in table.columns]
    if missing:
        raise InputError(f"--map needs the input's id and coordinate columns; '{missing[0]}' "
                         "is missing", column=missing[0])
    keep = {id_col: "id", c1: xcol, c2: ycol}
    if wkt is not None and wkt not in table.columns:
        raise InputError(f"no column '{wkt}' for the map's polygons", column=wkt)
    wkt = wkt or next((c for c in table.columns if str(c).lower() in WKT_NAMES), None)
    name = next((c for c in table.columns if str(c).lower() in NAME_NAMES), None)
    if name is not None:
        keep[name] = "name"
    if wkt is not None:
        keep[wkt] = "wkt"
    metrics = list(params.get("metrics") or ([params["weight"]] if params.get("weight")
                                             else []))
    for m in metrics:
        if m in table.columns and m not in keep:
            keep[m] = m
    units = table[list(keep)].rename(columns=keep)
    units["id"] = units["id"].astype(str)
    coords = "planar" if planar else "lonlat"
    if component == "territory_balancing":
        return _balancing(units, tables, report, metrics, xcol, ycol, inputs, coords)
    if component == "location_allocation":
        return _locating(units, tables, report, table, keep, xcol, ycol, inputs, coords, id_col,
                         (c1, c2))
    raise InputError(f"--map draws territory_balancing and location_allocation runs, not "
                     f"'{component}'", column="--map")


def _balancing(units: pd.DataFrame, tables: Mapping[str, pd.DataFrame],
               report: Mapping[str, Any], metrics: list[str], xcol: str, ycol: str,
               inputs: Mapping[str, pd.DataFrame], coords: str) -> dict[str, Any]:
    assign = tables["assignments"].astype({"id": str})
    cols = [c for c in ("id", "territory", "distance", "previous_territory", "moved")
            if c in assign.columns]
    frame = units.merge(assign[cols], on="id", how="left")
    terr = tables.get("territories")
    centers = None
    if terr is not None and "center" in terr.columns:
        at = frame.set_index("id")[[xcol, ycol]]
        ok = terr["center"].astype(str).isin(at.index)
        center_ids = terr["center"][ok].astype(str)
        centers = pd.DataFrame({"id": terr["territory"][ok].astype(str).to_numpy(),
                                xcol: at[xcol].loc[center_ids].to_numpy(),
                                ycol: at[ycol].loc[center_ids].to_numpy()})
    if "previous_territory" in frame.columns and frame["previous_territory"].isna().all():
        frame = frame.drop(columns=[c for c in ("previous_territory", "moved")
                                    if c in frame.columns])  # no current plan: nothing moved
    balance = {m: float(b["tolerance"]) for m, b in (report.get("balance") or {}).items()
               if m in metrics and "tolerance" in b}
    legend = None
    if terr is not None:
        legend = terr[[c for c in ("territory", *metrics, "contiguous")
                       if c in terr.columns]].assign(
            **{f"{m}_ratio": terr[f"{m}_ratio"] for m in metrics if f"{m}_ratio" in terr})
    summary = {"status": report.get("status"), "territories": report.get("n_territories"),
               "contiguous": report.get("contiguous")}
    if report.get("gap") is not None:
        summary["gap"] = f"{100 * float(report['gap']):.2f}%"
    for m, b in (report.get("balance") or {}).items():
        summary[f"{m} range"] = f"{b['min_ratio']:.3f}-{b['max_ratio']:.3f}"
    return {"units": frame, "centers": centers, "territories": legend,
            "edges": inputs.get("edges"), "balance": balance or None, "coords": coords,
            "summary": {k: v for k, v in summary.items() if v is not None},
            "title": f"{report.get('n_territories', '')} territories".strip()}


def _locating(units: pd.DataFrame, tables: Mapping[str, pd.DataFrame],
              report: Mapping[str, Any], table: pd.DataFrame, keep: Mapping[str, str],
              xcol: str, ycol: str, inputs: Mapping[str, pd.DataFrame], coords: str,
              id_col: str, columns: tuple[str, str]) -> dict[str, Any]:
    assign = tables["assignments"].astype({"id": str})
    cols = [c for c in ("id", "facility", "cost") if c in assign.columns]
    frame = units.merge(assign[cols], on="id", how="left").rename(
        columns={"facility": "territory", "cost": "distance"})
    frame["territory"] = frame["territory"].map(lambda v: None if pd.isna(v) else str(v))
    sites = tables.get("facilities", pd.DataFrame({"id": []}))
    if "open" in sites.columns:
        sites = sites[sites["open"].astype(bool)]
    known = [frame.set_index("id")[[xcol, ycol]]]
    for name in ("candidates", "required"):
        extra = inputs.get(name)
        if extra is not None and {id_col, *columns} <= set(extra.columns):
            known.append(extra.assign(**{id_col: extra[id_col].astype(str)}).set_index(
                id_col)[list(columns)].set_axis([xcol, ycol], axis=1))
    where = pd.concat(known)
    where = where[~where.index.duplicated()]
    ids = [str(s) for s in sites["id"] if str(s) in where.index]
    centers = pd.DataFrame({"id": ids, xcol: where.loc[ids, xcol].to_numpy(),
                            ycol: where.loc[ids, ycol].to_numpy()})
    legend_cols = [c for c in ("id", "load", "capacity", "utilisation")
                   if c in sites.columns and (c == "id" or sites[c].notna().any())]
    legend = sites[legend_cols].rename(columns={"id": "territory"}).astype({"territory": str})
    summary = {"strategy": report.get("strategy"), "status": report.get("status"),
               "open facilities": report.get("n_open"),
               "objective": report.get("objective")}
    if report.get("coverage_pct") is not None:
        summary["demand covered"] = f"{float(report['coverage_pct']):.1f}%"
    unassigned = (report.get("unassigned") or {}).get("count")
    if unassigned:
        summary["unserved points"] = unassigned
    return {"units": frame, "centers": centers, "territories": legend, "coords": coords,
            "summary": {k: v for k, v in summary.items() if v is not None},
            "title": f"{report.get('n_open', len(ids))} facilities ({report.get('strategy')})"}

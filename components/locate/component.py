"""Location allocation on tables: validation, cost matrix, solve, result tables.

Sites (candidates, required, competitors) are rows with an ``id`` and either
coordinates (the demand table's coordinate column names, or x/y / lon/lat) or no
coordinates, in which case the id (or a ``demand_id`` column) names a demand point
and the site sits there. Without a candidates table every demand point is a
candidate. A required row whose id is a candidate marks that candidate required;
other required rows add sites. Costs: straight-line (euclidean / haversine in
km) or shortest paths over the ``edges`` road graph (ids of demand points and
sites as nodes), then the chosen transformation (linear, power, exponential).

:func:`location_allocation` is the one entry point behind the CLI (``terraplan
locate``), the DuckDB function ``terraplan_location_allocation`` and the
warehouse handlers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from components.costs import RoadNetwork, local_plane, point_costs, transform_costs
from components.errors import InputError, MissingColumnError, UnknownIdError, preview
from components.locate.large import component_lists  # lscale (#19)
from components.locate.matrix import matrix_costs
from components.locate.solver import REASONS, LocationAllocator
from components.locate.sparse import check_dense  # lscale (#19)
from components.locate.spec import SPEC
from components.locate.tables import result_tables
from components.result import ComponentResult
from components.scu import SCUColumns, SCUTable, in_id_order, validate_scus

SITE_EXTRAS = ("capacity", "min_load", "opening_cost", "group", "attractiveness")
NO_X, NO_Y = "__terraplan_no_x", "__terraplan_no_y"  # placeholders: no coordinates given


@dataclass
class Sites:
    ids: np.ndarray
    coords: np.ndarray
    node: np.ndarray  # node id in the road graph (demand id when the site is a demand point)
    kind: np.ndarray  # 'candidate' | 'required' | 'competitor'
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


def location_allocation(demand: pd.DataFrame, *, candidates: pd.DataFrame | None = None,
                        required: pd.DataFrame | None = None,
                        competitors: pd.DataFrame | None = None,
                        edges: pd.DataFrame | None = None, costs: pd.DataFrame | None = None,
                        **params: Any) -> ComponentResult:
    """Open facilities and assign demand to them (see :mod:`components.locate.solver`).

    >>> import pandas as pd
    >>> pts = pd.DataFrame({"id": list("abcdef"), "x": [0, 1, 2, 10, 11, 12],
    ...                     "y": [0] * 6})
    >>> res = location_allocation(pts, facilities=2)
    >>> res.tables["assignments"]["facility"].tolist()
    ['b', 'b', 'b', 'e', 'e', 'e']
    >>> res.report["status"], res.report["gap"]
    ('optimal', 0.0)
    """
    p = SPEC.validate_params(params)
    demand = in_id_order(demand, p["id"])
    candidates, required, competitors = (
        None if not isinstance(t, pd.DataFrame) else
        in_id_order(t, p["id"] if p["id"] in t.columns else "id")
        for t in (candidates, required, competitors))
    if costs is not None and p["distance"] is not None:
        raise InputError(f"give either a cost table (--costs FILE) or --distance "
                         f"{p['distance']}, not both: the cost table replaces the distance",
                         column="distance")
    # coordinates are optional when the costs come from a table or a road graph
    free = costs is not None or p["distance"] == "network"
    table, has_coords = _demand_table(demand, p, free)
    metric_names = list(table.metric_names)
    weights = (table.metrics[:, metric_names.index(p["weight"])] if p["weight"]
               else np.ones(table.n))
    loads = table.metrics[:, metric_names.index(p["load"])] if p["load"] else None
    distance = "matrix" if costs is not None else p["distance"] or (
        "haversine" if table.coordinate_kind == "lonlat" else "euclidean")
    if distance == "haversine" and table.coordinate_kind != "lonlat":
        raise InputError("distance 'haversine' needs lon/lat coordinates (--lon COL --lat COL)",
                         column="distance")
    if distance == "network" and edges is None:
        raise InputError("distance 'network' needs a road graph: --edges FILE with from_id, "
                         "to_id, cost", column="edges")

    if p["attractiveness"]:  # the user's column name for the stores' attractiveness
        candidates, required, competitors = (
            _attractiveness(df, p["attractiveness"], what) for df, what in
            ((candidates, "candidates"), (required, "required"), (competitors, "competitors")))
    cand = (_sites(candidates, table, "candidates", "candidate", free=free)
            if candidates is not None
            else Sites(table.ids.copy(), table.coords.copy(), table.ids.copy(),
                       np.array(["candidate"] * table.n, dtype=object)))
    req_mask = np.zeros(len(cand), dtype=bool)
    if required is not None:
        cand, req_mask = _add_required(cand, _sites(required, table, "required", "required",
                                                  known=cand, free=free))
    comp = (_sites(competitors, table, "competitors", "competitor", free=free)
            if competitors is not None else None)

    unused = 0
    matrix: Any  # an (n, m) matrix, or CandidateLists on the sparse path
    # --- lscale (#19): candidate lists, and a size message before a dense matrix ---
    if p["candidate_list"]:
        matrix, comp_costs = component_lists(p, table, cand, comp, costs, distance), None
    elif costs is not None:
        matrix, comp_costs, unused = matrix_costs(costs, table, cand, comp)
    else:
        check_dense(table.n, len(cand) + (len(comp) if comp is not None else 0))
        matrix, comp_costs = _costs(table, cand, comp, distance, edges)
    if not p["candidate_list"]:  # --- end lscale ---
        matrix, comp_costs = _transform(matrix, comp_costs, p)
    rank = pd.Index(cand.ids.astype(str)).argsort(kind="stable").argsort()
    groups = group_max = None
    if "group" in cand.extras:
        if p["max_per_group"] is None:
            raise InputError("the candidates table has a 'group' column: give max_per_group "
                             "(--max-per-group N) or drop the column", column="max_per_group")
        codes, uniq = pd.factorize(pd.Series(cand.extras["group"]), use_na_sentinel=True)
        groups, group_max = codes.astype(np.int64), np.full(len(uniq), p["max_per_group"])
    elif p["max_per_group"] is not None:
        raise InputError("max_per_group needs a 'group' column in the candidates table",
                         column="max_per_group")
    solver = LocationAllocator(
        p["strategy"], p["facilities"], radius=p["radius"], min_load=p["min_load"],
        max_load=p["max_load"], closest_assignment=p["closest_assignment"],
        allow_unassigned=p["allow_unassigned"], unassigned_penalty=p["unassigned_penalty"],
        budget=p["budget"], exact=p["exact"], time_limit=p["time_limit"], seed=p["seed"],
        facilities_mode=p["facilities_mode"], decay=p["decay"], decay_rate=p["decay_rate"],
        cutoff=p["impedance_cutoff"], target_share=p["target_share"],
        backup_weight=p["backup_weight"], target_gap=max(p["gap"], 1e-9))
    plane = None
    if has_coords and np.isfinite(cand.coords).all():  # the Weber start needs a plane
        plane = (_plane(table.coords, table), _plane(cand.coords, table))
    solver.solve(
        matrix, weights, loads=loads, required=req_mask,
        opening_costs=cand.extras.get("opening_cost"),
        capacities=cand.extras.get("capacity"), min_loads=cand.extras.get("min_load"),
        groups=groups, group_max=group_max, competitor_costs=comp_costs,
        max_cost=p["max_cost"],
        forbidden=_pairs(p["forbidden_pairs"], table, cand, "forbidden_pairs"),
        required_pairs=_pairs(p["required_pairs"], table, cand, "required_pairs"),
        site_rank=rank, coords=plane, site_names=cand.ids,
        attractiveness=_filled(cand.extras.get("attractiveness"), 1.0),
        competitor_attractiveness=None if comp is None else
        _filled(comp.extras.get("attractiveness"), 1.0))
    result = result_tables(table, weights, cand, comp, solver, p, distance)
    if costs is not None:
        result.report["cost_rows_unused"] = unused
    if hasattr(solver, "market_share_"):
        result.report["market_share"] = solver.market_share_
        result.report["market_share_upper_bound"] = solver.stats_["market_share"][
            "upper_bound_share"]
    return result


def _attractiveness(df: pd.DataFrame | None, col: str, what: str) -> pd.DataFrame | None:
    if df is None or col == "attractiveness":
        return df
    if col not in df.columns:
        if what == "candidates":
            raise MissingColumnError(f"attractiveness column '{col}' not found in the "
                                     f"candidates table; columns present: "
                                     f"{', '.join(map(str, df.columns))}", column=col)
        return df
    return df.drop(columns=["attractiveness"], errors="ignore").rename(
        columns={col: "attractiveness"})


def _filled(values: np.ndarray | None, default: float) -> np.ndarray | None:
    return None if values is None else np.where(np.isnan(values), default, values)


def _demand_table(demand: pd.DataFrame, p: dict, free: bool) -> tuple[SCUTable, bool]:
    """The validated demand table, and whether it has coordinates (optional when ``free``)."""
    metrics = tuple(dict.fromkeys(c for c in (p["weight"], p["load"]) if c))
    cols = SCUColumns(id=p["id"], x=p["x"], y=p["y"], lon=p["lon"], lat=p["lat"],
                      metrics=metrics)
    if not free or not isinstance(demand, pd.DataFrame):
        return validate_scus(demand, cols, require_metrics=False, table="demand table"), True
    try:
        cols.resolve([str(c) for c in demand.columns])
    except MissingColumnError:  # no coordinates: ids and columns are still checked
        filler = {NO_X: np.zeros(len(demand)), NO_Y: np.zeros(len(demand))}
        table = validate_scus(demand.assign(**filler), replace(cols, x=NO_X, y=NO_Y),
                              require_metrics=False, table="demand table")
        table.coords[:] = np.nan
        return table, False
    return validate_scus(demand, cols, require_metrics=False, table="demand table"), True


# ---------------------------------------------------------------- sites
def _sites(df: pd.DataFrame, table: SCUTable, what: str, kind: str,
           known: Sites | None = None, free: bool = False) -> Sites:
    if not isinstance(df, pd.DataFrame) or len(df) == 0:
        raise InputError(f"the {what} table is empty", column=what)
    id_col = table.columns.id if table.columns.id in df.columns else "id"
    if id_col not in df.columns:
        raise MissingColumnError(f"column '{table.columns.id}' (or 'id') not found in the {what} "
                                 f"table; columns present: {', '.join(map(str, df.columns))}",
                                 column=id_col)
    ids = df[id_col]
    if ids.isna().any() or ids.duplicated().any():
        bad = ids[ids.isna() | ids.duplicated(keep=False)]
        raise InputError(f"the {what} table has NULL or duplicated ids: {preview(bad)}",
                         column=id_col)
    c1, c2 = table.columns.coordinate_columns
    alt = ("lon", "lat") if table.coordinate_kind == "lonlat" else ("x", "y")
    pair = (c1, c2) if {c1, c2} <= set(df.columns) else (alt if set(alt) <= set(df.columns)
                                                          else None)
    n = len(df)
    coords = np.full((n, 2), np.nan)
    if pair is not None:
        coords = df[list(pair)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    node = ids.to_numpy(dtype=object).copy()
    missing = ~np.isfinite(coords).all(axis=1)
    if missing.any() and known is not None:  # ids of existing candidates
        at = pd.Index(known.ids.astype(str)).get_indexer(ids[missing].astype(str))
        rows = np.flatnonzero(missing)[at >= 0]
        coords[rows] = known.coords[at[at >= 0]]
        node[rows] = known.node[at[at >= 0]]
        missing = ~np.isfinite(coords).all(axis=1)
    if missing.any():
        ref = df["demand_id"] if "demand_id" in df.columns else ids
        lookup = pd.Index(table.ids.astype(str))
        pos = lookup.get_indexer(ref[missing].astype(str))
        if free:  # cost table or road graph: a site needs no coordinates, only its id
            rows = np.flatnonzero(missing)[pos >= 0]
            coords[rows] = table.coords[pos[pos >= 0]]
            node[rows] = table.ids[pos[pos >= 0]]
            pos = np.zeros(0, dtype=np.int64)
        elif (pos < 0).any():
            bad = ref[missing][pos < 0]
            raise UnknownIdError(
                f"{what}: {len(bad)} row(s) have no coordinates ({c1}/{c2}) and their id is "
                f"not a demand id: {preview(bad)}; give coordinates or use "
                "demand ids", column=what, rows=list(bad))
        else:
            coords[missing] = table.coords[pos]
            node[missing] = table.ids[pos]
    extras = {}
    for name in SITE_EXTRAS:
        if name in df.columns and (kind != "competitor" or name == "attractiveness"):
            if name == "group":
                extras[name] = df[name].to_numpy(dtype=object)
                continue
            vals = pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float)
            bad = np.isnan(vals) & df[name].notna().to_numpy()
            if bad.any() or (vals < 0).any():
                raise InputError(f"{what} column '{name}' must hold numbers >= 0 (empty: "
                                 f"default); bad at ids {preview(ids[bad | (vals < 0)])}",
                                 column=name)
            extras[name] = vals
    return Sites(ids.to_numpy(dtype=object), coords, node,
                 np.array([kind] * n, dtype=object), extras)


def _add_required(cand: Sites, req: Sites) -> tuple[Sites, np.ndarray]:
    known = pd.Index(cand.ids.astype(str))
    pos = known.get_indexer(req.ids.astype(str))
    mask = np.zeros(len(cand), dtype=bool)
    mask[pos[pos >= 0]] = True
    new = pos < 0
    kind = cand.kind.copy()
    kind[mask] = "required"
    extras = {}
    for name in set(cand.extras) | set(req.extras):
        a = cand.extras.get(name, np.full(len(cand), np.nan if name != "group" else None))
        b = req.extras.get(name, np.full(len(req), np.nan if name != "group" else None))
        if name in req.extras:  # required rows may set limits of existing candidates
            a = a.copy()
            has = pos >= 0
            a[pos[has]] = np.where(pd.isna(b[has]), a[pos[has]], b[has])
        extras[name] = np.concatenate([a, b[new]])
    out = Sites(np.concatenate([cand.ids, req.ids[new]]),
                np.vstack([cand.coords, req.coords[new]]),
                np.concatenate([cand.node, req.node[new]]),
                np.concatenate([kind, req.kind[new]]), extras)
    return out, np.concatenate([mask, np.ones(int(new.sum()), dtype=bool)])


# ---------------------------------------------------------------- costs
def _costs(table: SCUTable, cand: Sites, comp: Sites | None, distance: str,
           edges: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray | None]:
    if distance == "network":
        assert edges is not None  # checked by location_allocation
        net = RoadNetwork.from_edges(edges, cost_col="cost")
        origins = _node_index(net, table.ids, "demand")
        sites = [cand] + ([comp] if comp is not None else [])
        nodes = np.concatenate([s.node for s in sites])
        dest = _node_index(net, nodes, "sites")
        full = net.shortest_costs(origins, dest)
        return full[:, :len(cand)].copy(), (full[:, len(cand):].copy() if comp else None)
    metric = distance
    costs = point_costs(table.coords, cand.coords, metric)
    comp_costs = point_costs(table.coords, comp.coords, metric) if comp is not None else None
    return costs, comp_costs


def _node_index(net: RoadNetwork, ids: np.ndarray, what: str) -> np.ndarray:
    lookup = pd.Index(np.asarray(net.node_ids).astype(str))
    pos = lookup.get_indexer(np.asarray(ids).astype(str))
    if (pos < 0).any():
        bad = np.asarray(ids)[pos < 0]
        raise UnknownIdError(f"{what}: {len(bad)} id(s) do not appear in the edges table "
                             f"(from_id/to_id): {preview(bad)}; every point and site must be a "
                             "node of the road graph", column="edges", rows=list(bad))
    return pos


def _transform(costs: np.ndarray, comp: np.ndarray | None, p: dict):
    kind = p["transform"]
    kw: dict[str, float] = {}
    if kind == "power":
        kw["exponent"] = p["exponent"]
    elif kind == "exponential":
        kw["rate"] = p["rate"]
    costs = transform_costs(costs, kind, **kw)
    return costs, (transform_costs(comp, kind, **kw) if comp is not None else None)


def _plane(coords: np.ndarray, table: SCUTable) -> np.ndarray:
    """Sites and demand in one local plane (km), centred on the demand."""
    if table.coordinate_kind != "lonlat":
        return coords
    return local_plane(coords, reference=table.coords)


def _pairs(value: Any, table: SCUTable, cand: Sites, name: str) -> np.ndarray | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, (list, tuple)) and len(v) == 2
                                              for v in value):
        raise InputError(f"{name} must be a JSON list of [facility_id, point_id] pairs; got "
                         f"{value!r}", column=name)
    if not value:
        return None
    fac = pd.Index(cand.ids.astype(str)).get_indexer([str(v[0]) for v in value])
    pts = pd.Index(table.ids.astype(str)).get_indexer([str(v[1]) for v in value])
    bad = [value[k] for k in np.flatnonzero((fac < 0) | (pts < 0))]
    if bad:
        raise UnknownIdError(f"{name}: {len(bad)} pair(s) name an unknown facility or point id: "
                             f"{preview(bad)}", column=name, rows=bad)
    return np.column_stack([pts, fac])


__all__ = ["REASONS", "location_allocation"]

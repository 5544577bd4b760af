"""The user's own cost matrix: a long table (origin, destination, cost) -> dense costs.

A routing provider or a previous step already priced the pairs (drive time, tolls,
service cost). Origins are demand ids, destinations are site ids (candidates,
required sites, competitors). The table may be sparse: a pair that is not in it may
not be used (cost ``inf``), exactly like a pair beyond ``max_cost``. Rows naming ids
that are not in this problem (a national matrix used for one region) are skipped and
counted in the report (``cost_rows_unused``); a table that joins nothing is an error.
The ``costs`` component's output (origin_id, destination_id, cost) is read as is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from components.errors import InputError, MissingColumnError, preview

if TYPE_CHECKING:
    from components.locate.component import Sites
    from components.scu import SCUTable

COLUMNS = ("origin", "destination", "cost")


def matrix_costs(costs: pd.DataFrame, table: SCUTable, cand: Sites,
                 comp: Sites | None) -> tuple[np.ndarray, np.ndarray | None, int]:
    """(demand x candidates, demand x competitors or None, rows not used)."""
    if not isinstance(costs, pd.DataFrame) or len(costs) == 0:
        raise InputError("the costs table is empty: it needs origin, destination, cost rows",
                         column="costs")
    # the costs component writes origin_id / destination_id: chain it as is
    costs = costs.rename(columns={f"{c}_id": c for c in COLUMNS[:2]
                                  if c not in costs.columns and f"{c}_id" in costs.columns})
    missing = [c for c in COLUMNS if c not in costs.columns]
    if missing:
        raise MissingColumnError(
            f"the costs table needs columns {', '.join(COLUMNS)} (or origin_id, "
            f"destination_id, cost as the costs component writes them); missing "
            f"{', '.join(missing)} (columns present: {', '.join(map(str, costs.columns))})",
            column=missing[0])
    value = pd.to_numeric(costs["cost"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(value) | (value < 0)
    if bad.any():
        rows = costs.loc[bad, ["origin", "destination", "cost"]].astype(str)
        pairs = [f"{o}->{d}: {c}" for o, d, c in rows.itertuples(index=False)]
        raise InputError(f"costs column 'cost' must hold finite numbers >= 0 (leave a pair out "
                         f"when it may not be used); {int(bad.sum())} bad row(s): "
                         f"{preview(pairs)}", column="cost")
    site_ids = cand.ids if comp is None else np.concatenate([cand.ids, comp.ids])
    sites = pd.Index(pd.Series(site_ids).astype(str))
    if sites.has_duplicates:
        dup = sites[sites.duplicated()].unique()
        raise InputError(f"site ids {preview(list(dup))} name both a candidate and a competitor; "
                         "with a cost table every site id must be unique", column="costs")
    origin = pd.Index(pd.Series(table.ids).astype(str)).get_indexer(
        pd.Index(costs["origin"].astype(str)))
    dest = sites.get_indexer(pd.Index(costs["destination"].astype(str)))
    used = (origin >= 0) & (dest >= 0)
    if not used.any():
        raise InputError(
            f"no row of the costs table joins a demand id to a site id (e.g. origin "
            f"{costs['origin'].iloc[0]!r}, destination {costs['destination'].iloc[0]!r}); "
            f"origins must be ids of the demand table ({preview(list(table.ids))}) and "
            f"destinations ids of the sites ({preview(list(site_ids))})", column="costs")
    key = origin[used].astype(np.int64) * len(sites) + dest[used]
    uniq, counts = np.unique(key, return_counts=True)
    if (counts > 1).any():
        k = uniq[counts > 1][0]
        raise InputError(f"the costs table gives the pair origin {table.ids[k // len(sites)]!r} "
                         f"-> destination {site_ids[k % len(sites)]!r} more than once "
                         f"({int((counts > 1).sum())} duplicated pair(s)); keep one row per pair",
                         column="costs")
    full = np.full((table.n, len(sites)), np.inf)
    full[origin[used], dest[used]] = value[used]
    m = len(cand)
    return full[:, :m], (full[:, m:] if comp is not None else None), int((~used).sum())

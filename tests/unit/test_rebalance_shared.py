"""#11: the shared rebalance (udfs/rebalance.py) every runner and schedule uses: the pandas
join and the compiled SQL join agree, and the step's first warehouse run (an empty
alignment, every unit new) balances from scratch under its move cap."""

from __future__ import annotations

import duckdb
import pandas as pd
from sqlglot import exp

from components import registry
from components.scu import NEW_UNIT
from tests.automation_data import counties
from udfs.rebalance import (
    CURRENT_COLUMN,
    Rebalance,
    join_alignment,
    rebalance_params,
    rebalance_statements,
)


def _sql_join(units: pd.DataFrame, alignment: pd.DataFrame) -> pd.DataFrame:
    con = duckdb.connect()
    con.register("u", units)
    con.register("al", alignment)
    con.execute("CREATE TABLE units AS SELECT * FROM u")
    con.execute("CREATE TABLE align AS SELECT * FROM al")
    tbl = lambda n: exp.Table(this=exp.to_identifier(n, quoted=True))  # noqa: E731
    for tree in rebalance_statements(tbl("units"), tbl("align"), tbl("joined"), "geoid"):
        con.execute(tree.sql(dialect="duckdb"))
    return con.execute("SELECT * FROM joined ORDER BY geoid").df()


def test_pandas_and_sql_joins_agree():
    units, _ = counties(side=3)
    alignment = pd.DataFrame({"id": units["geoid"].iloc[:6], "territory": ["T1", "T2"] * 3})
    a = join_alignment(units, alignment, "geoid").sort_values("geoid").reset_index(drop=True)
    b = _sql_join(units, alignment)
    assert a[CURRENT_COLUMN].tolist() == b[CURRENT_COLUMN].tolist()
    assert a[CURRENT_COLUMN].tolist()[6:] == [NEW_UNIT] * 3
    assert "01001" in b["geoid"].tolist()  # ids matched as text, leading zeros kept


def test_first_warehouse_run_with_every_unit_new_balances_from_scratch():
    """An empty alignment (the schedule's first run): no territory is named '(new)' and
    the new units are not moves, so max_moved does not make it infeasible."""
    units, edges = counties(side=5)
    joined = join_alignment(units, pd.DataFrame({"id": [], "territory": []}), "geoid")
    rb = Rebalance("balance", "territory_assignments", None, 0.1)
    params = rebalance_params(rb, {"territories": 3, "metrics": ["population"], "id": "geoid",
                                   "x": "x", "y": "y", "tolerance": 0.3, "seed": 0})
    assert params["current"] == CURRENT_COLUMN and params["disruption_weight"] == 10
    result = registry.get("territory_balancing").run(joined, edges=edges, **params)
    assert result.report["status"] in ("optimal", "feasible")
    assert sorted(result.tables["territories"]["territory"].astype(str)) == ["T1", "T2", "T3"]
    # a few new units beside known ones: only the known ones count against the cap
    today = dict(zip(units["geoid"], result.tables["assignments"]["territory"], strict=True))
    refreshed, _ = counties(side=5, seed=1)
    known = pd.DataFrame({"id": list(today)[:20], "territory": list(today.values())[:20]})
    joined = join_alignment(refreshed, known, "geoid")
    again = registry.get("territory_balancing").run(joined, edges=edges, **params)
    assert again.report["status"] in ("optimal", "feasible"), again.report["status"]
    assign = again.tables["assignments"].set_index("id")
    keep = assign.loc[known["id"]]
    moved = refreshed.set_index("geoid").loc[keep.index[keep["territory"].astype(str)
                                                         != known.set_index("id")["territory"]
                                                         .astype(str)], "population"].sum()
    assert moved / refreshed["population"].sum() <= 0.1 + 1e-9

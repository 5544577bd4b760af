"""One bad group in a DuckDB GROUP BY gets its own error row; the others their answers."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd

import components.balance.component as balance_component
from udfs.duckdb import register_functions

PARAMS = json.dumps({"territories": 2, "metrics": ["n"], "tolerance": 0.2, "time_limit": 20})
SQL = (f"SELECT region, terraplan_territory_balancing(to_json(list(s)), NULL, NULL, "
       f"'{PARAMS}') AS doc FROM scus AS s GROUP BY region ORDER BY region")


def _scus() -> pd.DataFrame:
    rows = []
    for region, size in (("a", 12), ("b", 1), ("c", 9), ("d", 5)):
        for i in range(size):
            rows.append({"id": f"{region}{i}", "x": float(i % 4), "y": float(i // 4),
                         "n": 1.0 + (i % 3), "region": region})
    return pd.DataFrame(rows)


def test_each_group_answers_alone(monkeypatch):
    real = balance_component._result

    def crash_on_five(table, *args, **kwargs):  # an unexpected failure in one group only
        if table.n == 5:
            raise np.linalg.LinAlgError("injected failure")
        return real(table, *args, **kwargs)

    monkeypatch.setattr(balance_component, "_result", crash_on_five)
    con = duckdb.connect()
    register_functions(con)
    con.register("scus", _scus())
    got = {r: json.loads(doc) for r, doc in con.execute(SQL).fetchall()}
    assert set(got) == {"a", "b", "c", "d"}
    for r in ("a", "c"):
        rows = got[r]["tables"]["assignments"]
        assert {row["id"][0] for row in rows} == {r}
        assert len({row["territory"] for row in rows}) == 2
    assert got["b"]["kind"] == "input" or "territories" in got["b"]["error"]
    assert "LinAlgError: injected failure" in got["d"]["error"] and got["d"]["kind"] == "failed"

"""A SQL-native step (aggregation to SCUs) runs inside DuckDB and agrees with pandas."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from components.aggregate import run as aggregate
from components.errors import MissingColumnError
from workflows.cli import main
from workflows.runner import run_workflow


@pytest.fixture
def accounts(tmp_path):
    """Synthetic account points in 40 ZIP-like areas of a unit square."""
    rng = np.random.default_rng(4)
    n = 600
    area = rng.integers(0, 40, n)
    df = pd.DataFrame({"account": [f"a{i}" for i in range(n)],
                       "zip": [f"{30000 + a:05d}" for a in area],
                       "x": (area % 8) + rng.uniform(0, 1, n),
                       "y": (area // 8) + rng.uniform(0, 1, n),
                       "revenue": rng.uniform(100, 900, n).round(2)})
    df.loc[[3, 9], "zip"] = None  # accounts not yet geocoded to an area
    path = tmp_path / "accounts.csv"
    df.to_csv(path, index=False)
    return df, path


def test_sql_and_pandas_agree_and_chain_into_balancing(tmp_path, accounts):
    df, path = accounts
    wf = {
        "name": "accounts_to_territories",
        "sources": {"accounts": {"path": str(path), "id_columns": ["zip"]}},
        "steps": [
            {"name": "aggregate", "uses": "scu_aggregation", "inputs": {"points": "accounts"},
             "with": {"scu_id": "zip", "x": "x", "y": "y", "metrics": ["revenue"]},
             "outputs": {"scus": "zip_scus"}},
            {"name": "balance", "uses": "territory_balancing", "inputs": {"scus": "zip_scus"},
             "with": {"territories": 4, "metrics": ["revenue", "n_points"], "x": "x",
                      "y": "y", "tolerance": 0.15, "time_limit": 10},
             "outputs": {"assignments": "zip_assignments"}},
        ],
        "exports": {"dir": str(tmp_path / "out")},
    }
    wf_path = tmp_path / "wf.yaml"
    wf_path.write_text(yaml.safe_dump(wf, sort_keys=False))
    summary = run_workflow(wf_path, database=str(tmp_path / "w.duckdb"))
    assert summary.steps[0].report["engine"] == "sql"
    assert summary.steps[0].report["rows"] == 40
    assert summary.steps[1].report["status"] in ("feasible", "optimal")

    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    in_sql = con.execute("SELECT * EXCLUDE (run_id) FROM zip_scus ORDER BY id").df()
    runs = con.execute("SELECT step, status FROM terraplan_runs WHERE step <> '(run)'").fetchall()
    con.close()
    in_pandas = aggregate(df, scu_id="zip", x="x", y="y", metrics=["revenue"]).tables["scus"]
    pd.testing.assert_frame_equal(in_sql.reset_index(drop=True),
                                  in_pandas.reset_index(drop=True), check_dtype=False,
                                  rtol=1e-12)
    assert runs == [("aggregate", "succeeded"), ("balance", "succeeded")]
    exported = pd.read_csv(tmp_path / "out" / "zip_scus.csv", dtype={"id": str})
    assert len(exported) == 40 and "run_id" not in exported


def test_aggregate_cli_and_bad_input(tmp_path, accounts, capsys):
    _, path = accounts
    out = tmp_path / "scus.csv"
    assert main(["aggregate", str(path), "--scu-id", "zip", "--metric", "revenue",
                 "--out", str(out)]) == 0
    scus = pd.read_csv(out, dtype={"id": str})
    assert len(scus) == 40 and scus["n_points"].sum() == 598
    assert "2 point(s) have no 'zip'" in capsys.readouterr().out
    assert main(["aggregate", str(path), "--scu-id", "zip", "--metric", "profit",
                 "--out", str(out)]) == 2
    assert "column 'profit' not found" in capsys.readouterr().err
    with pytest.raises(MissingColumnError, match="column 'profit' not found in the point table"):
        from components.aggregate import to_sql
        from components.sqlgen import table

        to_sql(["zip", "x", "y"], table("t"), {"scu_id": "zip", "metrics": ["profit"]})

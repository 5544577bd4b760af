"""Overhead of the DuckDB SQL path over calling the component directly (10,000 SCUs).

Same problem, same seed, so the solver does the same work: the difference is packing
the table to JSON in SQL, the function call, parsing, and unpacking the result rows.
"""

from __future__ import annotations

import json
import time

import duckdb
import numpy as np
import pandas as pd

from components.balance import territory_balancing
from tests.benchmarks.instances import delaunay_graph
from udfs.duckdb import register_functions


def _problem(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 100, (n, 2))
    g = delaunay_graph(pts).tocoo()
    keep = g.row < g.col
    scus = pd.DataFrame({"id": [f"s{i}" for i in range(n)], "x": pts[:, 0], "y": pts[:, 1],
                         "accounts": rng.integers(1, 20, n)})
    edges = pd.DataFrame({"from_id": scus["id"].to_numpy()[g.row[keep]],
                          "to_id": scus["id"].to_numpy()[g.col[keep]]})
    return scus, edges


def run(quick: bool = False) -> list[dict]:
    n = 2000 if quick else 10_000
    scus, edges = _problem(n)
    params = {"territories": 20, "metrics": ["accounts"], "tolerance": 0.03, "seed": 1,
              "time_limit": 120, "starts": 1}
    con = duckdb.connect()
    register_functions(con)
    con.register("scus_df", scus)
    con.execute("CREATE TABLE scus AS SELECT * FROM scus_df")
    con.register("edges_df", edges)
    con.execute("CREATE TABLE edges AS SELECT * FROM edges_df")
    sql = ("CREATE OR REPLACE TABLE result AS SELECT terraplan_territory_balancing("
           "(SELECT to_json(list(s)) FROM scus AS s), NULL, "
           "(SELECT to_json(list(e)) FROM edges AS e), ?) AS doc")
    unpack = ("CREATE OR REPLACE TABLE assignments AS SELECT unnest(from_json("
              "doc -> '$.tables.assignments', '[{\"id\": \"VARCHAR\", \"territory\": "
              "\"VARCHAR\", \"distance\": \"DOUBLE\"}]'), max_depth := 2) FROM result")
    # interleaved runs, median of each; CPU time of this process (the SQL function runs
    # in-process) so the figure does not move with whatever else the machine is doing
    direct, via_sql, wall_d, wall_s = [], [], [], []
    for _ in range(2 if quick else 5):
        t0, c0 = time.monotonic(), time.process_time()
        ref = territory_balancing(con.execute("SELECT * FROM scus").df(),
                                  edges=con.execute("SELECT * FROM edges").df(), **params)
        direct.append(time.process_time() - c0)
        wall_d.append(time.monotonic() - t0)
        t0, c0 = time.monotonic(), time.process_time()
        con.execute(sql, [json.dumps(params)])
        con.execute(unpack)
        via_sql.append(time.process_time() - c0)
        wall_s.append(time.monotonic() - t0)
    got = con.execute("SELECT territory FROM assignments").df()["territory"].tolist()
    same = got == ref.tables["assignments"]["territory"].tolist()
    d, s = float(np.median(direct)), float(np.median(via_sql))
    return [{"benchmark": "duckdb SQL path", "case": f"balance {n:,} SCUs / 20 terr. via "
             "terraplan_territory_balancing() vs direct", "value": 100 * (s - d) / d,
             "unit": "% overhead", "target": "< 20 %",
             "note": f"CPU s, median of {len(direct)} interleaved: direct {d:.2f}, SQL {s:.2f} "
                     f"(wall medians {np.median(wall_d):.2f} / {np.median(wall_s):.2f}); "
                     f"packing, JSON and unpacking included; same answer {same}"}]

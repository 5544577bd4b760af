"""Run the Snowflake handlers the way the warehouse does and print their answers as JSON.

``python -m tests.tools.snowflake_runtime`` runs, on a Snowpark local-testing session
and with ``os.fork`` refused (Snowflake advises against subprocesses in handlers), the
stored procedures for territory balancing (heuristic and exact: HiGHS), capacitated
location allocation (HiGHS), a cost matrix, and the partition UDTF. It prints the
package versions and every output table and key report figure. The "warehouse
runtime" test runs it in the venv with the versions ``PACKAGES`` pins
(``make .venv-sfruntime``) and in the main venv, and compares.
"""

from __future__ import annotations

import json
import os
import sys


def _no_fork(*_args, **_kwargs):
    raise OSError("fork is not allowed in this runtime (as in a Snowflake handler)")


os.fork = _no_fork  # before anything imports multiprocessing's fork context
os.forkpty = _no_fork  # type: ignore[assignment]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy  # noqa: E402
from snowflake.snowpark import Session  # noqa: E402
from snowflake.snowpark import __version__ as snowpark_version  # noqa: E402

from udfs.snowflake import partition, procedures  # noqa: E402
from udfs.snowflake.frames import to_snowpark  # noqa: E402


def grid(n: int = 8, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An n x n grid of units with a seeded load, and its rook adjacency (no pytest here:
    the runtime venv has only what Snowflake would)."""
    rng = np.random.default_rng(seed)
    xs, ys = np.meshgrid(np.arange(n, dtype=float), np.arange(n, dtype=float))
    scus = pd.DataFrame({"id": [f"u{i:03d}" for i in range(n * n)], "x": xs.ravel(),
                         "y": ys.ravel(), "load": rng.uniform(4, 8, n * n).round(3)})
    pairs = [(i, i + 1) for i in range(n * n) if (i + 1) % n] + \
        [(i, i + n) for i in range(n * n - n)]
    edges = pd.DataFrame([(f"u{a:03d}", f"u{b:03d}") for a, b in pairs],
                         columns=["from_id", "to_id"])
    return scus, edges


REPORT_KEYS = ("status", "objective", "lower_bound", "gap", "n_territories", "contiguous",
               "stopped_by", "n_open", "total_cost")


def _load(session: Session, name: str, df: pd.DataFrame) -> None:
    to_snowpark(session, df.rename(columns=str.upper)).write.save_as_table(name, mode="overwrite")


def _table(session: Session, name: str) -> list[dict]:
    df = session.table(name).to_pandas().drop(columns="RUN_ID")
    df = df.sort_values(list(df.columns[:1])).reset_index(drop=True)
    return json.loads(df.round(6).to_json(orient="records"))


def _summary(out: dict) -> dict:
    return {k: out["report"].get(k) for k in REPORT_KEYS if k in out["report"]}


def answers() -> dict:
    session = Session.builder.config("local_testing", True).create()
    scus, edges = grid()
    _load(session, "GRID", scus)
    _load(session, "GRID_EDGES", edges)
    sites = scus.iloc[::4].assign(capacity=150.0)  # 3 open: 450 for a demand of ~390
    _load(session, "SITES", sites)
    got: dict = {}
    for method in ("heuristic", "exact"):
        out = procedures.territory_balancing(
            session, "GRID", None, "GRID_EDGES", f"A_{method}", f"T_{method}",
            {"territories": 4, "metrics": ["LOAD"], "method": method, "seed": 0,
             "max_iterations": 100, "time_limit": 60})
        got[f"balance_{method}"] = {"report": _summary(out),
                                    "assignments": _table(session, f"A_{method}")}
    out = procedures.location_allocation(
        session, "GRID", "SITES", None, None, None, None, "LA_ASSIGN", "LA_FAC",
        {"facilities": 3, "weight": "LOAD", "x": "X", "y": "Y", "id": "ID", "seed": 0,
         "time_limit": 60})
    got["location_capacitated"] = {"report": _summary(out),
                                   "assignments": _table(session, "LA_ASSIGN")}
    out = procedures.cost_matrix(session, "GRID", None, None, None, "COSTS",
                                 {"k": 5, "x": "X", "y": "Y", "id": "ID"})
    got["cost_matrix"] = {"rows": _table(session, "COSTS")}
    solver = partition.territory_balancing()
    for r in scus.itertuples(index=False):
        solver.process(r.id, r.x, r.y, {"LOAD": r.load},
                       {"territories": 3, "metrics": ["LOAD"], "max_iterations": 50})
    rows = list(solver.end_partition())
    got["partition"] = {"territories": [row[1] for row in rows], "status": rows[0][-2]}
    session.close()
    return got


def main() -> int:
    versions = {"python": sys.version.split()[0], "numpy": np.__version__,
                "scipy": scipy.__version__, "pandas": pd.__version__,
                "snowflake-snowpark-python": snowpark_version}
    print(json.dumps({"versions": versions, "answers": answers()}, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Against a real Snowflake account: deploy, CALL, the partition UDTF, then clean up.

Runs only with connection settings in the environment, and otherwise skips saying
which are missing:

* ``TERRAPLAN_SNOWFLAKE_CONNECTION=<name>`` (a connection in connections.toml), or
* ``SNOWFLAKE_ACCOUNT``, ``SNOWFLAKE_USER``, one of ``SNOWFLAKE_PASSWORD`` /
  ``SNOWFLAKE_PRIVATE_KEY_FILE`` / ``SNOWFLAKE_AUTHENTICATOR``, plus
  ``SNOWFLAKE_WAREHOUSE`` and ``SNOWFLAKE_DATABASE`` (where a scratch schema
  ``TERRAPLAN_TEST_<run>`` is created and dropped).
"""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from components import registry
from tests.conftest import grid_scus
from udfs.base import new_run_id
from udfs.snowflake import ddl, deploy
from udfs.snowflake.frames import to_snowpark
from udfs.snowflake.names import sql


def _missing() -> list[str]:
    if os.environ.get("TERRAPLAN_SNOWFLAKE_CONNECTION"):
        return []
    need = ["SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_WAREHOUSE", "SNOWFLAKE_DATABASE"]
    missing = [v for v in need if not os.environ.get(v)]
    secrets = ("SNOWFLAKE_PASSWORD", "SNOWFLAKE_PRIVATE_KEY_FILE", "SNOWFLAKE_AUTHENTICATOR")
    if not any(os.environ.get(v) for v in secrets):
        missing.append(" or ".join(secrets))
    return missing


pytestmark = pytest.mark.skipif(
    bool(_missing()),
    reason="no Snowflake account configured: set TERRAPLAN_SNOWFLAKE_CONNECTION or "
           + ", ".join(_missing()))


@pytest.fixture(scope="module")
def account():
    session = deploy.open_session(os.environ.get("TERRAPLAN_SNOWFLAKE_CONNECTION"))
    schema = "TERRAPLAN_TEST_" + new_run_id().replace("-", "_").upper()
    target = ddl.Target.parse(None, schema, None)
    try:
        deploy.deploy(target, session=session, echo=lambda _line: None)
        session.use_schema(sql(target.schema_node()))
        yield session, target
    finally:
        session.sql(f"DROP SCHEMA IF EXISTS {sql(target.schema_node())} CASCADE").collect()
        session.close()


def test_call_matches_the_component(account):
    session, target = account
    to_snowpark(session, grid_scus().rename(columns=str.upper)).write.save_as_table(
        "GRID", mode="overwrite")
    params = {"territories": 4, "metrics": ["LOAD"], "max_iterations": 60}
    name = sql(target.object("TERRITORY_BALANCING"))
    out = session.call(name, "GRID", None, None, "GRID_A", "GRID_T", params)
    out = json.loads(out) if isinstance(out, str) else out
    assert out["status"] == "succeeded"
    direct = registry.get("territory_balancing").run(grid_scus(), territories=4,
                                                     metrics=["load"], max_iterations=60)
    got = session.table("GRID_A").to_pandas().sort_values("ID").reset_index(drop=True)
    want = direct.tables["assignments"].sort_values("id").reset_index(drop=True)
    assert got["TERRITORY"].tolist() == want["territory"].tolist()
    again = session.call(name, "GRID", None, None, "GRID_A", "GRID_T", params)
    again = json.loads(again) if isinstance(again, str) else again
    assert again["write"] == "transaction"  # same columns: one DML transaction
    log = session.table("TERRAPLAN_RUNS").to_pandas()
    assert set(log["RUN_ID"]) >= {out["run_id"], again["run_id"]}


def test_partition_udtf_over_partition_by(account):
    session, target = account
    grid = grid_scus(8, 8).assign(REGION=lambda d: (d["x"] >= 4).map({True: "E", False: "W"}))
    to_snowpark(session, grid.rename(columns=str.upper)).write.save_as_table(
        "GRID_REGIONS", mode="overwrite")
    fn = sql(target.object("TERRITORY_BALANCING_BY_PARTITION"))
    rows = session.sql(
        f"SELECT g.REGION, r.* FROM GRID_REGIONS AS g, TABLE({fn}(g.ID, g.X, g.Y, "
        "OBJECT_CONSTRUCT('load', g.LOAD), PARSE_JSON('{\"territories\": 3, "
        "\"metrics\": [\"load\"], \"max_iterations\": 40}')) OVER (PARTITION BY g.REGION)) AS r"
    ).to_pandas()
    assert len(rows) == 64 and set(rows["PARTITION_STATUS"]) == {"succeeded"}
    per_region = rows.groupby("REGION")["TERRITORY"].nunique()
    assert per_region.to_dict() == {"E": 3, "W": 3}
    assert isinstance(rows, pd.DataFrame)

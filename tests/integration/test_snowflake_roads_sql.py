"""The road SQL rendered for Snowflake (FLATTEN over VARIANT, GET_PATH) executed on fakesnow.

Overture ``segment``/``connector`` tables are loaded with ARRAY/OBJECT columns (as
Overture's Snowflake share holds them) and BigQuery-shaped ``planet_ways`` with ARRAY
columns; the generated Snowflake SQL runs as generated, except that the leading comment
block is dropped: fakesnow reads ``$name`` inside comments as session variables.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from components.roads import TAGS, read_osm
from components.roads.sql import osm_way_nodes_sql, overture_segments_sql
from tests.overture_data import sample_town
from tests.roads_data import write_river_town
from tests.unit.test_sql_overture import _arcs, _same, oracle

fakesnow = pytest.importorskip("fakesnow")
snowflake_connector = pytest.importorskip("snowflake.connector")

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")


@pytest.fixture
def cur():
    with fakesnow.patch():
        con = snowflake_connector.connect(database="DB", schema="S")
        yield con.cursor()
        con.close()


def _run(cur, sql: str) -> pd.DataFrame:
    body = "\n".join(line for line in sql.splitlines() if not line.startswith("/*"))
    cur.execute(body.rstrip().rstrip(";"))
    return cur.fetch_pandas_all().rename(columns=str.lower)


@pytest.mark.parametrize("profile", ["drive", "walk"])
def test_overture_on_fakesnow_matches_the_oracle(cur, profile):
    segs, coords = sample_town()
    cur.execute("CREATE TABLE segment (id VARCHAR, subtype VARCHAR, class VARCHAR, "
                "subclass VARCHAR, connectors ARRAY, speed_limits ARRAY, "
                "access_restrictions ARRAY)")
    cur.execute("CREATE TABLE connector (id VARCHAR, bbox OBJECT)")
    for s in segs:
        cur.execute("INSERT INTO segment SELECT %s, %s, %s, %s, PARSE_JSON(%s), "
                    "PARSE_JSON(%s), PARSE_JSON(%s)",
                    (s["id"], s["subtype"], s["class"], s["subclass"],
                     *(json.dumps(s[k]) for k in ("connectors", "speed_limits",
                                                  "access_restrictions"))))
    for key, (x, y) in coords.items():
        cur.execute("INSERT INTO connector SELECT %s, PARSE_JSON(%s)",
                    (key, json.dumps({"xmin": x, "xmax": x, "ymin": y, "ymax": y})))
    sql = overture_segments_sql("segment", "connector", dialect="snowflake", profile=profile)
    assert "FLATTEN" in sql and "GET_PATH" in sql
    got = _run(cur, sql)
    _same(_arcs(got), oracle(segs, coords, profile))


def test_osm_way_nodes_on_fakesnow_match_the_reader(cur, tmp_path):
    frame = read_osm(write_river_town(tmp_path / "town.osm.pbf"))
    frame = frame[frame["lon"].notna()]
    cur.execute("CREATE TABLE planet_ways (id BIGINT, nodes ARRAY, all_tags ARRAY)")
    cur.execute("CREATE TABLE planet_nodes (id BIGINT, longitude DOUBLE, latitude DOUBLE)")
    for way_id, way in frame.sort_values(["way_id", "seq"]).groupby("way_id"):
        first = way.iloc[0]
        tags = [{"key": t, "value": str(first[t])} for t in TAGS if pd.notna(first[t])]
        cur.execute("INSERT INTO planet_ways SELECT %s, PARSE_JSON(%s), PARSE_JSON(%s)",
                    (int(way_id), json.dumps([{"id": int(n)} for n in way["node_id"]]),
                     json.dumps(tags)))
    for r in frame.drop_duplicates("node_id").itertuples(index=False):
        cur.execute("INSERT INTO planet_nodes VALUES (%s, %s, %s)",
                    (int(r.node_id), float(r.lon), float(r.lat)))
    got = _run(cur, osm_way_nodes_sql("planet_ways", "planet_nodes", dialect="snowflake"))
    want = frame.sort_values(["way_id", "seq"]).reset_index(drop=True)
    assert got[["way_id", "seq", "node_id"]].astype("int64").equals(
        want[["way_id", "seq", "node_id"]].astype("int64"))
    for tag in TAGS:
        assert (got[tag].fillna("~") == want[tag].astype(object).fillna("~")).all(), tag

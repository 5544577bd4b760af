"""A workflow from an .osm.pbf source to drive-time territories and their polygons.

Steps: road_network (the OSM file loaded as a way-node table), adjacency over the roads
with drive-time costs, balance with --distance network, territory polygons of the
units' cells. Run by ``terraplan run`` on DuckDB; the published tables are checked here.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from tests.roads_data import bundled_extract
from workflows.cli import main

pytest.importorskip("osmium")
shapely = pytest.importorskip("shapely")

WORKFLOW = """
name: helsinki_drive
database: {db}
sources:
  city: {{path: {pbf}}}
  cells: {{path: cells.csv, id_columns: [id]}}
steps:
  - name: roads
    uses: road_network
    inputs: {{osm: city}}
    with: {{profile: drive}}
    outputs: {{nodes: road_nodes, edges: road_edges}}
  - name: adjacency
    uses: adjacency
    inputs: {{units: cells, edges: road_edges, nodes: road_nodes}}
    with: {{source: roads, lon: lon, lat: lat, cost: cost}}
    outputs: {{edges: cell_adjacency}}
  - name: balance
    uses: territory_balancing
    inputs: {{scus: cells, edges: cell_adjacency}}
    with: {{territories: 3, metrics: [load], lon: lon, lat: lat, distance: network,
           tolerance: 0.12, seed: 0}}
    outputs: {{assignments: assignments, territories: territory_summary}}
  - name: shapes
    uses: territory_polygons
    inputs: {{units: cells, assignments: assignments}}
    with: {{metric: [load]}}
    outputs: {{polygons: territory_shapes}}
"""


def test_osm_workflow_to_territory_polygons(tmp_path):
    pbf = bundled_extract("Helsinki.osm.pbf")
    lon = np.linspace(24.930, 24.955, 5)
    lat = np.linspace(60.160, 60.172, 5)
    dx, dy = (lon[1] - lon[0]) / 2, (lat[1] - lat[0]) / 2
    rng = np.random.default_rng(4)
    cells = [{"id": f"c{i}{j}", "lon": x, "lat": y, "load": float(rng.uniform(4, 8)),
              "wkt": shapely.box(x - dx, y - dy, x + dx, y + dy).wkt}
             for i, x in enumerate(lon) for j, y in enumerate(lat)]
    pd.DataFrame(cells).to_csv(tmp_path / "cells.csv", index=False)
    db = tmp_path / "w.duckdb"
    (tmp_path / "wf.yaml").write_text(WORKFLOW.format(db=db, pbf=pbf))
    assert main(["run", str(tmp_path / "wf.yaml")]) == 0
    con = duckdb.connect(str(db), read_only=True)
    try:
        edges = con.sql("SELECT * FROM road_edges").df()
        shapes = con.sql("SELECT * FROM territory_shapes").df()
        assign = con.sql("SELECT * FROM assignments").df()
        runs = con.sql("SELECT step, status FROM terraplan_runs WHERE step <> '(run)'").df()
    finally:
        con.close()
    assert len(edges) > 500 and {"drive_seconds", "oneway"} <= set(edges.columns)
    assert set(runs["step"]) == {"roads", "adjacency", "balance", "shapes"}
    assert (runs["status"] == "succeeded").all()
    assert sorted(shapes["territory"]) == sorted(assign["territory"].unique())
    assert shapes["n_units"].sum() == 25
    total = sum(c["load"] for c in cells)
    assert shapes["load"].sum() == pytest.approx(total)
    assert ((shapes["load"] / (total / 3) - 1).abs() <= 0.12 + 1e-9).all()


# -- the example workflow and its GIS exports -----------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "workflows" / "examples" / "helsinki_drive.yaml"
CELLS = ROOT / "workflows" / "examples" / "data" / "helsinki_cells.csv"


def _example_in(tmp_path: Path, **exports) -> Path:
    """The example workflow with absolute source paths, its exports edited."""
    spec = yaml.safe_load(EXAMPLE.read_text())
    spec["sources"]["city"]["path"] = str(bundled_extract("Helsinki.osm.pbf"))
    spec["sources"]["cells"]["path"] = str(CELLS)
    spec["exports"]["gis"].update(exports)
    path = tmp_path / "helsinki_drive.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _features(path: Path) -> list[dict]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    return doc["features"]


def _gpkg_rows(path: Path, layer: str) -> int:
    con = sqlite3.connect(path)
    try:
        srs = con.execute("SELECT srs_id FROM gpkg_contents WHERE table_name = ?",
                          (layer,)).fetchall()
        assert srs == [(4326,)], srs
        return con.execute(f'SELECT COUNT(*) FROM "{layer}"').fetchone()[0]
    finally:
        con.close()


def test_example_workflow_exports_territories_and_cells_as_gis_files(tmp_path):
    bundled_extract("Helsinki.osm.pbf")  # skips without the extract
    out = tmp_path / "out"
    assert main(["run", str(EXAMPLE), "--database", str(tmp_path / "h.duckdb"),
                 "--out", str(out)]) == 0
    cells = pd.read_csv(CELLS)
    assign = pd.read_csv(out / "assignments.csv").astype({"id": str})
    territory_of = dict(zip(assign["id"], assign["territory"].astype(str), strict=True))
    assert set(territory_of) == set(cells["id"])

    units = _features(out / "cells_by_territory.geojson")
    ids = [f["properties"]["id"] for f in units]
    assert sorted(ids) == sorted(cells["id"]) and len(set(ids)) == len(ids)  # each once
    by_territory: dict[str, list] = {}
    for f in units:
        geom = shapely.geometry.shape(f["geometry"])
        assert geom.is_valid and not geom.is_empty and geom.geom_type.endswith("Polygon")
        assert str(f["properties"]["territory"]) == territory_of[f["properties"]["id"]]
        by_territory.setdefault(str(f["properties"]["territory"]), []).append(geom)

    dissolved = _features(out / "territories.geojson")
    assert sorted(str(f["properties"]["territory"]) for f in dissolved) == sorted(by_territory)
    accounts = cells.set_index("id")["accounts"]
    mean = accounts.sum() / len(dissolved)
    for f in dissolved:
        geom = shapely.geometry.shape(f["geometry"])
        members = by_territory[str(f["properties"]["territory"])]
        assert geom.is_valid
        assert shapely.union_all(members).symmetric_difference(geom).area <= 1e-12
        assert f["properties"]["n_units"] == len(members)
        total = sum(accounts[i] for i, t in territory_of.items()
                    if t == str(f["properties"]["territory"]))
        assert f["properties"]["accounts"] == pytest.approx(total)
        assert abs(total / mean - 1) <= 0.1 + 1e-9  # the balance the workflow asked for

    # contiguous by road: each territory is one piece of the cell adjacency graph
    adjacency = pd.read_csv(out / "cell_adjacency.csv").astype({"from_id": str, "to_id": str})
    for territory in by_territory:
        inside = {i for i, t in territory_of.items() if t == territory}
        links = adjacency[adjacency["from_id"].isin(inside) & adjacency["to_id"].isin(inside)]
        seen, todo = set(), [next(iter(inside))]
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo += links.loc[links["from_id"] == node, "to_id"].tolist()
                todo += links.loc[links["to_id"] == node, "from_id"].tolist()
        assert seen == inside, territory

    assert _gpkg_rows(out / "territories.gpkg", "territories") == len(dissolved)
    assert _gpkg_rows(out / "cells_by_territory.gpkg", "cells_by_territory") == len(cells)


def test_a_failed_gis_export_leaves_the_previous_exports(tmp_path, capsys):
    out, db = tmp_path / "out", tmp_path / "h.duckdb"
    good = _example_in(tmp_path)
    assert main(["run", str(good), "--database", str(db), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert {"territories.geojson", "territories.gpkg"} <= set(before)
    capsys.readouterr()
    bad = _example_in(tmp_path, wkt="geometry")
    assert main(["run", str(bad), "--database", str(db), "--out", str(out)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert any("exports.gis: table 'territories' has no geometry column 'geometry'" in line
               for line in err), err
    assert "Traceback" not in "\n".join(err)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no stage left


def test_gis_export_of_a_table_no_step_writes_is_refused_at_load(tmp_path, capsys):
    bad = _example_in(tmp_path, tables=["territories", "cells"])
    assert main(["run", str(bad), "--database", str(tmp_path / "h.duckdb")]) != 0
    err = capsys.readouterr().err
    assert "exports.gis: 'cells' is not an output of any step" in err

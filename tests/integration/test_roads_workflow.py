"""A workflow from an .osm.pbf source to drive-time territories and their polygons.

Steps: road_network (the OSM file loaded as a way-node table), adjacency over the roads
with drive-time costs, balance with --distance network, territory polygons of the
units' cells. Run by ``terraplan run`` on DuckDB; the published tables are checked here.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

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

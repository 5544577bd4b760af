"""`terraplan costs` and `terraplan adjacency`: console script, main(), workflows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from components.costs import run as cost_matrix
from components.errors import InputError
from tests.conftest import DATA
from workflows.cli import main
from workflows.runner import run_workflow
from workflows.spec import load_workflow

TERRAPLAN = Path(sys.executable).parent / "terraplan"


def run_cli(*args: object) -> subprocess.CompletedProcess:
    exe = [str(TERRAPLAN)] if TERRAPLAN.exists() else [sys.executable, "-m", "workflows.cli"]
    return subprocess.run([*exe, *map(str, args)], capture_output=True, text=True, timeout=300)


def write(path: Path, df: pd.DataFrame) -> Path:
    df.to_csv(path, index=False)
    return path


def nearest(table: pd.DataFrame) -> pd.Series:
    """Cheapest destination of each origin (ties to the first row)."""
    best = table.loc[table.groupby("origin_id", sort=False)["cost"].idxmin()]
    return best.set_index("origin_id")["destination_id"]


def test_help_lists_both_commands_and_every_option(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    top = capsys.readouterr().out
    assert done.value.code == 0 and "costs" in top and "adjacency" in top
    costs = run_cli("costs", "--help")
    assert costs.returncode == 0
    for flag in ("INPUT", "--id", "--x", "--y", "--lon", "--lat", "--to", "--to-id",
                 "--distance", "euclidean,haversine,network", "--edges", "--nodes", "--k",
                 "--cutoff", "--unit", "--snap-cost", "--transform",
                 "linear,power,exponential", "--scale", "--exponent", "--rate", "--max-pairs",
                 "--out FILE", "example:", "never given a big number"):
        assert flag in costs.stdout, flag
    adj = run_cli("adjacency", "--help")
    assert adj.returncode == 0
    for flag in ("--source", "points,polygons,h3,edges,roads", "--wkt", "--h3", "--kind",
                 "queen,rook", "--cost", "--max-edge-factor", "--distance", "--link-islands",
                 "--no-link-islands", "--edges", "--nodes", "--out FILE", "example:"):
        assert flag in adj.stdout, flag


def test_costs_writes_the_long_table_and_its_report(tmp_path):
    pts = pd.DataFrame({"zip": ["00601", "00602", "02110", "10001"],
                        "lon": [-66.75, -67.18, -71.05, -73.99],
                        "lat": [18.18, 18.36, 42.36, 40.75]})
    src = write(tmp_path / "zips.csv", pts)
    out = tmp_path / "o" / "costs.csv"
    res = run_cli("costs", src, "--id", "zip", "--k", "2", "--unit", "mi", "--out", out)
    assert res.returncode == 0, res.stderr
    assert "status: ok" in res.stdout and f"wrote {out} (8 rows)" in res.stdout
    table = pd.read_csv(out, dtype={"origin_id": str, "destination_id": str})
    assert list(table.columns) == ["origin_id", "destination_id", "cost"]
    assert table["origin_id"].tolist() == ["00601", "00601", "00602", "00602", "02110",
                                           "02110", "10001", "10001"]  # zeros kept
    boston_ny = table.query("origin_id == '02110' and destination_id == '10001'")["cost"]
    assert boston_ny.iloc[0] == pytest.approx(190, abs=3)  # miles
    report = json.loads((tmp_path / "o" / "costs.report.json").read_text())
    assert report["metric"] == "haversine" and report["unit"] == "mi"
    assert report["mode"] == "k nearest" and report["pairs_written"] == 8
    assert report["unreachable_pairs"] == 0 and report["wall_seconds"] >= 0


def test_costs_to_centers_from_duckdb_into_parquet(tmp_path):
    units = pd.DataFrame({"id": [f"u{i}" for i in range(6)], "x": np.arange(6.0),
                          "y": np.zeros(6)})
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.register("df", units)
    con.execute('CREATE TABLE "my units" AS SELECT * FROM df')
    con.close()
    centers = write(tmp_path / "centers.csv", pd.DataFrame({"id": ["w", "e"], "x": [0.0, 5.0],
                                                            "y": [1.0, 1.0]}))
    out = tmp_path / "costs.parquet"
    assert main(["costs", f"duckdb:{db}::my units", "--to", str(centers), "--transform",
                 "power", "--exponent", "2", "--out", str(out)]) == 0
    table = pd.read_parquet(out)
    expected = cost_matrix(units, to=pd.read_csv(centers), transform="power", exponent=2.0)
    pd.testing.assert_frame_equal(table, expected.tables["costs"])
    assert table.iloc[0].tolist() == ["u0", "w", 1.0]


def river_files(tmp_path: Path) -> dict[str, Path]:
    """A 21 x 21 road grid cut by a river at x = 10.5, bridged only at y = 0 and y = 20.

    Centers: A (5, 10) on the west bank, B (13, 10) on the east bank. Units: the west
    bank's grid points shifted by (0.2, 0.2), so each snaps 0.28 to a road node.
    """
    xs, ys = np.meshgrid(np.arange(21), np.arange(21))
    node = (ys * 21 + xs).ravel()
    nodes = pd.DataFrame({"node_id": node, "x": xs.ravel() * 1.0, "y": ys.ravel() * 1.0})
    right, up = node[xs.ravel() < 20], node[ys.ravel() < 20]
    roads = pd.DataFrame({"from_id": np.r_[right, up], "to_id": np.r_[right + 1, up + 21]})
    fx = nodes["x"].to_numpy()[roads["from_id"]]
    tx = nodes["x"].to_numpy()[roads["to_id"]]
    fy = nodes["y"].to_numpy()[roads["from_id"]]
    crosses = (np.minimum(fx, tx) < 10.5) & (np.maximum(fx, tx) > 10.5)
    roads = roads[~crosses | np.isin(fy, (0, 20))].assign(cost=1.0)
    wx, wy = np.meshgrid(np.arange(11), np.arange(21))
    units = pd.DataFrame({"id": [f"w{x:02d}_{y:02d}" for x, y in zip(wx.ravel(), wy.ravel(),
                                                                     strict=True)],
                          "x": wx.ravel() + 0.2, "y": wy.ravel() + 0.2})
    centers = pd.DataFrame({"id": ["A", "B"], "x": [5.0, 13.0], "y": [10.0, 10.0]})
    return {"units": write(tmp_path / "units.csv", units),
            "centers": write(tmp_path / "centers.csv", centers),
            "roads": write(tmp_path / "roads.csv", roads),
            "nodes": write(tmp_path / "nodes.csv", nodes)}


def test_river_with_two_bridges_changes_the_closest_center(tmp_path):
    """Acceptance: by road, west-bank units near the river belong to A, not to B."""
    f = river_files(tmp_path)
    road = run_cli("costs", f["units"], "--to", f["centers"], "--distance", "network",
                   "--edges", f["roads"], "--nodes", f["nodes"], "--out", tmp_path / "road.csv")
    assert road.returncode == 0, road.stderr
    assert main(["costs", str(f["units"]), "--to", str(f["centers"]), "--distance",
                 "euclidean", "--out", str(tmp_path / "line.csv")]) == 0
    by_road = nearest(pd.read_csv(tmp_path / "road.csv"))
    by_line = nearest(pd.read_csv(tmp_path / "line.csv"))
    assert len(by_road) == len(by_line) == 231

    # the unit at (10.2, 10.2): 2.83 from B in a straight line, 23.28 by road via a bridge
    assert by_line["w10_10"] == "B" and by_road["w10_10"] == "A"
    costs = pd.read_csv(tmp_path / "road.csv").set_index(["origin_id", "destination_id"])
    snap = np.hypot(0.2, 0.2)
    assert costs.loc[("w10_10", "A"), "cost"] == pytest.approx(5 + snap)
    assert costs.loc[("w10_10", "B"), "cost"] == pytest.approx(10 + 1 + 2 + 10 + snap)
    flipped = by_line.index[(by_line == "B") & (by_road == "A")]
    assert len(flipped) >= 10
    assert not ((by_line == "A") & (by_road == "B")).any()  # nothing moves the other way
    assert {name[:3] for name in flipped} <= {"w08", "w09", "w10"}
    report = json.loads((tmp_path / "road.report.json").read_text())
    assert report["metric"] == "network" and report["network"]["snapped"] is True
    assert report["unreachable_pairs"] == 0
    assert report["network"]["max_origin_snap"] == pytest.approx(snap)


def test_unreachable_pairs_are_dropped_counted_and_named(tmp_path, capsys):
    pts = write(tmp_path / "p.csv", pd.DataFrame({"id": ["a", "b", "c", "d"]}))
    roads = write(tmp_path / "r.csv", pd.DataFrame({"from_id": ["a", "c"], "to_id": ["b", "d"],
                                                    "cost": [2.0, 3.0],
                                                    "oneway": [True, False]}))
    assert main(["costs", str(pts), "--edges", str(roads), "--out", str(tmp_path / "c.csv")]) == 0
    assert "status: warnings" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "c.csv")
    assert np.isfinite(table["cost"]).all() and table["cost"].max() == 3.0
    assert len(table) == 4 + 1 + 2  # diagonal, a -> b (one way), c <-> d
    report = json.loads((tmp_path / "c.report.json").read_text())
    assert report["unreachable_pairs"] == 16 - 7 and report["pairs_written"] == 7
    assert ["a", "c"] in report["unreachable"]["examples"]
    assert report["unreachable"]["destinations_reached_by_nothing"] == ["a"]  # one way
    assert "9 of 16 pairs have no road path" in report["warnings"][0]


def grid_csv(tmp_path: Path, **changes: object) -> Path:
    xs, ys = np.meshgrid(np.arange(4.0), np.arange(3.0))
    df = pd.DataFrame({"id": [f"u{i}" for i in range(12)], "x": xs.ravel(), "y": ys.ravel()})
    for column, value in changes.items():
        df[column] = value
    return write(tmp_path / "g.csv", df)


def edges_csv(tmp_path: Path, rows: list[tuple], columns=("from_id", "to_id", "cost")) -> Path:
    return write(tmp_path / "e.csv", pd.DataFrame(rows, columns=list(columns)))


BAD_COSTS = [
    (lambda t: [grid_csv(t), "--id", "scu"], "column 'scu' not found in the points table "
                                             "(INPUT); columns present: id, x, y"),
    (lambda t: [grid_csv(t, id=["u0"] * 12)], "id column 'id' has 1 duplicated id(s)"),
    (lambda t: [grid_csv(t), "--distance", "haversine"], "distance 'haversine' needs lon/lat"),
    (lambda t: [grid_csv(t), "--distance", "network"], "distance 'network' needs a road edges "
                                                       "table (--edges FILE"),
    (lambda t: [grid_csv(t), "--edges", edges_csv(t, [("u0", "u0", 1.0)])],
     "edges has self-loops (from 'from_id' == to 'to_id') in rows 0 at nodes 'u0'"),
    (lambda t: [grid_csv(t), "--edges", edges_csv(t, [("u0", "u1", 1.0), ("u1", "u2", -1.0)])],
     "column 'cost' has negative costs in rows 1 (values -1.0); costs must be >= 0"),
    (lambda t: [grid_csv(t), "--edges", edges_csv(t, [("u0", "u1", 1.0), ("u1", "u2", None)])],
     "column 'cost' has missing, non-numeric or infinite costs in rows 1"),
    (lambda t: [grid_csv(t), "--edges", edges_csv(t, [("u0", "u1", 1.0), ("u1", "u0", 2.0)])],
     "appear more than once with different 'cost': (from, to) ('u0', 'u1')"),
    (lambda t: [grid_csv(t), "--edges", edges_csv(t, [("n1", "n2", 1.0)])],
     "none of the points' ids ('u0', 'u1', 'u2', 'u3', 'u4' (+7 more)) appears in the "
     "edges' from_id / to_id"),
    (lambda t: [grid_csv(t), "--edges", edges_csv(t, [(1, 2, 1.0), (2, 9, 1.0)]), "--nodes",
                write(t / "n.csv", pd.DataFrame({"node_id": [1, 2], "x": [0.0, 1.0],
                                                 "y": [0.0, 0.0]}))],
     "edges refer to 1 node id(s) missing from nodes.node_id: '9' in rows 1"),
    (lambda t: [grid_csv(t), "--cutoff", "0.5"], "cutoff=0.5 is below every distance between "
                                                 "different points: the smallest is 1"),
    (lambda t: [grid_csv(t), "--k", "0"], "parameter 'k' must be an int in [1, inf); got '0'"),
    (lambda t: [grid_csv(t), "--exponent", "2"], "parameter 'exponent' applies only to "
                                                 "transform 'power'"),
    (lambda t: [grid_csv(t), "--to", write(t / "centers.csv", pd.DataFrame({"id": ["c"]}))],
     "column 'x' not found in the destination table (--to)"),
    (lambda t: [grid_csv(t), "--max-pairs", "100"], "12 x 12 = 144 pairs exceed "
                                                    "max_pairs=100: pass --k N"),
]


@pytest.mark.parametrize(("args", "message"), BAD_COSTS)
def test_costs_bad_input_exits_2_with_the_message(tmp_path, capsys, args, message):
    rc = main(["costs", *map(str, args(tmp_path)), "--out", str(tmp_path / "c.csv")])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("terraplan: error: ") and message in err, err
    assert not (tmp_path / "c.csv").exists()


def test_bad_input_through_the_console_script_has_no_traceback(tmp_path):
    bad = run_cli("costs", grid_csv(tmp_path), "--distance", "network", "--out",
                  tmp_path / "c.csv")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("terraplan: error: distance 'network' needs a road edges")
    usage = run_cli("costs", grid_csv(tmp_path), "--transform", "log", "--out",
                    tmp_path / "c.csv")
    assert usage.returncode == 2 and "invalid choice: 'log'" in usage.stderr


def test_adjacency_bad_input_exits_2(tmp_path, capsys):
    src = str(grid_csv(tmp_path))
    cases = [
        (["--source", "roads"], "source 'roads' needs an edges table (--edges FILE"),
        (["--edges", str(edges_csv(tmp_path, [("u0", "zz", 1.0)]))],
         "column 'to_id' refers to 1 unit id(s) that are not in ids: 'zz' (rows 0)"),
        (["--wkt", "geom"], "column 'geom' not found in the units table"),
        (["--distance", "haversine"], "distance 'haversine' needs lon/lat coordinates"),
    ]
    for args, message in cases:
        assert main(["adjacency", src, *args, "--out", str(tmp_path / "a.csv")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("terraplan: error: ") and message in err, err


def test_failed_run_leaves_the_previous_output(tmp_path):
    out = tmp_path / "c.csv"
    assert main(["costs", str(grid_csv(tmp_path)), "--out", str(out)]) == 0
    before = out.read_bytes(), (tmp_path / "c.report.json").read_bytes()
    assert main(["costs", str(grid_csv(tmp_path)), "--cutoff", "0.1", "--out", str(out)]) == 2
    assert (out.read_bytes(), (tmp_path / "c.report.json").read_bytes()) == before


def test_adjacency_from_the_bundled_county_polygons(tmp_path):
    pytest.importorskip("shapely")
    out = tmp_path / "adj.csv"
    assert main(["adjacency", str(DATA / "scus.csv"), "--id", "scu_id", "--wkt", "wkt",
                 "--out", str(out)]) == 0
    table = pd.read_csv(out, dtype={"from_id": str, "to_id": str})
    assert list(table.columns) == ["from_id", "to_id", "length", "artificial", "source"]
    bundled = pd.read_csv(DATA / "edges.csv", dtype={"from_id": str, "to_id": str})
    ours = set(map(frozenset, table[["from_id", "to_id"]].to_numpy().tolist()))
    truth = set(map(frozenset, bundled[["from_id", "to_id"]].to_numpy().tolist()))
    # the bundled polygons are simplified: they may lose a corner contact, never invent one
    assert ours <= truth and len(ours) >= len(truth) - 5
    report = json.loads((tmp_path / "adj.report.json").read_text())
    assert report["source"] == "polygons" and report["kind"] == "queen"
    assert report["length_unit"] == "km" and report["connected"] is True
    assert 5 < table["length"].median() < 60  # km between neighbouring county centres


def test_adjacency_reports_and_links_islands(tmp_path, capsys):
    xs, ys = np.meshgrid(np.arange(3.0), np.arange(3.0))
    towns = pd.DataFrame({"id": [f"a{i}" for i in range(9)] + [f"b{i}" for i in range(9)],
                          "x": np.r_[xs.ravel(), xs.ravel() + 30],
                          "y": np.r_[ys.ravel(), ys.ravel()]})
    src = write(tmp_path / "towns.csv", towns)
    assert main(["adjacency", str(src), "--out", str(tmp_path / "plain.csv")]) == 0
    assert "status: warnings" in capsys.readouterr().out
    report = json.loads((tmp_path / "plain.report.json").read_text())
    assert report["components"]["count"] == 2 and report["components"]["sizes"] == [9, 9]
    assert "--link-islands" in report["warnings"][0]
    assert main(["adjacency", str(src), "--link-islands", "--out",
                 str(tmp_path / "linked.csv")]) == 0
    linked = pd.read_csv(tmp_path / "linked.csv")
    fake = linked[linked["artificial"]]
    assert fake[["from_id", "to_id", "length"]].values.tolist() == [["a2", "b0", 28.0]]
    report = json.loads((tmp_path / "linked.report.json").read_text())
    assert report["connected"] is True and report["artificial_edges"]["count"] == 1


def test_adjacency_from_roads_feeds_balance(tmp_path):
    f = river_files(tmp_path)
    out = tmp_path / "adj.csv"
    assert main(["adjacency", str(f["units"]), "--edges", str(f["roads"]), "--nodes",
                 str(f["nodes"]), "--out", str(out)]) == 0
    adj = pd.read_csv(out)
    assert set(adj["source"]) == {"road"} and len(adj) > 231
    units = pd.read_csv(f["units"]).assign(load=1.0)
    write(tmp_path / "units_load.csv", units)
    assert main(["balance", str(tmp_path / "units_load.csv"), "--metric", "load",
                 "--territories", "2", "--edges", str(out), "--out",
                 str(tmp_path / "balance")]) == 0


WORKFLOW = """\
name: costs_and_adjacency
sources:
  units: {path: units.csv}
  centers: {path: centers.csv}
steps:
  - name: unit_costs
    uses: cost_matrix
    inputs: {points: units, to: centers}
    with: {k: 1, distance: euclidean}
    outputs: {costs: nearest_center}
  - name: unit_adjacency
    uses: adjacency
    inputs: {units: units}
    with: {link_islands: true, max_edge_factor: 3}
    outputs: {edges: adjacency_edges}
"""


def test_both_components_run_in_a_workflow_on_duckdb(tmp_path):
    f = river_files(tmp_path)
    assert f["units"].parent == tmp_path
    (tmp_path / "wf.yaml").write_text(WORKFLOW)
    summary = run_workflow(tmp_path / "wf.yaml", database=str(tmp_path / "w.duckdb"))
    assert [s.component for s in summary.steps] == ["cost_matrix", "adjacency"]
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        nearest_center = con.execute("SELECT * FROM nearest_center").df()
        edges = con.execute("SELECT * FROM adjacency_edges").df()
        runs = con.execute("SELECT component, status FROM terraplan_runs "
                               "WHERE step <> '(run)'").fetchall()
    finally:
        con.close()
    assert len(nearest_center) == 231 and {"origin_id", "destination_id", "cost"} <= set(
        nearest_center.columns)
    assert len(edges) > 231 and {"from_id", "to_id", "artificial"} <= set(edges.columns)
    assert sorted(runs) == [("adjacency", "succeeded"), ("cost_matrix", "succeeded")]
    (tmp_path / "bad.yaml").write_text(WORKFLOW.replace("{k: 1,", "{k: one,"))
    with pytest.raises(InputError, match=r"bad.yaml:9: step 'unit_costs': parameter 'k' must "
                                         r"be an int in \[1, inf\); got 'one'"):
        load_workflow(tmp_path / "bad.yaml")

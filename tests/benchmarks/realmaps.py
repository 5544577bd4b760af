"""Real maps that ship offline in a PyPI package (``bokeh-sampledata``, the ``bench`` extra).

* County maps: the 2009 TIGER/Line county polygons of ``bokeh_sampledata.us_counties``
  joined by FIPS to the BLS county labour statistics of 2009
  (``unemployment09.csv.gz``: labour force, employed, unemployed: three additive
  metrics). Adjacency: polygons that touch (or lie within 1e-4 degrees: the sample
  geometry is simplified), edge length the great-circle distance between the units'
  representative points in km. States by postal code, or the contiguous US (no AK, HI,
  PR); islands (e.g. Nantucket) are joined to the nearest part by flagged edges.
* H3 grids: the cells of one H3 resolution whose centers fall in those counties; each
  cell carries its county's metrics divided by the county's cell count (still additive,
  and as lumpy as the counties: a city county's cells are heavy, a desert county's light).

>>> inst = county_map(["DE"])  # doctest: +SKIP
>>> inst.n, inst.metrics.shape[1]
(3, 3)
"""

from __future__ import annotations

import gzip
import importlib.resources
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import scipy.sparse as sp

METRICS = ("labour_force", "employed", "unemployed")
NOT_CONTIGUOUS = {"AK", "HI", "PR", "VI", "GU", "AS", "MP"}
R_KM = 6371.0088


@dataclass(frozen=True)
class MapInstance:
    name: str
    ids: np.ndarray          # (n,) str FIPS or H3 index
    coords: np.ndarray       # (n, 2) lon, lat
    graph: sp.csr_matrix     # (n, n) symmetric, km
    metrics: np.ndarray      # (n, 3) labour force, employed, unemployed
    artificial_edges: int

    @property
    def n(self) -> int:
        return len(self.ids)


def available() -> bool:
    try:
        import bokeh_sampledata  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=1)
def _labour() -> pd.DataFrame:
    raw = importlib.resources.files("bokeh_sampledata") / "_data" / "unemployment09.csv.gz"
    with gzip.open(raw.open("rb"), "rt", encoding="latin-1") as fh:
        df = pd.read_csv(fh, header=None, dtype=str)
    num = df[[5, 6, 7]].apply(lambda c: pd.to_numeric(c.str.replace(",", "").str.strip()))
    out = pd.DataFrame({"fips": df[1].str.zfill(2) + df[2].str.zfill(3)})
    out[list(METRICS)] = num.to_numpy(float)
    return out.drop_duplicates("fips").set_index("fips")


def _counties(states: list[str] | None) -> pd.DataFrame:
    from bokeh_sampledata.us_counties import records

    recs = []
    for st in states or [None]:
        recs.extend(records(state=st) if st else records())
    df = pd.DataFrame(recs)
    df = df[~df["state"].isin(NOT_CONTIGUOUS)].drop_duplicates("fips")
    df = df.join(_labour(), on="fips", how="inner")
    return df.sort_values("fips").reset_index(drop=True)


def _haversine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lon1, lat1, lon2, lat2 = map(np.radians, (a[:, 0], a[:, 1], b[:, 0], b[:, 1]))
    h = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * R_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def _graph(ids: np.ndarray, coords: np.ndarray, i: np.ndarray, j: np.ndarray):
    from components.adjacency import link_islands
    from components.adjacency.model import build_adjacency

    keep = i < j
    i, j = i[keep], j[keep]
    length = np.maximum(_haversine(coords[i], coords[j]), 1e-3)
    adj = build_adjacency(ids, i, j, length, "bench")
    extra = 0
    if adj.n_components() > 1:
        adj = link_islands(adj, coords, metric="haversine")
        extra = int(adj.edges["artificial"].sum())
    return adj.matrix, extra


@lru_cache(maxsize=16)
def county_map(states: tuple[str, ...] | None = None) -> MapInstance:
    """Counties of ``states`` (None: the contiguous US) with their labour statistics."""
    from shapely import STRtree

    df = _counties(list(states) if states else None)
    geoms = df["geometry"].to_numpy()
    pts = np.array([[p.x, p.y] for p in (g.representative_point() for g in geoms)])
    tree = STRtree(geoms)
    i, j = tree.query(geoms, predicate="dwithin", distance=1e-4)
    ids = df["fips"].to_numpy(dtype=str)
    graph, extra = _graph(ids, pts, i, j)
    name = "US counties" if not states else f"{'+'.join(states)} counties"
    return MapInstance(name, ids, pts, graph, df[list(METRICS)].to_numpy(float), extra)


@lru_cache(maxsize=4)
def h3_map(resolution: int, states: tuple[str, ...] | None = None) -> MapInstance:
    """H3 cells of ``resolution`` covering the counties, county metrics shared evenly."""
    import h3

    df = _counties(list(states) if states else None)
    cells, owner = [], []
    for row, geom in enumerate(df["geometry"]):
        polys = getattr(geom, "geoms", [geom])
        got: set[str] = set()
        for poly in polys:
            shape = h3.LatLngPoly([(y, x) for x, y in poly.exterior.coords])
            got.update(h3.polygon_to_cells(shape, resolution))
        if not got:  # a county smaller than a cell keeps the cell of its point
            p = geom.representative_point()
            got = {h3.latlng_to_cell(p.y, p.x, resolution)}
        cells.extend(sorted(got))
        owner.extend([row] * len(got))
    cell_df = pd.DataFrame({"cell": cells, "owner": owner}).drop_duplicates("cell")
    cell_df = cell_df.sort_values("cell").reset_index(drop=True)
    share = cell_df["owner"].map(cell_df["owner"].value_counts()).to_numpy(float)
    metrics = df[list(METRICS)].to_numpy(float)[cell_df["owner"].to_numpy()] / share[:, None]
    ids = cell_df["cell"].to_numpy(dtype=str)
    pos = pd.Index(ids)
    latlng = np.array([h3.cell_to_latlng(c) for c in ids])
    coords = latlng[:, ::-1].copy()
    i, j = [], []
    for a, c in enumerate(ids):
        nb = pos.get_indexer([x for x in h3.grid_ring(c, 1)])
        nb = nb[nb >= 0]
        i.extend([a] * len(nb))
        j.extend(nb.tolist())
    graph, extra = _graph(ids, coords, np.asarray(i), np.asarray(j))
    name = f"H3 r{resolution} {'US' if not states else '+'.join(states)}"
    return MapInstance(name, ids, coords, graph, metrics, extra)

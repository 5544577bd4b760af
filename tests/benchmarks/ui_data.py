"""Generated map data at the sizes the planner must draw: 3,100 counties, 100,000 H3 cells.

Counties are Voronoi cells of jittered grid points clipped to a box over the lower 48
(about the US county count), their edges densified so a polygon carries the few dozen
vertices a generalised county outline has. H3 cells are a disk of resolution-7 cells.
Both come with an adjacency table, a current alignment and two metrics, so the same
tables feed ``terraplan ui`` exactly as a workflow's published tables would.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import Voronoi, cKDTree

BOX = (-124.0, 25.0, -67.0, 49.0)  # lon/lat of the lower 48


def _densify(ring: np.ndarray, per_edge: int) -> np.ndarray:
    nxt = np.roll(ring, -1, axis=0)
    t = np.linspace(0.0, 1.0, per_edge, endpoint=False)[None, :, None]
    pts = ring[:, None, :] + t * (nxt - ring)[:, None, :]
    return pts.reshape(-1, 2)


def _wkt(ring: np.ndarray) -> str:
    closed = np.vstack([ring, ring[:1]])
    return "POLYGON ((" + ", ".join(f"{x:.5f} {y:.5f}" for x, y in closed) + "))"


def counties(n: int = 3100, seed: int = 0, territories: int = 50) -> tuple[pd.DataFrame,
                                                                           pd.DataFrame]:
    """``n`` county-like polygons (id, name, lon, lat, population, accounts, current, wkt)
    and their adjacency (from_id, to_id)."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = BOX
    cols = round(float(np.sqrt(n * (x1 - x0) / (y1 - y0))))
    rows = int(np.ceil(n / cols))
    gx, gy = np.meshgrid(np.linspace(x0, x1, cols), np.linspace(y0, y1, rows))
    pts = np.column_stack([gx.ravel(), gy.ravel()])[:n]
    step = (x1 - x0) / cols
    pts = pts + rng.uniform(-0.35 * step, 0.35 * step, pts.shape)
    # mirror points around the box so every cell is bounded
    far = np.array([[x0 - 50, y0 - 50], [x0 - 50, y1 + 50], [x1 + 50, y0 - 50],
                    [x1 + 50, y1 + 50]])
    vor = Voronoi(np.vstack([pts, far]))
    wkts = []
    for i in range(n):
        region = vor.regions[vor.point_region[i]]
        ring = vor.vertices[[v for v in region if v >= 0]]
        ring = np.clip(ring, [x0 - step, y0 - step], [x1 + step, y1 + step])
        wkts.append(_wkt(_densify(ring, 6)))
    pairs = np.array([p for p in vor.ridge_points if p[0] < n and p[1] < n])
    ids = np.array([f"{i:05d}" for i in range(n)])
    pop = np.round(rng.lognormal(10.0, 1.1, n)).astype(int)
    units = pd.DataFrame({
        "scu_id": ids, "name": [f"County {i}" for i in range(n)],
        "lon": pts[:, 0].round(5), "lat": pts[:, 1].round(5), "population": pop,
        "accounts": np.maximum(1, pop // 2500),
        "current_territory": _current(pts, territories, rng), "wkt": wkts})
    edges = pd.DataFrame({"from_id": ids[pairs[:, 0]], "to_id": ids[pairs[:, 1]]})
    return units, edges


def h3_cells(k: int = 183, resolution: int = 7, seed: int = 0,
             territories: int = 200) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A disk of ``3k(k+1)+1`` H3 cells (k=183: 100,993) with metrics and adjacency."""
    import h3

    rng = np.random.default_rng(seed)
    origin = h3.latlng_to_cell(39.0, -98.0, resolution)
    cells = sorted(h3.grid_disk(origin, k))
    latlng = np.array([h3.cell_to_latlng(c) for c in cells])
    index = {c: i for i, c in enumerate(cells)}
    src, dst = [], []
    for i, c in enumerate(cells):
        for nb in h3.grid_ring(c, 1):
            j = index.get(nb)
            if j is not None and j > i:
                src.append(i)
                dst.append(j)
    pts = latlng[:, ::-1]
    pop = np.round(rng.lognormal(6.0, 1.0, len(cells))).astype(int)
    units = pd.DataFrame({"h3": cells, "lon": pts[:, 0].round(6), "lat": pts[:, 1].round(6),
                          "population": pop, "accounts": np.maximum(0, pop // 400),
                          "current_territory": _current(pts, territories, rng)})
    ids = np.array(cells)
    edges = pd.DataFrame({"from_id": ids[src], "to_id": ids[dst]})
    return units, edges


def _current(pts: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    seeds = pts[rng.choice(len(pts), size=m, replace=False)]
    _, nearest = cKDTree(seeds).query(pts)
    return np.array([f"T{t + 1:03d}" for t in nearest])

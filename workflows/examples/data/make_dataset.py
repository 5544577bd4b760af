"""Build the bundled example SCU dataset (Georgia counties, 1990) from libpysal's example data.

This script documents where ``scus.csv`` and ``edges.csv`` came from. The test suite does not
run it and the project does not depend on what it imports. To reproduce the files, in a
throwaway virtual environment::

    python3 -m venv /tmp/dataenv
    /tmp/dataenv/bin/pip install libpysal==4.14.1 shapely==2.2.0 pyshp==3.1.6 \
        pyproj==3.7.2 addfips==0.4.2
    /tmp/dataenv/bin/python make_dataset.py            # writes next to this file
    /tmp/dataenv/bin/python make_dataset.py --check    # rebuild in memory, compare, write nothing

Inputs, all read from files shipped inside the installed wheels (nothing is downloaded):

* ``libpysal/examples/georgia/G_utm.shp`` (+ ``.dbf``, ``.shx``): 159 Georgia counties with
  the 1990 population ``TotPop90``; polygons in UTM zone 16N metres (no ``.prj`` is shipped;
  see ``TO_WGS84_PIPELINE`` for the datum).
* ``addfips/data/counties_2000.csv``: county names by FIPS code (the shapefile has none).
"""

from __future__ import annotations

import argparse
import csv
import heapq
import importlib.resources
import io
import math
import sys
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapefile  # pyshp
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import MultiPolygon, Point, Polygon, shape

# The shipped shapefile has no .prj. Its coordinates are UTM zone 16N metres: zone 17N would put
# the counties hundreds of kilometres away from their Latitude/Longitud attributes. The datum is
# not stated. Inverse-projected on NAD27's Clarke 1866 ellipsoid, the polygon centroids sit a
# median 5 m north of those attributes; on NAD83's GRS80 ellipsoid, a median 204 m south. So
# NAD27 / UTM 16N (EPSG:26716) is assumed, and taken to WGS84 with the EPSG:1173 "NAD27 to WGS 84
# (4)" CONUS geocentric translation (stated accuracy 10 m), written out so no PROJ grid file is
# needed.
TO_WGS84_PIPELINE = (
    "+proj=pipeline +step +inv +proj=utm +zone=16 +ellps=clrk66 "
    "+step +proj=push +v_3 +step +proj=cart +ellps=clrk66 "
    "+step +proj=helmert +x=-8 +y=160 +z=176 "
    "+step +inv +proj=cart +ellps=WGS84 +step +proj=pop +v_3 "
    "+step +proj=unitconvert +xy_in=rad +xy_out=deg"
)
STATE_FIPS = "13"
STATE_POSTAL = "GA"

PEOPLE_PER_ACCOUNT = 2500  # accounts = max(1, round_half_up(population / 2500))
N_TERRITORIES = 10  # current_territory: T01..T10, one per seed county
SEED_MIN_KM = 20.0  # seeds: most populous counties at least this far apart
SIMPLIFY_DEGREES = 0.0005  # Douglas-Peucker tolerance for the wkt column (~50 m)
GRID_DEGREES = 1e-5  # wkt coordinates snapped to this grid (~1 m), validity kept
WKT_DECIMALS = 5
LONLAT_DECIMALS = 6
KM_DECIMALS = 3

SCU_HEADER = (
    "scu_id",
    "name",
    "state",
    "lon",
    "lat",
    "population",
    "accounts",
    "current_territory",
    "wkt",
)
EDGE_HEADER = ("from_id", "to_id", "shared_km")

GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class County:
    """One source county: FIPS id, 1990 population and its polygon in UTM metres."""

    scu_id: str
    population: int
    geom_utm: Polygon | MultiPolygon
    attr_lon: float
    attr_lat: float


@dataclass(frozen=True)
class Edge:
    """One undirected queen-contiguity pair, ``from_id < to_id``."""

    from_id: str
    to_id: str
    shared_km: float


def read_counties() -> list[County]:
    """Read the 159 counties from libpysal's bundled ``georgia/G_utm`` shapefile."""
    folder = importlib.resources.files("libpysal") / "examples" / "georgia"
    with (
        (folder / "G_utm.shp").open("rb") as shp,
        (folder / "G_utm.shx").open("rb") as shx,
        (folder / "G_utm.dbf").open("rb") as dbf,
    ):
        reader = shapefile.Reader(shp=shp, shx=shx, dbf=dbf, encoding="latin-1")
        counties = []
        for shape_rec in reader.iterShapeRecords():
            rec = shape_rec.record
            geom = shape(shape_rec.shape.__geo_interface__)
            if not isinstance(geom, Polygon | MultiPolygon) or not geom.is_valid:
                raise ValueError(f"county {rec['AreaKey']}: not a valid polygon")
            counties.append(
                County(
                    scu_id=f"{int(rec['AreaKey']):05d}",
                    population=int(rec["TotPop90"]),
                    geom_utm=geom,
                    attr_lon=float(rec["Longitud"]),
                    attr_lat=float(rec["Latitude"]),
                )
            )
    counties.sort(key=lambda c: c.scu_id)
    if not all(c.scu_id.startswith(STATE_FIPS) for c in counties):
        raise ValueError("expected only Georgia (FIPS 13) counties")
    return counties


def read_names() -> dict[str, str]:
    """County names by 5-digit FIPS id, from addfips' bundled Census county list."""
    text = (importlib.resources.files("addfips") / "data" / "counties_2000.csv").read_text(
        encoding="utf-8"
    )
    return {
        row["statefp"] + row["countyfp"]: row["name"]
        for row in csv.DictReader(io.StringIO(text))
        if row["statefp"] == STATE_FIPS
    }


def projector(pipeline: str) -> Callable[[np.ndarray], np.ndarray]:
    """A coordinate function for ``shapely.transform``: source UTM metres to WGS84 lon/lat."""
    transformer = Transformer.from_pipeline(pipeline)

    def apply(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return apply


def as_polygonal(geom: shapely.Geometry) -> Polygon | MultiPolygon:
    """Keep only the polygon parts of ``geom`` (snapping can leave stray lines or points)."""
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def simplified_wgs84(geom_wgs84: Polygon | MultiPolygon) -> Polygon | MultiPolygon:
    """Simplify, then snap to the WKT grid; the result must be a valid, non-empty polygon."""
    simple = geom_wgs84.simplify(SIMPLIFY_DEGREES, preserve_topology=True)
    snapped = as_polygonal(shapely.set_precision(simple, GRID_DEGREES))
    if snapped.is_empty or not snapped.is_valid:
        raise ValueError("simplification produced an empty or invalid polygon")
    return snapped


def inside_point(
    geom_utm: Polygon | MultiPolygon,
    geom_wgs84: Polygon | MultiPolygon,
    simple_wgs84: Polygon | MultiPolygon,
    to_wgs84: Callable[[np.ndarray], np.ndarray],
) -> tuple[float, float]:
    """The centroid (planar, in UTM metres) if it lies inside both the original and the
    simplified polygon once rounded; otherwise a representative point of their intersection."""
    centroid = shapely.transform(geom_utm.centroid, to_wgs84)
    point = Point(round(centroid.x, LONLAT_DECIMALS), round(centroid.y, LONLAT_DECIMALS))
    if geom_wgs84.contains(point) and simple_wgs84.contains(point):
        return point.x, point.y
    rep = geom_wgs84.intersection(simple_wgs84).representative_point()
    point = Point(round(rep.x, LONLAT_DECIMALS), round(rep.y, LONLAT_DECIMALS))
    if not (geom_wgs84.contains(point) and simple_wgs84.contains(point)):
        raise ValueError("could not find a point inside the polygon")
    return point.x, point.y


def queen_edges(
    counties: Sequence[County], to_wgs84: Callable[[np.ndarray], np.ndarray]
) -> list[Edge]:
    """Queen contiguity on the original polygons: any shared boundary point makes a pair.

    ``shared_km`` is the geodesic (WGS84 ellipsoid) length of the line parts of the shared
    boundary; 0 when the two counties touch only at points.
    """
    geoms = [c.geom_utm for c in counties]
    tree = shapely.STRtree(geoms)
    edges = []
    for i, geom in enumerate(geoms):
        for j in sorted(int(k) for k in tree.query(geom, predicate="intersects")):
            if j <= i:
                continue
            if geom.intersection(geoms[j]).area > 1.0:  # m^2: the source is a clean coverage
                raise ValueError(f"{counties[i].scu_id} and {counties[j].scu_id} overlap")
            shared = geom.boundary.intersection(geoms[j].boundary)
            lines = [
                p for p in shapely.get_parts(shared) if p.geom_type in ("LineString", "LinearRing")
            ]
            metres = sum(GEOD.geometry_length(shapely.transform(line, to_wgs84)) for line in lines)
            a, b = sorted((counties[i].scu_id, counties[j].scu_id))
            edges.append(Edge(a, b, round(metres / 1000.0, KM_DECIMALS)))
    edges.sort(key=lambda e: (e.from_id, e.to_id))
    return edges


def components(ids: Sequence[str], edges: Sequence[Edge]) -> list[list[str]]:
    """Connected components of the graph, each sorted, largest first."""
    adjacency: dict[str, list[str]] = {i: [] for i in ids}
    for e in edges:
        adjacency[e.from_id].append(e.to_id)
        adjacency[e.to_id].append(e.from_id)
    seen: set[str] = set()
    found = []
    for start in ids:
        if start in seen:
            continue
        seen.add(start)
        queue, members = deque([start]), [start]
        while queue:
            for nxt in adjacency[queue.popleft()]:
                if nxt not in seen:
                    seen.add(nxt)
                    members.append(nxt)
                    queue.append(nxt)
        found.append(sorted(members))
    return sorted(found, key=lambda m: (-len(m), m[0]))


def geodesic_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic distance in km on the WGS84 ellipsoid between two (lon, lat) points."""
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2]) / 1000.0


def population_seeds(
    ids: Sequence[str],
    points: dict[str, tuple[float, float]],
    population: dict[str, int],
    count: int,
    min_km: float,
) -> list[str]:
    """Units in decreasing population (ties: id), skipping any within ``min_km`` of a seed."""
    seeds: list[str] = []
    for unit in sorted(ids, key=lambda i: (-population[i], i)):
        if all(geodesic_km(points[unit], points[s]) >= min_km for s in seeds):
            seeds.append(unit)
            if len(seeds) == count:
                return seeds
    raise ValueError(f"only {len(seeds)} seeds are {min_km} km apart")


def grow_territories(
    ids: Sequence[str],
    edges: Sequence[Edge],
    seeds: Sequence[str],
    points: dict[str, tuple[float, float]],
) -> dict[str, str]:
    """Each unit joins the seed nearest along the shared-boundary graph (a graph Voronoi).

    Multi-source Dijkstra over edges with ``shared_km > 0``, an edge costing the geodesic
    distance between the two units' points. A unit takes the territory of the unit it is
    reached from, so every territory is contiguous under rook and queen contiguity.
    Ties: shorter distance, then seed order, then unit id.
    """
    adjacency: dict[str, list[str]] = {i: [] for i in ids}
    for e in edges:
        if e.shared_km > 0:
            adjacency[e.from_id].append(e.to_id)
            adjacency[e.to_id].append(e.from_id)
    label: dict[str, int] = {}
    heap: list[tuple[float, int, str]] = [(0.0, k, seed) for k, seed in enumerate(seeds)]
    heapq.heapify(heap)
    while heap:
        dist, k, unit = heapq.heappop(heap)
        if unit in label:
            continue
        label[unit] = k
        for nxt in adjacency[unit]:
            if nxt not in label:
                step = geodesic_km(points[unit], points[nxt])
                heapq.heappush(heap, (dist + step, k, nxt))
    missing = sorted(set(ids) - set(label))
    if missing:
        raise ValueError(f"units not reachable by shared-boundary edges: {missing}")
    return {unit: f"T{k + 1:02d}" for unit, k in label.items()}


def accounts_for(population: int) -> int:
    """Derived, not real: one account per 2,500 people, rounded half up, at least one."""
    return max(1, (population + PEOPLE_PER_ACCOUNT // 2) // PEOPLE_PER_ACCOUNT)


def build() -> tuple[str, str]:
    """Return the text of ``scus.csv`` and ``edges.csv``."""
    counties = read_counties()
    names = read_names()
    to_wgs84 = projector(TO_WGS84_PIPELINE)
    ids = [c.scu_id for c in counties]
    if len(set(ids)) != len(ids) or set(ids) - set(names):
        raise ValueError("ids are not unique or have no name")

    wkts: dict[str, str] = {}
    points: dict[str, tuple[float, float]] = {}
    for c in counties:
        geom_wgs84 = shapely.transform(c.geom_utm, to_wgs84)
        simple = simplified_wgs84(geom_wgs84)
        points[c.scu_id] = inside_point(c.geom_utm, geom_wgs84, simple, to_wgs84)
        wkts[c.scu_id] = shapely.to_wkt(simple, rounding_precision=WKT_DECIMALS, trim=True)
        if math.dist(points[c.scu_id], (c.attr_lon, c.attr_lat)) > 0.2:  # sanity of the assumed CRS
            raise ValueError(f"{c.scu_id}: projected point far from the Latitude/Longitud fields")

    edges = queen_edges(counties, to_wgs84)
    population = {c.scu_id: c.population for c in counties}
    seeds = population_seeds(ids, points, population, N_TERRITORIES, SEED_MIN_KM)
    territory = grow_territories(ids, edges, seeds, points)

    scus = io.StringIO()
    writer = csv.writer(scus, lineterminator="\n")
    writer.writerow(SCU_HEADER)
    for c in counties:
        lon, lat = points[c.scu_id]
        writer.writerow(
            [
                c.scu_id,
                names[c.scu_id],
                STATE_POSTAL,
                f"{lon:.{LONLAT_DECIMALS}f}",
                f"{lat:.{LONLAT_DECIMALS}f}",
                c.population,
                accounts_for(c.population),
                territory[c.scu_id],
                wkts[c.scu_id],
            ]
        )
    edge_text = io.StringIO()
    writer = csv.writer(edge_text, lineterminator="\n")
    writer.writerow(EDGE_HEADER)
    for e in edges:
        writer.writerow([e.from_id, e.to_id, f"{e.shared_km:.{KM_DECIMALS}f}"])

    summary(counties, edges, seeds, territory)
    return scus.getvalue(), edge_text.getvalue()


def summary(
    counties: Sequence[County],
    edges: Sequence[Edge],
    seeds: Sequence[str],
    territory: dict[str, str],
) -> None:
    """Print the facts the README quotes."""
    ids = [c.scu_id for c in counties]
    parts = components(ids, edges)
    rook = [e for e in edges if e.shared_km > 0]
    print(f"units: {len(ids)}, population: {sum(c.population for c in counties)}")
    print(f"edges: {len(edges)} ({len(rook)} with shared_km > 0, {len(edges) - len(rook)} points)")
    print(f"components (queen): {len(parts)}; (rook): {len(components(ids, rook))}")
    print(f"seeds: {', '.join(seeds)}")
    for k in range(len(seeds)):
        label = f"T{k + 1:02d}"
        members = [c for c in counties if territory[c.scu_id] == label]
        pop = sum(c.population for c in members)
        acc = sum(accounts_for(c.population) for c in members)
        print(f"  {label} seed {seeds[k]}: {len(members)} units, population {pop}, accounts {acc}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--check", action="store_true", help="compare with --out, write nothing")
    args = parser.parse_args(argv)
    outputs = dict(zip(("scus.csv", "edges.csv"), build(), strict=True))
    if args.check:
        stale = [n for n, t in outputs.items() if (args.out / n).read_text("utf-8") != t]
        print("up to date" if not stale else f"differs: {', '.join(stale)}")
        return 1 if stale else 0
    for name, text in outputs.items():
        (args.out / name).write_text(text, encoding="utf-8", newline="")
    return 0


if __name__ == "__main__":
    sys.exit(main())

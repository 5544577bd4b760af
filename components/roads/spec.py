"""The road-network component, described once."""

from __future__ import annotations

from components.roads.speeds import DRIVE_SPEEDS, PROFILES
from components.spec import ComponentSpec, Param, Table

_TABLE = ", ".join(f"{k} {v:g}" for k, v in DRIVE_SPEEDS.items())

SPEC = ComponentSpec(
    name="road_network",
    title="Road network",
    summary=("A routable road network from OpenStreetMap: nodes (node_id, lon, lat) and "
             "edges (from_id, to_id, length_m, <profile>_seconds, oneway, highway) between "
             "intersections. Speeds come from maxspeed tags or per-class defaults "
             f"(drive, km/h: {_TABLE}; walk 5, steps 2.5), oneways are respected, and only "
             "the largest strongly connected part is kept (the rest is reported). The "
             "edges and nodes feed costs --edges/--nodes and adjacency --source roads."),
    inputs=(
        Table("osm", "an OpenStreetMap file (.osm.pbf, .osm, .osm.bz2; needs "
              "terraplan[roads]) or a way-node table way_id, seq, node_id, lon, lat, "
              "highway[, oneway, maxspeed, junction, access, ...] (sql/roads builds one "
              "from a warehouse's OSM or Overture tables)",
              columns=("way_id", "seq", "node_id", "lon", "lat", "highway")),
    ),
    params=(
        Param("profile", "str", "drive (cars: oneways, access tags, maxspeed) or walk (all "
              "ways on foot, both directions, 5 km/h)", default="drive", choices=PROFILES),
        Param("bbox", "str", "keep only roads inside min_lon,min_lat,max_lon,max_lat",
              metavar="W,S,E,N"),
        Param("speeds", "json", "km/h per highway class, overriding the defaults, e.g. "
              "'{\"residential\": 30, \"track\": 15}' (0 drops a class)", metavar="JSON"),
        Param("keep", "str", "largest: only the largest strongly connected part (every node "
              "reaches every other); all: every part (reported either way)",
              default="largest", choices=("largest", "all")),
    ),
    outputs=(
        Table("nodes", "one row per intersection or road end: node_id (the OSM node id), "
              "lon, lat", columns=("node_id", "lon", "lat")),
        Table("edges", "one row per road stretch between nodes: from_id, to_id, length_m, "
              "<profile>_seconds (drive_seconds or walk_seconds), oneway (true: from -> to "
              "only), highway, way_id, and cost (= the seconds, read by costs and adjacency)",
              columns=("from_id", "to_id", "length_m", "oneway", "highway", "way_id",
                       "cost")),
    ),
    examples=(
        "terraplan roads city.osm.pbf --out roads/",
        "terraplan roads region.osm.pbf --bbox 24.90,60.15,24.98,60.19 --profile walk "
        "--out walk/",
        "terraplan roads city.osm.pbf --speeds '{\"residential\": 30}' --out roads/",
    ),
    command="roads",
)

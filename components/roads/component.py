"""The road-network table entry point (CLI ``terraplan roads``, DuckDB, workflows)."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from components.result import ComponentResult
from components.roads.network import build_road_network
from components.roads.spec import SPEC


def road_network(osm: pd.DataFrame, **params: Any) -> ComponentResult:
    """Nodes and edges of a routable network from an OSM way-node table (see the spec).

    >>> import pandas as pd
    >>> ways = pd.DataFrame({"way_id": [1, 1, 1], "seq": [0, 1, 2], "node_id": [7, 8, 9],
    ...                      "lon": [0.0, 0.001, 0.002], "lat": [0.0] * 3,
    ...                      "highway": ["residential"] * 3})
    >>> result = road_network(ways)
    >>> result.tables["edges"][["from_id", "to_id", "oneway"]].values.tolist()
    [[7, 9, False]]
    """
    started = time.perf_counter()
    p = SPEC.validate_params(params)
    built = build_road_network(osm, profile=p["profile"], bbox=p["bbox"], speeds=p["speeds"],
                               keep=p["keep"])
    report = {"status": "ok", **built.report}
    warnings = []
    parts = report["components"]
    if parts["dropped_nodes"]:
        warnings.append(
            f"{parts['strongly_connected'] - 1} smaller strongly connected part(s) with "
            f"{parts['dropped_nodes']} node(s) and {parts['dropped_edges']} edge(s) were "
            "dropped (roads cut by the extract's edge, or one-way traps); pass --keep all "
            "to keep them")
    report["warnings"] = warnings
    if warnings:
        report["status"] = "warnings"
    report["seconds"] = time.perf_counter() - started
    return ComponentResult({"nodes": built.nodes, "edges": built.edges}, report)

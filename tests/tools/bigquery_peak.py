"""Peak memory and CPU of one packed BigQuery call, for sizing the Cloud Run service.

``python -m tests.tools.bigquery_peak COMPONENT UNITS`` runs one request through the
service's handler (as Cloud Run would, reply limit lifted) on seeded random points and
prints the reply size, CPU seconds and peak resident memory (ru_maxrss). The figures
behind udfs/bigquery/service.py MEASURED_PEAK_MIB and the README deploy section:
cost_matrix (k = 50), territory_balancing (20 territories), location_allocation
(20 facilities from UNITS / 10 candidates).
"""

from __future__ import annotations

import json
import resource
import sys
import time

import numpy as np
import pandas as pd

from tests.integration.test_bigquery_common import bq_body
from udfs.bigquery.handler import RemoteFunctionHandler


def call(component: str, n: int) -> list:
    rng = np.random.default_rng(0)
    pts = pd.DataFrame({"id": [f"{i:06d}" for i in range(n)], "lon": rng.uniform(-85, -81, n),
                        "lat": rng.uniform(30, 35, n), "load": rng.uniform(1, 10, n)})
    rows = pts.to_json(orient="records")
    where = {"lon": "lon", "lat": "lat"}
    if component == "cost_matrix":
        return [rows, None, None, None, json.dumps({"k": 50, **where})]
    if component == "territory_balancing":
        return [rows, None, None, json.dumps({"territories": 20, "metrics": ["load"],
                                              "time_limit": 120, **where})]
    sites = pts.iloc[::10].to_json(orient="records")
    return [rows, sites, None, None, None, json.dumps({"facilities": 20, "weight": "load",
                                                       "time_limit": 120, **where})]


def main(component: str, n: int) -> None:
    handler = RemoteFunctionHandler(client_factory=None, max_response_bytes=10**10)
    started = time.process_time()
    status, body = handler.handle(bq_body([call(component, n)],
                                          context={"component": component, "mode": "packed"}))
    reply = json.loads(json.loads(body)["replies"][0])
    print(json.dumps({"component": component, "units": n, "http": status,
                      "reply_bytes": len(body), "cpu_s": round(time.process_time() - started, 1),
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                      "status": (reply.get("report") or {}).get("status"),
                      "error": reply.get("error")}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))

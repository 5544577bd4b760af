"""The planner's HTTP server: static page plus a JSON API, on the standard library.

``http.server``'s threading server is enough for one analyst on one machine: the
page fetches a few JSON documents and polls solver jobs. The server binds 127.0.0.1
unless told otherwise; any other address requires a token on every API call. It
never takes SQL from the page: requests carry plans (territory names), unit ids and
solver settings, and every read and write goes through :mod:`workflows.ui.store`.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import mimetypes
import secrets
import sys
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from components.errors import InfeasibleError, InputError, TerraplanError
from components.result import jsonable
from workflows.ui.plan import Workspace
from workflows.ui.scenario import Scenario

MAX_BODY = 64 * 1024 * 1024  # a plan for 100,000+ units, with room to spare
STATIC = resources.files("workflows.ui") / "static"
Route = Callable[["Handler", dict[str, Any], list[str]], Any]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class PlannerServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, workspace: Workspace, host: str = "127.0.0.1", port: int = 0, *,
                 token: str | None = None, basemap: str | None = None, quiet: bool = True):
        if not is_loopback(host) and not token:
            raise InputError(f"binding {host} exposes the planner beyond this machine: pass "
                             "--token SECRET (or bind 127.0.0.1)", column="--host")
        self.workspace, self.token, self.basemap, self.quiet = workspace, token, basemap, quiet
        self._cache: dict[str, bytes] = {}  # the unit table and geometry never change
        self._cache_lock = threading.Lock()
        # encoded before the URL is printed, so even the first page load finds them ready
        self.cached("units", lambda: units_json(workspace))
        self.cached("geometry", lambda: geometry_bytes(workspace))
        super().__init__((host, port), Handler)

    def cached(self, key: str, make: Callable[[], bytes]) -> bytes:
        with self._cache_lock:
            if key not in self._cache:
                self._cache[key] = make()
            return self._cache[key]

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}/" + (f"?token={self.token}" if self.token else "")

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, daemon=True, name="planner-http")
        thread.start()
        return thread


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Handler(BaseHTTPRequestHandler):
    server: PlannerServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            sys.stderr.write("planner: " + (format % args) + "\n")

    # -- plumbing -----------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        try:
            if not parts or parts[0] != "api":
                if method != "GET":
                    raise _HttpError(HTTPStatus.METHOD_NOT_ALLOWED, "only GET outside /api")
                self._static(parts)
                return
            self._check_token(url.query)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            body = self._body() if method == "POST" else {}
            route = ROUTES.get((method, parts[1] if len(parts) > 1 else ""))
            if route is None:
                raise _HttpError(HTTPStatus.NOT_FOUND, f"no API route {method} {url.path}")
            result = route(self, {**query, **body}, parts[2:])
            if isinstance(result, _Bytes):
                self._send(HTTPStatus.OK, result.body, result.media)
            elif isinstance(result, _File):
                self._send(HTTPStatus.OK, result.body.encode("utf-8"), result.media,
                           {"Content-Disposition": f'attachment; filename="{result.name}"'})
            else:
                self._json(HTTPStatus.OK, result)
        except _HttpError as err:
            self._json(err.status, {"error": err.message})
        except InputError as err:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(err), "column": err.column})
        except InfeasibleError as err:
            self._json(HTTPStatus.CONFLICT, {"error": str(err), "kind": "infeasible"})
        except TerraplanError as err:
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": str(err)})
        except Exception as err:  # a bug: say what it was rather than drop the connection
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR,
                       {"error": f"planner bug, please report: {type(err).__name__}: {err}"})

    def _check_token(self, query: str) -> None:
        token = self.server.token
        if not token:
            return
        given = self.headers.get("X-Terraplan-Token") or parse_qs(query).get("token", [""])[-1]
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise _HttpError(HTTPStatus.UNAUTHORIZED, "missing or wrong token: open the URL "
                                                      "`terraplan ui` printed")

    def _body(self) -> dict[str, Any]:
        # JSON only: a cross-site HTML form cannot send application/json without CORS.
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            raise _HttpError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send application/json")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise _HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request body too large")
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError as err:
            raise _HttpError(HTTPStatus.BAD_REQUEST, f"request body is not JSON: {err}") from None
        if not isinstance(body, dict):
            raise _HttpError(HTTPStatus.BAD_REQUEST, "request body must be a JSON object")
        return body

    def _static(self, parts: list[str]) -> None:
        rel = parts or ["index.html"]
        if any(p in ("..", ".") or "\\" in p for p in rel):
            raise _HttpError(HTTPStatus.NOT_FOUND, "not found")
        node = STATIC.joinpath(*rel)
        if not node.is_file():
            raise _HttpError(HTTPStatus.NOT_FOUND, f"no file {'/'.join(rel)}")
        media = mimetypes.guess_type(rel[-1])[0] or "application/octet-stream"
        if media.startswith("text/") or media.endswith("javascript"):
            media += "; charset=utf-8"
        self._send(HTTPStatus.OK, node.read_bytes(), media, {"Cache-Control": "no-cache"})

    def _json(self, status: int, payload: Any) -> None:
        body = json.dumps(jsonable(payload), separators=(",", ":")).encode("utf-8")
        self._send(status, body, "application/json")

    def _send(self, status: int, body: bytes, media: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    @property
    def ws(self) -> Workspace:
        return self.server.workspace


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class _Bytes:
    def __init__(self, body: bytes, media: str) -> None:
        self.body, self.media = body, media


class _File:
    def __init__(self, body: str, media: str, name: str) -> None:
        self.body, self.media, self.name = body, media, name


# -- routes ---------------------------------------------------------------------------------

def _meta(h: Handler, q: dict, rest: list[str]) -> dict[str, Any]:
    ws = h.ws
    return {"title": ws.title, "source": ws.source, "metrics": ws.metrics,
            "tolerance": ws.tolerance, "lonlat": ws.lonlat, "n_units": len(ws.ids),
            "kind": ws.shapes.kind, "base_run": ws.base.run_id if ws.base else None,
            "workflow": ws.base.workflow if ws.base else None,
            "can_publish": ws.store is not None, "basemap": h.server.basemap,
            "has_locations": bool(ws.locations),
            "params": {k: ws.params.get(k) for k in ("territories", "tolerance", "time_limit",
                                                    "disruption_weight", "max_moved")}}


def units_json(ws: Workspace) -> bytes:
    """Ids, names (null when the table has no name column) and metrics, in unit order."""
    names = ws.units[ws.name_column].astype(str).tolist() if ws.name_column else None
    doc = {"ids": ws.ids.tolist(), "names": names,
           "metrics": {k: ws.units[k].astype(float).tolist() for k in ws.metrics}}
    return json.dumps(jsonable(doc), separators=(",", ":")).encode("utf-8")


def geometry_bytes(ws: Workspace) -> bytes:
    """Shapes, centers and adjacency as one binary buffer (``geometry.encode``)."""
    return ws.shapes.binary(ws.xy, ws.lonlat, ws.edge_index)


def _units(h: Handler, q: dict, rest: list[str]) -> _Bytes:
    return _Bytes(h.server.cached("units", lambda: units_json(h.ws)), "application/json")


def _geometry(h: Handler, q: dict, rest: list[str]) -> _Bytes:
    return _Bytes(h.server.cached("geometry", lambda: geometry_bytes(h.ws)),
                  "application/octet-stream")


def _summary(sc: Scenario) -> dict[str, Any]:
    stats = {k: v for k, v in sc.stats.items() if k != "rows"}
    return {"id": sc.id, "name": sc.name, "source": sc.source, "stats": stats,
            "published_run": sc.published_run,
            "report": {k: sc.report.get(k) for k in ("status", "objective", "gap", "seconds",
                                                     "locked_respected", "moved_units")}}


def _full(sc: Scenario) -> dict[str, Any]:
    return {**_summary(sc), "assignment": sc.assignment.tolist(), "centers": sc.centers,
            "rows": sc.stats["rows"]}


def _scenarios(h: Handler, q: dict, rest: list[str]) -> Any:
    if not rest:
        return [_summary(s) for s in h.ws.scenarios.values()]
    return _full(h.ws.scenario(rest[0]))


def _save_scenario(h: Handler, q: dict, rest: list[str]) -> Any:
    if len(rest) == 2 and rest[1] == "promote":
        run_id = h.ws.promote(rest[0])
        return {"run_id": run_id, "current": _full(h.ws.scenarios["current"])}
    if rest:
        raise _HttpError(HTTPStatus.NOT_FOUND, "POST /api/scenarios or "
                                               "/api/scenarios/ID/promote")
    plan = h.ws.plan_from(q.get("assignment"))
    centers = q.get("centers") if isinstance(q.get("centers"), dict) else None
    return _full(h.ws.add_scenario(str(q.get("name") or ""), plan, "edited", centers))


def _delete_scenario(h: Handler, q: dict, rest: list[str]) -> Any:
    if not rest:
        raise _HttpError(HTTPStatus.NOT_FOUND, "DELETE /api/scenarios/ID")
    h.ws.delete(rest[0])
    return {"deleted": rest[0]}


def _evaluate(h: Handler, q: dict, rest: list[str]) -> Any:
    plan = h.ws.plan_from(q.get("assignment"))
    centers = h.ws._fix_centers(plan, h.ws.scenarios["current"].centers)
    return {**h.ws.evaluate(plan, centers), "centers": centers}


def _optimise(h: Handler, q: dict, rest: list[str]) -> Any:
    return h.ws.optimise(q).status()


def _jobs(h: Handler, q: dict, rest: list[str]) -> Any:
    if not rest:
        return [j.status() for j in h.ws.jobs.values()]
    return h.ws.job(rest[0]).status()


def _compare(h: Handler, q: dict, rest: list[str]) -> Any:
    a, b = h.ws.scenario(q.get("a", "current")), h.ws.scenario(q.get("b", "current"))
    rows = [a.comparison_row(), b.comparison_row()]
    differ = int((a.assignment != b.assignment).sum())
    return {"rows": rows, "units_differing": differ, "compactness_unit":
            a.stats["compactness_unit"]}


def _history(h: Handler, q: dict, rest: list[str]) -> Any:
    if h.ws.store is None:
        return {"runs": [], "note": "no database: start with --database FILE for history"}
    runs = h.ws.store.runs()
    return {"runs": runs.assign(started_at=runs["started_at"].astype(str)).to_dict(
        orient="records") if not runs.empty else []}


def _run_assignment(h: Handler, q: dict, rest: list[str]) -> Any:
    if h.ws.store is None or not rest:
        raise _HttpError(HTTPStatus.NOT_FOUND, "GET /api/runs/RUN_ID with a database")
    table = h.ws.store.run_table(rest[0])
    plan = h.ws._align(table)
    return {"run_id": rest[0], "assignment": plan.tolist()}


def _diff(h: Handler, q: dict, rest: list[str]) -> Any:
    if h.ws.store is None:
        raise InputError("diff needs a database: start with --database FILE",
                         column="--database")
    for key in ("a", "b"):
        if not q.get(key):
            raise InputError(f"diff needs two run ids: ?a=RUN&b=RUN (missing '{key}')",
                             column=key)
    d = h.ws.store.diff(q["a"], q["b"])
    label = "territory" if "territory_a" in d.changes.columns else "facility"
    changes = d.changes.astype({"id": str})
    return {"summary": d.summary, "changes": [
        {"id": r["id"], "a": r[f"{label}_a"], "b": r[f"{label}_b"], "change": r["change"]}
        for r in changes.to_dict(orient="records")],
        "b_assignment": h.ws._align(h.ws.store.run_table(q["b"])).tolist()}


def _rollback(h: Handler, q: dict, rest: list[str]) -> Any:
    run = q.get("run_id")
    if not run:
        raise InputError("rollback needs {\"run_id\": RUN}", column="run_id")
    tables = h.ws.rollback(str(run))
    return {"restored": tables, "run_id": run, "current": _full(h.ws.scenarios["current"])}


def _locations(h: Handler, q: dict, rest: list[str]) -> Any:
    """Every location-allocation step in the database; ``?step=NAME`` for one, with its
    facility per unit in unit order."""
    found = h.ws.locations or []
    steps = [{"step": r["step"], "strategy": r["strategy"], "run_id": r["run_id"]}
             for r in found]
    if not q.get("step"):
        if not found:
            return {"steps": [], "note": "no location_allocation run in this database"}
        q = {**q, "step": found[-1]["step"]}
    loc = next((r for r in found if r["step"] == q["step"]), None)
    if loc is None:
        raise InputError(f"no location_allocation step '{q['step']}'; steps: "
                         f"{', '.join(s['step'] for s in steps) or 'none'}", column="step")
    assign = [loc["assignment"].get(u) for u in h.ws.ids]
    return {**{k: v for k, v in loc.items() if k != "assignment"}, "assignment": assign,
            "steps": steps}


def _export(h: Handler, q: dict, rest: list[str]) -> Any:
    fmt = str(q.get("format") or "csv")
    if q.get("scenario"):
        plan = h.ws.scenario(str(q["scenario"])).assignment
    else:
        plan = h.ws.plan_from(q.get("assignment"))
    body, media = h.ws.export(np.asarray(plan, dtype=object), fmt)
    return _File(body, media, f"plan.{fmt}")


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "meta"): _meta, ("GET", "units"): _units, ("GET", "geometry"): _geometry,
    ("GET", "scenarios"): _scenarios, ("POST", "scenarios"): _save_scenario,
    ("DELETE", "scenarios"): _delete_scenario, ("POST", "evaluate"): _evaluate,
    ("POST", "optimise"): _optimise, ("GET", "jobs"): _jobs, ("GET", "compare"): _compare,
    ("GET", "history"): _history, ("GET", "runs"): _run_assignment, ("GET", "diff"): _diff,
    ("POST", "rollback"): _rollback, ("GET", "locations"): _locations,
    ("POST", "export"): _export, ("GET", "export"): _export,
}


def static_path() -> Path:
    return Path(str(STATIC))

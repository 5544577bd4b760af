"""The BigQuery remote-function handler: one request in, one reply per call out.

The component and the mode come from the function's ``user_defined_context``
(``{"component": "territory_balancing", "mode": "packed"}``), set by
``terraplan deploy bigquery``; the handler is the same for every component.

``packed`` mode: each call is ``[table_json, ..., params_json]``, positional per
the component spec's inputs, exactly as the DuckDB functions take them (see
:mod:`udfs.protocol`). Arguments may arrive as JSON text (STRING arguments) or as
already-parsed JSON values (JSON arguments). The reply is the JSON text
``{"tables": ..., "report": ..., "schema": {<output>: [{"name", "type"}]}}``; the
schema lets the SQL wrapper build typed output tables.

``tables`` mode: each call is ``[request_json]`` with
``{"inputs": {<input>: "project.dataset.table" | null}, "outputs": {<output>: ...},
"params": {...}, "run_id": "..."}``; the service reads the inputs and writes the
outputs itself (:mod:`udfs.bigquery.tables`) and replies with a summary.

Errors, decided once:

* Bad input in one call (a terraplan InputError/InfeasibleError, an argument
  that is not JSON, a table BigQuery cannot find or read) answers *that call*
  with ``{"error": "<readable message>"}``, like the DuckDB functions. The other
  calls of the batch still get their answers (one bad region does not sink a
  partitioned query), and the SQL wrapper procedure RAISEs the message.
* A request that is not BigQuery's shape, names an unknown component or mode,
  has the wrong number of arguments, or is too large fails the whole batch with
  ``{"errorMessage": ...}`` and 400/413 (BigQuery does not retry those).
* A transient BigQuery API failure in tables mode answers 503 so BigQuery
  retries the batch.

Nothing from the request headers, the caller's e-mail or the arguments is
logged or echoed: the log line per request holds its id, component, mode,
sizes, timings and error count.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from components import highs, registry
from components.errors import TerraplanError
from components.result import jsonable
from udfs.base import RunRecord, new_run_id
from udfs.bigquery.contract import (
    MAX_REQUEST_BYTES,
    MAX_RESPONSE_BYTES,
    MAX_ROW_INPUT_BYTES,
    MODES,
    REPLY_TOO_LARGE,
    TABLE_MODE_HINT,
    ContractError,
    RemoteRequest,
    error_body,
    oversized_message,
    parse_request,
    replies_body,
)
from udfs.bigquery.service import TIMEOUT_ENV, time_limit_cap
from udfs.bigquery.tables import (
    BigQueryTables,
    ClientFactory,
    default_client_factory,
    parse_table_id,
    table_schema,
)
from udfs.execute import Hooks, execute_component, utc_now
from udfs.protocol import error_document, parse_params, result_document, run_packed

log = logging.getLogger("terraplan.bigquery")

_REPLY_OVERHEAD = 64  # '{"replies":[...]}' and separators, generously


class TransientError(Exception):
    """A failure worth retrying (BigQuery API unavailable): the batch answers 503."""


def _google_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(per-call user errors, transient errors) among google.api_core exceptions."""
    try:
        from google.api_core import exceptions as gx
    except ImportError:  # pragma: no cover - google-cloud-bigquery is a core dependency
        return (), ()
    user = (gx.NotFound, gx.Forbidden, gx.BadRequest, gx.Conflict, gx.Unauthorized)
    transient = (gx.ServiceUnavailable, gx.InternalServerError, gx.TooManyRequests,
                 gx.GatewayTimeout, gx.DeadlineExceeded)
    return user, transient


def _env_timeout() -> float | None:
    value = os.environ.get(TIMEOUT_ENV)
    return float(value) if value else None


@dataclass
class RemoteFunctionHandler:
    """Answers BigQuery remote-function requests; the BigQuery client factory is injectable."""

    client_factory: ClientFactory = default_client_factory
    max_request_bytes: int = MAX_REQUEST_BYTES
    max_row_input_bytes: int = MAX_ROW_INPUT_BYTES
    max_response_bytes: int = MAX_RESPONSE_BYTES
    # Cloud Run's request timeout (set by the deploy); the solver's time_limit stays under it
    request_timeout: float | None = field(default_factory=lambda: _env_timeout())
    _clients: dict[str | None, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- the whole request ----------------------------------------------------------------

    def handle(self, body: bytes) -> tuple[int, bytes]:
        """(HTTP status, JSON body) for one POSTed request body."""
        started = time.monotonic()
        request_id, component, mode, n_calls, n_errors = "?", "?", "?", 0, 0
        try:
            request = parse_request(body, max_request_bytes=self.max_request_bytes)
            request_id, n_calls = request.request_id, len(request.calls)
            component, mode = self._target(request.context)
            self._check_arity(request, component, mode)
            replies = [self._call(request, i, component, mode) for i in range(n_calls)]
            replies = self._fit_response(replies, component)
            n_errors = sum(1 for r in replies if r.startswith('{"error"'))
            status, payload = 200, replies_body(replies)
        except ContractError as err:
            status, payload = err.status, error_body(str(err))
        except TransientError as err:
            status, payload = 503, error_body(f"BigQuery is unavailable, retry: {err}")
        except Exception as err:  # a bug in terraplan, not in the request: 500, logged
            log.exception("request=%s failed outside any call", request_id)
            status, payload = 500, error_body(f"internal error in terraplan "
                                              f"({type(err).__name__}); request {request_id}")
        log.info("request=%s component=%s mode=%s calls=%d errors=%d status=%d bytes_in=%d "
                 "bytes_out=%d seconds=%.3f", request_id, component, mode, n_calls, n_errors,
                 status, len(body), len(payload), time.monotonic() - started)
        return status, payload

    def refuse_oversized(self, n_bytes: int) -> tuple[int, bytes]:
        """413 for a body whose announced length is over the limit (it is not read)."""
        log.info("request=? refused: body of %d bytes over %d", n_bytes, self.max_request_bytes)
        return 413, error_body(oversized_message(n_bytes, self.max_request_bytes))

    def _target(self, context: dict[str, str]) -> tuple[str, str]:
        name = context.get("component")
        if not name:
            raise ContractError("the remote function has no 'component' in its "
                                "user_defined_context; deploy it with 'terraplan deploy "
                                "bigquery' (e.g. user_defined_context = [(\"component\", "
                                "\"territory_balancing\"), (\"mode\", \"packed\")])")
        try:
            registry.get(name)
        except TerraplanError as err:
            raise ContractError(f"user_defined_context: {err}") from None
        mode = context.get("mode", "packed")
        if mode not in MODES:
            raise ContractError(f"user_defined_context: mode must be one of {', '.join(MODES)}; "
                                f"got {mode!r}")
        return name, mode

    @staticmethod
    def _check_arity(request: RemoteRequest, component: str, mode: str) -> None:
        spec = registry.get(component).spec
        names = [t.name for t in spec.inputs] + ["params"] if mode == "packed" else ["request"]
        for i, call in enumerate(request.calls):
            if len(call) != len(names):
                raise ContractError(
                    f"call {i} has {len(call)} argument(s); the {mode} function for "
                    f"'{component}' takes {len(names)} ({', '.join(names)}): the SQL function "
                    "does not match this service, redeploy it with 'terraplan deploy bigquery'")

    def _fit_response(self, replies: list[str], component: str) -> list[str]:
        """Replace any reply too large for BigQuery with an error; fail if the sum still is."""
        limit = self.max_response_bytes
        sizes = [len(json.dumps(r)) + 1 for r in replies]
        for i, size in enumerate(sizes):
            if size + _REPLY_OVERHEAD > limit:
                replies[i] = json.dumps({"error": (
                    f"the result of '{component}' is {size:,} bytes, over BigQuery's "
                    f"{limit:,}-byte response limit for remote functions; {TABLE_MODE_HINT}"),
                    "kind": REPLY_TOO_LARGE})
                sizes[i] = len(json.dumps(replies[i])) + 1
        total = sum(sizes) + _REPLY_OVERHEAD
        if total > limit:
            raise ContractError(
                f"the {len(replies)} replies of this batch total {total:,} bytes, over BigQuery's "
                f"{limit:,}-byte response limit; set max_batching_rows = 1 on the function "
                f"(terraplan deploy bigquery does) or {TABLE_MODE_HINT}")
        return replies

    # -- one call ---------------------------------------------------------------------------

    def _call(self, request: RemoteRequest, i: int, component: str, mode: str) -> str:
        user_errors, transient = _google_errors()
        size = request.call_bytes[i]
        if size > self.max_row_input_bytes:
            return json.dumps({"error": (
                f"the arguments of call {i} are {size:,} bytes, over BigQuery's "
                f"{self.max_row_input_bytes:,}-byte limit per row; {TABLE_MODE_HINT}")})
        args = request.calls[i]
        try:
            if mode == "packed":
                document = self._packed(component, args)
            else:
                document = self._tables(component, args[0], request.caller_project,
                                        f"{request.request_id}-{i}")
        except TerraplanError as err:
            document = error_document(err)
        except json.JSONDecodeError as err:
            document = {"error": f"an argument is not valid JSON ({err.msg} at position "
                                 f"{err.pos}); pass TO_JSON_STRING(...) of the table rows",
                        "kind": "input"}
        except RecursionError:
            document = {"error": "an argument is JSON nested too deeply to read; pass "
                                 "TO_JSON_STRING(...) of the table rows", "kind": "input"}
        except transient as err:
            raise TransientError(type(err).__name__) from err
        except user_errors as err:
            document = {"error": f"BigQuery: {getattr(err, 'message', None) or err}"}
        except Exception as err:  # a bug: answer readably, keep the traceback in the log
            log.exception("request=%s call=%d failed", request.request_id, i)
            document = {"error": f"internal error in terraplan ({type(err).__name__}: "
                                 f"{str(err)[:300]}); request {request.request_id}"}
        return json.dumps(document, separators=(",", ":"))

    def _capped(self, component: str, params: dict[str, Any]) -> tuple[dict[str, Any], list]:
        """``time_limit`` under the request timeout: a 504 is retried, rerunning the solve."""
        spec = registry.get(component).spec
        limit = next((p for p in spec.params if p.name == "time_limit"), None)
        if self.request_timeout is None or limit is None:
            return params, []
        cap = time_limit_cap(self.request_timeout)
        asked = params.get("time_limit", limit.default)
        if not isinstance(asked, (int, float)) or asked <= cap:
            return params, []  # a bad value is the component's to report
        note = (f"time_limit {asked} capped to {cap:g} s: the service's request timeout is "
                f"{self.request_timeout:g} s (terraplan deploy bigquery --max-units sets it)")
        return {**params, "time_limit": cap}, [note]

    def _packed(self, component: str, args: list[Any]) -> dict[str, Any]:
        *tables, params = args
        params, warnings = self._capped(component, parse_params(params))
        with highs.in_process():  # one solve per request: no forked children in Cloud Run
            result = run_packed(component, tables, params)
        document = result_document(result)
        document["schema"] = {name: table_schema(df) for name, df in result.tables.items()}
        if warnings:
            document["warnings"] = warnings
        return document

    def _client(self, project: str | None) -> Any:
        with self._lock:
            if project not in self._clients:
                self._clients[project] = self.client_factory(project)
            return self._clients[project]

    def _tables(self, component: str, payload: Any, caller_project: str | None,
                request_id: str | None = None) -> dict[str, Any]:
        from components.errors import InputError

        spec = registry.get(component).spec
        body = json.loads(payload) if isinstance(payload, (str, bytes)) else payload
        if not isinstance(body, dict):
            raise InputError("the tables-mode argument must be a JSON object with 'inputs', "
                             "'outputs' and 'params'", column="request")
        unknown = sorted(set(body) - {"inputs", "outputs", "params", "run_id"})
        if unknown:
            raise InputError(f"unknown key(s) {', '.join(unknown)} in the tables-mode request "
                             "(keys: inputs, outputs, params, run_id)", column=unknown[0])
        inputs, outputs = body.get("inputs") or {}, body.get("outputs") or {}
        if not isinstance(inputs, dict) or not isinstance(outputs, dict):
            raise InputError("'inputs' and 'outputs' must map table roles to table names",
                             column="inputs")
        in_names = [t.name for t in spec.inputs]
        out_names = [t.name for t in spec.outputs]
        for key, known, what in ((inputs, in_names, "input"), (outputs, out_names, "output")):
            extra = sorted(set(key) - set(known))
            if extra:
                raise InputError(f"'{component}' has no {what} table {extra[0]!r} "
                                 f"({what}s: {', '.join(known)})", column=extra[0])
        missing = [n for n in out_names if not outputs.get(n)]
        if missing or not inputs.get(in_names[0]):
            first = missing[0] if missing else in_names[0]
            raise InputError(f"'{component}' needs a table name for '{first}' (inputs: "
                             f"{', '.join(in_names)}; outputs: {', '.join(out_names)})",
                             column=first)
        out_ids = {n: parse_table_id(outputs[n], argument=f"outputs.{n}",
                                     default_project=caller_project) for n in out_names}
        project = out_ids[out_names[0]].project
        in_ids = {n: parse_table_id(inputs[n], argument=f"inputs.{n}", default_project=project)
                  for n in in_names if inputs.get(n)}
        params, warnings = self._capped(component, parse_params(body.get("params")))
        # a resend of the same request (same requestId, same call) is the same run
        run_id = body.get("run_id") or (f"bq-{request_id}" if request_id else new_run_id())
        if not isinstance(run_id, str) or len(run_id) > 128:
            raise InputError("'run_id' must be a string of at most 128 characters",
                             column="run_id")

        store = BigQueryTables(self._client(project))
        done = store.completed([out_ids[n] for n in out_names], run_id)
        if done is not None:  # BigQuery resent a request that already succeeded
            return {"run_id": run_id, "already_succeeded": True,
                    "outputs": {n: {"table": str(out_ids[n]), "rows": done[str(out_ids[n])]}
                                for n in out_names},
                    "report": {"status": "already_succeeded", "run_id": run_id}}
        # read, run, stage as every warehouse does (udfs.execute); the run-log row is
        # the SQL procedure's, written with the publish
        record = RunRecord(run_id=run_id, component=component, status="running",
                           started_at=utc_now())
        hooks = Hooks(read=lambda n: store.read(in_ids[n]), in_process=True,
                      stage=lambda result: store.write(
                          {out_ids[n]: result.tables[n] for n in out_names}, run_id))
        result, counts = execute_component(component, list(in_ids), params, record, hooks)
        return {"run_id": run_id,
                "outputs": {n: {"table": str(out_ids[n]), "rows": counts[str(out_ids[n])]}
                            for n in out_names},
                "report": jsonable(result.report), **({"warnings": warnings} if warnings else {})}


_HANDLER = RemoteFunctionHandler()


def current_handler() -> RemoteFunctionHandler:
    """The handler the HTTP entry point uses (one per process)."""
    return _HANDLER


def set_handler(handler: RemoteFunctionHandler) -> RemoteFunctionHandler:
    """Swap the process's handler (tests inject a client factory); returns the previous one."""
    global _HANDLER
    previous, _HANDLER = _HANDLER, handler
    return previous

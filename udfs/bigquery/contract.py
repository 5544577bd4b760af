"""BigQuery's remote-function contract: the request it sends, the answers it accepts.

BigQuery POSTs one JSON object per batch of rows::

    {"requestId": "...", "caller": "//bigquery.googleapis.com/projects/p/jobs/...",
     "sessionUser": "someone@example.com",
     "userDefinedContext": {"component": "territory_balancing", "mode": "packed"},
     "calls": [[arg, ...], [arg, ...], ...]}

and expects either ``{"replies": [reply, ...]}`` (HTTP 200, exactly one reply per
call, in order) or ``{"errorMessage": "..."}`` with a 4xx/5xx status, which fails
the whole query. BigQuery retries 408/429/500/503/504 and gives up at once on other
codes, so deterministic failures (a request that is not BigQuery's shape, a payload
over a limit) answer 400/413 and only transient ones 5xx.

Limits (BigQuery quotas, "Remote functions"): the arguments of one row may total at
most 5 MiB (5,242,880 bytes, measured exact), and the response body at most 15 MB
on Cloud Run (10 MB on Cloud Run functions 1st gen). ``userDefinedContext`` is a
map of strings of at most 8 KB.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

MAX_ROW_INPUT_BYTES = 5 * 1024 * 1024        # BigQuery: all arguments of one row
MAX_RESPONSE_BYTES = 15_000_000              # BigQuery: response from Cloud Run
# BigQuery batches rows up to ~256 KiB but always sends a single row whole, so no
# request it builds is much larger than one 5 MiB row; anything larger is refused
# before it is parsed.
MAX_REQUEST_BYTES = MAX_ROW_INPUT_BYTES + 1024 * 1024
MAX_CONTEXT_BYTES = 8 * 1024

MODES = ("packed", "tables")
TABLE_MODE_HINT = ("use table-reference mode: CALL the terraplan procedure (it estimates "
                   "the reply and re-runs an over-limit call in table mode) or call the "
                   "terraplan_<component>_tables remote function with table ids")
REPLY_TOO_LARGE = "reply_too_large"  # the "kind" the procedure switches to table mode on


class ContractError(Exception):
    """The whole batch fails: answered as ``{"errorMessage": ...}`` with ``status``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RemoteRequest:
    """A parsed BigQuery request; only what the handler needs (no user e-mail kept)."""

    request_id: str
    context: dict[str, str]
    calls: list[list[Any]]
    caller_project: str | None = None
    call_bytes: list[int] = field(default_factory=list)


def _caller_project(caller: Any) -> str | None:
    """``//bigquery.googleapis.com/projects/<p>/jobs/...`` -> ``<p>``."""
    if not isinstance(caller, str):
        return None
    parts = caller.split("/")
    if "projects" in parts:
        i = parts.index("projects")
        if i + 1 < len(parts) and parts[i + 1]:
            return parts[i + 1]
    return None


def _argument_bytes(value: Any) -> int:
    """Bytes of one argument as BigQuery counts them: the value, not its JSON escaping."""
    if isinstance(value, str):
        return len(value.encode())
    return len(json.dumps(value, separators=(",", ":")).encode())


def oversized_message(n_bytes: int, limit: int) -> str:
    return (f"request body is {n_bytes:,} bytes, over this service's limit of {limit:,} "
            f"(BigQuery sends at most {MAX_ROW_INPUT_BYTES:,} bytes of arguments per row); "
            f"{TABLE_MODE_HINT}")


def parse_request(body: bytes, *, max_request_bytes: int = MAX_REQUEST_BYTES) -> RemoteRequest:
    """Check that ``body`` is BigQuery's request shape; ContractError(400/413) if not."""
    if len(body) > max_request_bytes:
        raise ContractError(oversized_message(len(body), max_request_bytes), status=413)
    try:
        text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
    except UnicodeDecodeError as err:
        # The position only: the body may hold user data, it is not echoed.
        raise ContractError("request body is not UTF-8 text (BigQuery sends JSON in UTF-8; "
                            f"invalid byte at position {err.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ContractError("request body is not JSON (a BigQuery remote-function "
                            f"request is a JSON object; parse error at {err.pos})") from None
    except RecursionError:
        raise ContractError("request body is JSON nested too deeply to parse (BigQuery's "
                            "requests are an object of arrays of arguments)") from None
    if not isinstance(data, dict):
        raise ContractError("request body must be a JSON object with 'requestId' and 'calls' "
                            f"(BigQuery's remote-function request); got a {type(data).__name__}")
    missing = [k for k in ("requestId", "calls") if k not in data]
    if missing:
        raise ContractError(f"request is not a BigQuery remote-function request: missing "
                            f"{', '.join(repr(k) for k in missing)}")
    request_id = data["requestId"]
    if not isinstance(request_id, str):
        raise ContractError("'requestId' must be a string")
    for key in ("caller", "sessionUser"):
        if key in data and data[key] is not None and not isinstance(data[key], str):
            raise ContractError(f"'{key}' must be a string")
    calls = data["calls"]
    if not isinstance(calls, list) or not all(isinstance(c, list) for c in calls):
        raise ContractError("'calls' must be a JSON array with one array of arguments per row, "
                            "e.g. [[\"a\", 1], [\"b\", 2]]")
    context = data.get("userDefinedContext") or {}
    if not isinstance(context, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in context.items()):
        raise ContractError("'userDefinedContext' must be an object of string values, e.g. "
                            "{\"component\": \"territory_balancing\", \"mode\": \"packed\"}")
    if len(json.dumps(context).encode()) > MAX_CONTEXT_BYTES:
        raise ContractError(f"'userDefinedContext' is over BigQuery's {MAX_CONTEXT_BYTES:,} bytes")
    sizes = [sum(_argument_bytes(a) for a in c) for c in calls]
    return RemoteRequest(request_id=request_id, context=dict(context), calls=calls,
                         caller_project=_caller_project(data.get("caller")), call_bytes=sizes)


def replies_body(replies: list[Any]) -> bytes:
    return json.dumps({"replies": replies}, separators=(",", ":")).encode()


def error_body(message: str) -> bytes:
    return json.dumps({"errorMessage": message}).encode()

"""The functions-framework entry point of the BigQuery remote function (target ``terraplan``).

The Cloud Run container runs ``functions-framework --source udfs/bigquery/main.py
--target terraplan``; ``terraplan serve bigquery`` serves the same app locally.
"""

from __future__ import annotations

import functions_framework

from udfs.bigquery.contract import error_body
from udfs.bigquery.handler import current_handler

_JSON = {"Content-Type": "application/json"}


@functions_framework.http
def terraplan(request):  # a flask.Request, as functions-framework passes it
    if request.method != "POST":
        return (error_body("BigQuery remote functions are called with POST and a JSON body"),
                405, {**_JSON, "Allow": "POST"})
    handler = current_handler()
    limit = handler.max_request_bytes
    if request.content_length is not None and request.content_length > limit:
        # Refused from the header alone: the body is never read into memory.
        status, payload = handler.refuse_oversized(request.content_length)
        return payload, status, _JSON
    body = request.stream.read(limit + 1)
    status, payload = handler.handle(body)
    return payload, status, _JSON

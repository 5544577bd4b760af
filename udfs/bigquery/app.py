"""The HTTP app exactly as the Cloud Run container serves it, and a local server for it."""

from __future__ import annotations

from pathlib import Path

MAIN = Path(__file__).resolve().parent / "main.py"
TARGET = "terraplan"


def create_app():  # -> flask.Flask
    """functions-framework's app for ``main.py:terraplan``, as ``functions-framework`` builds it."""
    import functions_framework

    return functions_framework.create_app(target=TARGET, source=str(MAIN), signature_type="http")


def serve(host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve until interrupted, with functions-framework's production server (gunicorn)."""
    from functions_framework._http import create_server

    create_server(create_app(), debug=False).run(host, port)

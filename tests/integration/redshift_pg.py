"""A local stand-in for Redshift: a throwaway PostgreSQL server with Redshift's missing
functions defined, on which the deployed procedures run for real.

Redshift's PL/pgSQL is PostgreSQL's, and the procedures in :mod:`udfs.redshift.plpgsql`
are written to the part both share. What PostgreSQL lacks is defined here, each as the
Redshift documentation describes it: ``GETDATE()``, ``LISTAGG(expr, delimiter)``,
``JSON_EXTRACT_PATH_TEXT``, ``JSON_EXTRACT_ARRAY_ELEMENT_TEXT`` and ``JSON_ARRAY_LENGTH``
on text, the ``SVV_COLUMNS`` view. The Lambda external function ``f_<component>`` is a
PL/Python function doing what Redshift does: it posts an event of Redshift's shape to
the Lambda handler (served on 127.0.0.1 by :class:`LambdaService`) and unpacks the reply
(``success``/``results``/``error_msg``), with Redshift's 65,535-byte ``VARCHAR`` limit
on every argument and result. So everything but the transport is the real code: the
deploy statements, the procedures, the Lambda handler, the solver.

The server listens on a Unix socket only (no TCP) and runs as the ``postgres`` user
when the tests run as root. Needs Debian's ``postgresql`` and ``postgresql-plpython3-*``
packages (``make test`` installs them best effort) and psycopg.
"""

from __future__ import annotations

import glob
import http.server
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

from components import registry

SHIM = r"""
CREATE FUNCTION public.getdate() RETURNS timestamp LANGUAGE sql VOLATILE
  AS $$ SELECT clock_timestamp()::timestamp $$;
CREATE FUNCTION public.terraplan_listagg_step(acc text, v text, sep text) RETURNS text
  LANGUAGE sql IMMUTABLE
  AS $$ SELECT CASE WHEN v IS NULL THEN acc WHEN acc IS NULL THEN v ELSE acc || sep || v END $$;
CREATE AGGREGATE public.listagg(text, text) (SFUNC = public.terraplan_listagg_step, STYPE = text);
-- Redshift: a missing path gives '' (a JSON null gives NULL)
CREATE FUNCTION public.json_extract_path_text(doc text, VARIADIC path text[]) RETURNS text
  LANGUAGE sql IMMUTABLE
  AS $$ SELECT CASE WHEN (doc::json #> path) IS NULL THEN '' ELSE doc::json #>> path END $$;
CREATE FUNCTION public.json_extract_array_element_text(doc text, pos integer) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$ SELECT COALESCE(doc::json ->> pos, '') $$;
CREATE FUNCTION public.json_array_length(doc text) RETURNS integer
  LANGUAGE sql IMMUTABLE AS $$ SELECT pg_catalog.json_array_length(doc::json) $$;
CREATE VIEW public.svv_columns AS
  SELECT table_schema::varchar AS table_schema, table_name::varchar AS table_name,
         column_name::varchar AS column_name, ordinal_position, data_type::varchar AS data_type
  FROM information_schema.columns;
"""

EXTERNAL_FUNCTION = r"""
CREATE OR REPLACE FUNCTION {name}({args}) RETURNS varchar LANGUAGE plpython3u AS $py$
import json, urllib.request
row = list(args)
for value in row:
    if value is not None and len(value.encode()) > 65535:
        plpy.error("value too long for type character varying(65535)")
event = {{"request_id": "local", "cluster": "arn:aws:redshift:local:0:cluster:pg",
         "user": "postgres", "database": "postgres", "external_function": {qualified!r},
         "query_id": 1, "num_records": 1, "arguments": [row]}}
request = urllib.request.Request({url!r}, data=json.dumps(event).encode(),
                                 headers={{"Content-Type": "application/json"}})
with urllib.request.urlopen(request, timeout=900) as response:
    reply = json.loads(json.loads(response.read()))
if not reply["success"]:
    plpy.error("Lambda UDF failed: " + reply["error_msg"])
result = reply["results"][0]
if result is not None and len(result.encode()) > 65535:
    plpy.error("Lambda UDF result is longer than 65535 bytes")
return result
$py$
"""


class LambdaService:
    """The Lambda function on 127.0.0.1: each POST body is an invocation event, answered
    by ``udfs.redshift.handler.lambda_handler`` exactly as Lambda returns it (a JSON
    string). The server runs in the test process, so PostgreSQL's PL/Python needs only
    its standard library and no access to this checkout or its venv."""

    def __init__(self) -> None:
        from udfs.redshift.handler import lambda_handler

        class Invoke(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                reply = json.dumps(lambda_handler(body.decode())).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Invoke)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/invoke"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server with PL/Python 3 installed, or None."""
    for lib in sorted(glob.glob("/usr/lib/postgresql/*/lib/plpython3.so"), reverse=True):
        bindir = Path(lib).parents[1] / "bin"
        if (bindir / "initdb").exists():
            return bindir
    return None


def missing() -> str | None:
    """Why the stand-in cannot run here, or None."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[dev]')"
    if postgres_bin() is None:
        return ("PostgreSQL with PL/Python 3 is not installed (apt-get install postgresql "
                "postgresql-plpython3-15; make test does it)")
    return None


class RedshiftStandIn:
    """One PostgreSQL server in ``workdir``; :meth:`connect` opens an autocommit session."""

    def __init__(self, workdir: Path) -> None:
        self.bindir = postgres_bin()
        assert self.bindir is not None, missing()
        self.dir = workdir
        self.port = 55000 + os.getpid() % 5000
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        data = workdir / "data"
        workdir.mkdir(parents=True, exist_ok=True)
        if self.as_user:
            shutil.chown(workdir, "postgres")
        self._run([str(self.bindir / "initdb"), "-D", str(data), "-A", "trust",
                   "-U", "postgres", "--no-sync"])
        self._run([str(self.bindir / "pg_ctl"), "-D", str(data), "-l", str(workdir / "log"),
                   "-w", "-o", f"-k {workdir} -p {self.port} -c listen_addresses='' "
                   "-c fsync=off", "start"])
        self.data = data

    def _run(self, argv: list[str]) -> None:
        done = subprocess.run([*self.as_user, *argv], capture_output=True, text=True,
                              timeout=120, check=False)
        if done.returncode:
            raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): "
                               f"{done.stderr.strip() or done.stdout.strip()}")

    def connect(self):
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                return psycopg.connect(host=str(self.dir), port=self.port, user="postgres",
                                       dbname="postgres", autocommit=True)
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def install(self, con, lambda_url: str, schema: str = "terraplan") -> None:
        """Redshift's functions, then ``f_<component>`` for every component, invoking the
        Lambda service at ``lambda_url``."""
        with con.cursor() as cur:
            cur.execute(SHIM)
            cur.execute("CREATE EXTENSION IF NOT EXISTS plpython3u")
            cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            for name in registry.components():
                n = len(registry.get(name).spec.inputs) + 1
                cur.execute(EXTERNAL_FUNCTION.format(
                    name=f'"{schema}"."f_{name}"', args=", ".join(["varchar"] * n),
                    url=lambda_url, qualified=f"{schema}.f_{name}"))

    def stop(self) -> None:
        subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data),
                        "-m", "immediate", "stop"], capture_output=True, timeout=60,
                       check=False)

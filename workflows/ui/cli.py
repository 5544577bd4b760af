"""``terraplan ui``: the planner in the browser."""

from __future__ import annotations

import argparse

from components.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    ui = sub.add_parser(
        "ui", help="the planner in the browser: map, live balance, edit, re-optimise, compare",
        description="Serve the planner over a workflow's published tables (--database) or a "
                    "`terraplan balance` output folder (--results with --units). Binds "
                    "127.0.0.1; any other --host needs --token.")
    src = ui.add_mutually_exclusive_group()
    src.add_argument("--database", metavar="FILE",
                     help="the database file of a workflow run (default: "
                          "out/terraplan.duckdb)")
    src.add_argument("--results", metavar="DIR", help="a `terraplan balance --out` folder")
    ui.add_argument("--units", metavar="TABLE|FILE",
                    help="unit table (with --database: a table name, found from the run's "
                         "columns when omitted; with --results: the balance INPUT file)")
    ui.add_argument("--edges", metavar="TABLE|FILE", help="unit adjacency from_id,to_id")
    ui.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    ui.add_argument("--port", type=int, default=8765, metavar="N",
                    help="port (default: 8765; 0 picks a free one)")
    ui.add_argument("--token", metavar="SECRET",
                    help="required on every API call; needed when --host is not loopback "
                         "('auto' makes one)")
    ui.add_argument("--basemap", metavar="URL",
                    help="optional XYZ tile URL template ({z}/{x}/{y}); default: no tiles")
    ui.add_argument("--verbose", action="store_true", help="log every request")
    ui.set_defaults(handler=run_ui)


def run_ui(args: argparse.Namespace) -> int:
    from workflows.ui.load import from_database, from_results
    from workflows.ui.server import PlannerServer, new_token

    if not (0 <= args.port <= 65535):
        raise InputError(f"--port must be from 0 to 65535; got {args.port}", column="--port")
    if args.results:
        ws = from_results(args.results, units=args.units, edges=args.edges)
    else:
        ws = from_database(args.database or "out/terraplan.duckdb", units=args.units,
                           edges=args.edges)
    token = new_token() if args.token == "auto" else args.token
    try:
        server = PlannerServer(ws, args.host, args.port, token=token, basemap=args.basemap,
                               quiet=not args.verbose)
    except OSError as err:
        raise InputError(f"cannot listen on {args.host}:{args.port} ({err.strerror}); pick "
                         "another --port", column="--port") from None
    print(f"planner: {len(ws.ids)} units, {len(set(ws.scenarios['current'].assignment))} "
          f"territories from {ws.source}", flush=True)
    print(f"planner: open {server.url}  (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0

"""The ``terraplan`` command line.

Component subcommands (``balance``...) are generated from the component specs:
each parameter becomes an option with its type, range, choices and default, so
the CLI, the workflow schema and the SQL signatures cannot drift apart.

Exit status: 0 success; 2 bad input or usage (message names the column or
option and the fix, no traceback); 3 infeasible request, or a workflow answer that
misses a bound (``tolerance_not_met``) without ``--accept-infeasible``; 4 the
database stayed locked by another process for ``--wait`` seconds; 130/143
interrupted by SIGINT/SIGTERM; 1 anything else.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import pkgutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from components.errors import InfeasibleError, InputError, TerraplanError
from components.result import jsonable
from components.spec import ComponentSpec, Param
from workflows.summary import summary_text

EXIT_INPUT, EXIT_INFEASIBLE, EXIT_OTHER, EXIT_LOCKED = 2, 3, 1, 4


def _add_param(parser: argparse.ArgumentParser, p: Param) -> None:
    default = "" if p.required or p.default is None else f" (default: {p.default})"
    rng = "" if p.type in ("str", "bool", "list[str]") and not p.choices else \
        f" [{p.describe_range()}]"
    help_text = f"{p.help}{rng}{default}".replace("%", "%%")
    kwargs: dict[str, Any] = {"dest": p.name, "help": help_text, "default": None}
    if p.metavar:
        kwargs["metavar"] = p.metavar
    if p.type == "bool":
        kwargs.pop("metavar", None)
        parser.add_argument(p.flag, action=argparse.BooleanOptionalAction, **kwargs)
        return
    if p.type == "list[str]":
        kwargs["action"] = "append"
    elif p.choices:
        kwargs["choices"] = p.choices
    if p.required:
        kwargs["required"] = True
    parser.add_argument(p.flag, **kwargs)


def add_component_command(sub: argparse._SubParsersAction, command: str,
                          spec: ComponentSpec) -> None:
    first, *others = spec.inputs
    epilog = "example:\n  " + "\n  ".join(spec.examples) if spec.examples else None
    parser = sub.add_parser(command, help=spec.title.lower(), description=spec.summary,
                            epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", metavar="INPUT",
                        help=f"{first.help}: a .csv or .parquet file or duckdb:FILE::TABLE")
    for table in others:
        parser.add_argument(f"--{table.name}", metavar="FILE", default=None,
                            help=f"{table.help} (.csv, .parquet or duckdb:FILE::TABLE)")
    for p in spec.params:
        _add_param(parser, p)
    if spec.cli_out == "file":
        parser.add_argument("--out", metavar="FILE", required=True,
                            help=f"output file for the {spec.outputs[0].name} table (.csv or "
                                 ".parquet); the report goes next to it as <name>.report.json")
    else:
        parser.add_argument("--out", metavar="DIR", required=True,
                            help="output folder: " + ", ".join(f"{t.name}.csv"
                                                              for t in spec.outputs)
                            + ", report.json")
    if spec.cli_map:
        parser.add_argument("--map", metavar="FILE",
                            help="also write a self-contained HTML map of the result (hover "
                                 "details, centers, balance chart, moved units; no network)")
    if _takes_progress(spec.name):
        parser.add_argument("--quiet", action="store_true",
                            help="no progress lines on stderr")
    parser.set_defaults(handler=_run_component, component=spec.name)


def _takes_progress(name: str) -> bool:
    """Does the component's entry point take a ``progress`` callback (a line per phase)?"""
    import inspect

    from components import registry

    return "progress" in inspect.signature(registry.get(name).run).parameters


def _run_component(args: argparse.Namespace) -> int:
    from components import registry
    from workflows.io import read_input, text_columns, write_output_file, write_outputs

    component = registry.get(args.component)
    spec = component.spec
    params = {p.name: getattr(args, p.name) for p in spec.params
              if getattr(args, p.name) is not None}
    text_cols = text_columns(params)  # ids, current, region, locked...: kept as text
    main = read_input(args.input, id_columns=text_cols)
    extra_inputs: dict[str, Any] = {
        t.name: read_input(getattr(args, t.name), id_columns=text_cols)
        for t in spec.inputs[1:] if getattr(args, t.name)}
    if _takes_progress(args.component) and not args.quiet:
        extra_inputs["progress"] = lambda line: print(line, file=sys.stderr, flush=True)
    started = time.monotonic()
    result = component.run(main, **extra_inputs, **params)
    report = jsonable({**result.report, "wall_seconds": time.monotonic() - started})
    print(summary_text(report))
    page = _map_page(args, result, report, params, main, extra_inputs) \
        if getattr(args, "map", None) else None  # rendered before any output is written
    if spec.cli_out == "file":
        table_name = spec.outputs[0].name
        report_path = write_output_file(args.out, result.tables[table_name], report)
        print(f"wrote {args.out} ({len(result.tables[table_name])} rows) and {report_path}")
    else:
        write_outputs(args.out, result.tables, report)
        print(f"wrote {', '.join(f'{n}.csv' for n in result.tables)}, report.json to "
              f"{args.out}")
    if page is not None:
        from components.report import write_html

        write_html(args.map, page)
        print(f"wrote map {args.map}")
    return 0


def _map_page(args: argparse.Namespace, result: Any, report: dict[str, Any],
              params: dict[str, Any], main: Any, extra: dict[str, Any]) -> str:
    import pandas as pd

    from components.report import render_map, result_map_inputs

    tables = {k: v for k, v in extra.items() if isinstance(v, pd.DataFrame)}
    kwargs = result_map_inputs(args.component, main, result.tables, report, params, tables)
    kwargs["title"] = f"{Path(args.input).stem}: {kwargs['title']}"
    return render_map(**kwargs)


def _run_workflow(args: argparse.Namespace) -> int:
    from workflows.runner import run_workflow

    if args.warehouse != "duckdb":
        from workflows.compile import Location
        from workflows.remote import run_in_warehouse

        loc = Location(database=args.sf_database, schema=args.sf_schema, project=args.project,
                       dataset=args.dataset)
        steps = run_in_warehouse(args.workflow, args.warehouse, location=loc,
                                 connection=args.connection)
        print(f"workflow finished in {args.warehouse}: {steps} step(s)")
        return 0

    summary = run_workflow(args.workflow, database=args.database, out=args.out,
                           echo=print, fresh=args.fresh, wait=args.wait)
    if summary.scenarios is not None:
        print("scenarios:")
        print(summary.scenarios.to_string(index=False))
    what = (f"run {summary.run_id} published" if summary.published else
            f"run {summary.run_id} not published; run {summary.kept_run} stays current")
    print(f"workflow '{summary.workflow}' finished: {len(summary.steps)} step(s), {what}, "
          f"{summary.seconds:.2f}s")
    if summary.infeasible and not args.accept_infeasible:
        kept = "it was published (on_infeasible: publish)" if summary.published else \
            f"run {summary.kept_run} was kept as current (on_infeasible: keep_previous)"
        print(f"terraplan: infeasible: {'; '.join(summary.infeasible)}: {kept}; pass "
              "--accept-infeasible to exit 0 anyway", file=sys.stderr)
        return EXIT_INFEASIBLE
    return 0


def _warehouse(args: argparse.Namespace, *, read_only: bool = True):
    from udfs.duckdb import DuckDBWarehouse

    if not Path(args.database).is_file():
        raise InputError(f"DuckDB file '{args.database}' not found; run a workflow first or "
                         "pass --database", column="--database")
    return DuckDBWarehouse.open(args.database, read_only=read_only, wait=args.wait,
                                say=lambda m: print(m, file=sys.stderr))


def _history(args: argparse.Namespace) -> int:
    from workflows.history import list_runs

    wh = _warehouse(args)
    try:
        runs = list_runs(wh, args.workflow)
    finally:
        wh.close()
    if runs.empty:
        print("no runs recorded")
        return 0
    with pd_options():
        print(runs.tail(args.limit).to_string(index=False))
    return 0


def _diff(args: argparse.Namespace) -> int:
    from workflows.history import diff_runs

    wh = _warehouse(args)
    try:
        diff = diff_runs(wh, args.run_a, args.run_b, args.output, step=args.step)
    finally:
        wh.close()
    s = diff.summary
    kind = "moved" if s["flows"] or "moved" in s else "changed"
    print(f"{s['step']}.{s['output']} ({s['table']}): {s['units']} rows; {kind} "
          f"{s.get(kind, 0)}, added {s.get('added', 0)}, removed {s.get('removed', 0)}")
    for flow in s["flows"]:
        print(f"  {flow['from']} -> {flow['to']}: {flow['units']} unit(s)")
    if args.out:
        from workflows.io import write_csv

        write_csv(args.out, diff.changes)
        print(f"wrote {len(diff.changes)} changed unit(s) to {args.out}")
    elif not diff.changes.empty:
        with pd_options():
            print(diff.changes.head(args.limit).to_string(index=False))
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from workflows.history import rollback

    wh = _warehouse(args, read_only=False)
    try:
        tables = rollback(wh, args.run, say=print)
    finally:
        wh.close()
    print(f"restored {', '.join(tables)} to run {args.run}")
    return 0


def _watch(args: argparse.Namespace) -> int:
    from workflows.watch import watch

    runs = watch(args.workflow, database=args.database, interval=args.interval,
                 max_polls=args.max_polls, echo=print, wait=args.wait)
    print(f"watch stopped after {len(runs)} run(s)")
    return 0


def pd_options():
    import pandas as pd

    return pd.option_context("display.width", 160, "display.max_columns", 20)


def build_parser() -> argparse.ArgumentParser:
    from components import __version__, registry

    parser = argparse.ArgumentParser(
        prog="terraplan",
        description="Territory planning next to your data: balanced, contiguous territories "
                    "and location allocation, on DuckDB, Snowflake or BigQuery.",
        epilog="Run 'terraplan COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"terraplan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    first = ("balance", "locate", "costs", "adjacency")  # the main jobs first in --help
    commands = sorted(((name, c.spec) for c in registry.components().values()
                       if (name := c.spec.command)),
                      key=lambda pair: (first.index(pair[0]) if pair[0] in first
                                        else len(first), pair[0]))
    for name, spec in commands:
        add_component_command(sub, name, spec)
    run = sub.add_parser("run", help="run a workflow YAML (DuckDB by default)",
                         description="Run every step of a workflow. On the embedded DuckDB "
                                     "warehouse (default) outputs are published atomically and "
                                     "every run is recorded in terraplan_runs; with --warehouse "
                                     "snowflake|bigquery the workflow is compiled to calls of "
                                     "the deployed procedures and run through your own "
                                     "connection settings.")
    run.add_argument("workflow", metavar="WORKFLOW", help="workflow YAML file")
    run.add_argument("--warehouse", choices=("duckdb", "snowflake", "bigquery"),
                     default="duckdb", help="where to run (default: duckdb)")
    run.add_argument("--connection", metavar="NAME",
                     help="snowflake: connection name in connections.toml")
    run.add_argument("--sf-database", metavar="DB", help="snowflake: database of the "
                                                         "terraplan procedures")
    run.add_argument("--sf-schema", metavar="S", help="snowflake: their schema (TERRAPLAN)")
    run.add_argument("--project", metavar="P", help="bigquery: project of the procedures")
    run.add_argument("--dataset", metavar="D", help="bigquery: their dataset (terraplan)")
    run.add_argument("--database", metavar="FILE",
                     help="DuckDB file (default: the workflow's 'database')")
    run.add_argument("--out", metavar="DIR",
                     help="folder for CSV exports, report.json and the map "
                          "(default: the workflow's 'exports.dir')")
    run.add_argument("--fresh", action="store_true",
                     help="ignore the workflow's rebalance block: a new alignment from scratch")
    run.add_argument("--accept-infeasible", action="store_true",
                     help="exit 0 even when a step's answer misses a bound "
                          "(tolerance_not_met); what was published or kept is still reported")
    _add_wait(run)
    run.set_defaults(handler=_run_workflow)

    db_help = "DuckDB file holding the run log and history (default: out/terraplan.duckdb)"
    hist = sub.add_parser("history", help="list recorded runs",
                          description="Every step run recorded in terraplan_runs: run id, "
                                      "trigger, status, objective, gap, moved units.")
    hist.add_argument("--database", default="out/terraplan.duckdb", metavar="FILE", help=db_help)
    hist.add_argument("--workflow", metavar="NAME", help="only this workflow's runs")
    hist.add_argument("--limit", type=int, default=50, metavar="N", help="newest N rows")
    _add_wait(hist)
    hist.set_defaults(handler=_history)

    diff = sub.add_parser("diff", help="what changed between two runs",
                          description="Units whose territory (or facility) differs between "
                                      "two runs, with the flows between territories.")
    diff.add_argument("run_a", metavar="RUN_A")
    diff.add_argument("run_b", metavar="RUN_B")
    diff.add_argument("--output", default="assignments", metavar="KEY",
                      help="which output to compare: an output key or table name "
                           "(default: assignments)")
    diff.add_argument("--step", metavar="NAME",
                      help="the step whose output to compare (needed when several have it)")
    _add_wait(diff)
    diff.add_argument("--database", default="out/terraplan.duckdb", metavar="FILE", help=db_help)
    diff.add_argument("--out", metavar="FILE", help="write every changed unit to a CSV file")
    diff.add_argument("--limit", type=int, default=30, metavar="N", help="rows to print")
    diff.set_defaults(handler=_diff)

    back = sub.add_parser("rollback", help="make an earlier run's outputs current again",
                          description="Copies the outputs of RUN back from their history "
                                      "tables, atomically; recorded as a run itself.")
    back.add_argument("run", metavar="RUN")
    back.add_argument("--database", default="out/terraplan.duckdb", metavar="FILE", help=db_help)
    _add_wait(back)
    back.set_defaults(handler=_rollback)

    watch = sub.add_parser("watch", help="rerun a workflow when its source data changes",
                           description="Polls the workflow's schedule.on_change sources (all "
                                       "sources if none are named) and reruns it on a change; "
                                       "with a rebalance block the rerun keeps disruption low.")
    watch.add_argument("workflow", metavar="WORKFLOW")
    watch.add_argument("--database", metavar="FILE", help="DuckDB file (default: the "
                                                          "workflow's 'database')")
    watch.add_argument("--interval", type=float, default=60.0, metavar="S",
                       help="seconds between checks (default: 60)")
    watch.add_argument("--max-polls", type=int, default=None, metavar="N",
                       help="stop after N checks (default: run until interrupted)")
    _add_wait(watch)
    watch.set_defaults(handler=_watch)

    from workflows.ui.cli import register as register_ui  # terraplan ui: the planner

    register_ui(sub)

    groups: dict[str, argparse._SubParsersAction] = {}
    from workflows import schedule  # compile / schedule: workflows to warehouse SQL

    schedule.register(sub, groups)
    _add_adapter_commands(sub, groups)
    return parser


def _add_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", type=float, default=30.0, metavar="S",
                        help="seconds to wait while another process holds the database "
                             "(default: 30)")


def _add_adapter_commands(sub: argparse._SubParsersAction,
                          groups: dict[str, argparse._SubParsersAction]) -> None:
    """Warehouse adapters add their own commands (deploy, serve...) from ``udfs/<name>/cli.py``.

    Each such module exposes ``register(subparsers)``; commands shared by several
    adapters (``deploy snowflake``, ``deploy bigquery``) go under one parent parser.
    """
    import udfs

    for info in sorted(pkgutil.iter_modules(udfs.__path__), key=lambda i: i.name):
        if info.ispkg and importlib.util.find_spec(f"udfs.{info.name}.cli") is not None:
            module = importlib.import_module(f"udfs.{info.name}.cli")
            module.register(sub, groups)


def main(argv: Sequence[str] | None = None) -> int:
    from udfs.duckdb import DatabaseLockedError
    from workflows.runner import RunInterrupted

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except InputError as err:
        print(f"terraplan: error: {err}", file=sys.stderr)
        return EXIT_INPUT
    except InfeasibleError as err:
        print(f"terraplan: infeasible: {err}", file=sys.stderr)
        return EXIT_INFEASIBLE
    except DatabaseLockedError as err:
        print(f"terraplan: locked: {err}", file=sys.stderr)
        return EXIT_LOCKED
    except RunInterrupted as err:
        print(f"terraplan: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("terraplan: interrupted (SIGINT): nothing was written", file=sys.stderr)
        return 130
    except TerraplanError as err:
        print(f"terraplan: failed: {err}", file=sys.stderr)
        return EXIT_OTHER
    except Exception as err:
        import duckdb

        if not isinstance(err, MemoryError | duckdb.OutOfMemoryException):
            raise
        print("terraplan: failed: out of memory: use fewer units (aggregate to larger SCUs), "
              "fewer candidates, or a machine with more memory", file=sys.stderr)
        return EXIT_OTHER


if __name__ == "__main__":
    sys.exit(main())

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
from udfs.base import warehouse_names
from workflows.commands import register_workflow_commands
from workflows.io import TABLE_SCHEME
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
                        help=f"{first.help}: a .csv or .parquet file or "
                             f"{TABLE_SCHEME}FILE::TABLE")
    for table in others:
        parser.add_argument(f"--{table.name}", metavar="FILE", default=None,
                            help=f"{table.help} (.csv, .parquet or {TABLE_SCHEME}FILE::TABLE)")
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


def build_parser() -> argparse.ArgumentParser:
    from components import __version__, registry

    parser = argparse.ArgumentParser(
        prog="terraplan",
        description="Territory planning next to your data: balanced, contiguous territories "
                    f"and location allocation, in {', '.join(warehouse_names())}.",
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
    register_workflow_commands(sub)

    from workflows.ui.cli import register as register_ui  # terraplan ui: the planner

    register_ui(sub)

    groups: dict[str, argparse._SubParsersAction] = {}
    from workflows import schedule  # compile / schedule: workflows to warehouse SQL

    schedule.register(sub, groups)
    _add_adapter_commands(sub, groups)
    return parser


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

"""``terraplan compile`` and ``terraplan schedule``: a workflow for a warehouse's own runner.

``terraplan schedule WORKFLOW --warehouse W [--dry-run]`` turns the workflow's
``schedule`` block (``cron``, ``timezone``, ``on_change``; see :mod:`workflows.cron`)
into the warehouse's scheduler objects. ``cron`` and ``on_change`` together mean "at the
cron times, run if a source changed"; ``cron`` alone "at the cron times"; ``on_change``
alone "when a source changes".

Each warehouse adapter builds its own objects (``udfs/<warehouse>/``: a task graph with
streams, a scheduled query, a job bundle, an EventBridge schedule); an adapter without a
scheduler of its own runs on the local runner from crontab (:mod:`workflows.crontab`).
Both commands take every adapter's options (:mod:`udfs.options`), so this module names
no warehouse.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from udfs.base import adapter, adapters
from udfs.options import CliOption, options_of
from workflows.compile import (
    WAREHOUSES,
    Location,
    as_workflow,
    check_warehouse,
    compile_workflow,
)
from workflows.cron import Schedule, workflow_schedule
from workflows.crontab import crontab_block, install_crontab
from workflows.spec import Workflow

__all__ = ["Schedule", "crontab_block", "register", "schedule_objects", "workflow_schedule"]

LOCATION_FIELDS = tuple(f.name for f in fields(Location))


def schedule_objects(workflow: Workflow | str | Path, warehouse: str, *, dry_run: bool = True,
                     command: str = "terraplan", workdir: str | Path | None = None,
                     echo: Callable[[str], None] = print, **options: Any) -> str:
    """The warehouse's scheduler objects for a workflow (see the module docstring).

    ``options`` are :class:`Location` fields and the adapter's own options. Returns the
    text ``--dry-run`` prints; without ``dry_run`` the objects are also created (the
    crontab block installed).
    """
    wf = as_workflow(workflow)
    check_warehouse(warehouse)
    sched = workflow_schedule(wf)
    loc = Location(**{k: options.pop(k) for k in LOCATION_FIELDS if k in options})
    own = adapter(warehouse).schedule(wf, sched, loc, dry_run=dry_run, echo=echo, **options)
    if own is not None:
        return own
    block = crontab_block(wf, sched, command, workdir)
    if not dry_run:
        install_crontab(block)
        echo(f"installed the crontab entry for workflow {wf.name!r} (crontab -l shows it)")
    return block


# -- CLI --------------------------------------------------------------------------------------

def _adapter_args(parser: argparse.ArgumentParser, command: str) -> list[str]:
    """Every adapter's options for ``command``, one argument per flag with each adapter's
    help; returns their destinations."""
    by_flag: dict[str, list[tuple[str, CliOption]]] = {}
    for name, a in adapters().items():
        for option in options_of(a, command):
            by_flag.setdefault(option.flag, []).append((name, option))
    group = parser.add_argument_group("warehouse options (each says which warehouse reads it)")
    for flag, uses in by_flag.items():
        first = uses[0][1]
        help_text = "; ".join(f"{name}: {o.help}" for name, o in uses).replace("%", "%%")
        group.add_argument(flag, dest=first.dest, metavar=first.metavar,
                           default=first.default, help=help_text)
    return [uses[0][1].dest for uses in by_flag.values()]


def register(sub: argparse._SubParsersAction, groups: dict | None = None) -> None:
    """Add ``terraplan compile`` and ``terraplan schedule`` to the CLI."""
    p = sub.add_parser(
        "compile", help="a workflow as one SQL script for a warehouse",
        description="Print (or write) the SQL script that runs the workflow's steps in order "
                    "inside the warehouse, calling what 'terraplan deploy' installed.")
    p.add_argument("workflow", metavar="WORKFLOW", help="workflow YAML file")
    p.add_argument("--warehouse", choices=WAREHOUSES,
                   help="target warehouse (default: the workflow's 'warehouse')")
    p.add_argument("--out", metavar="FILE", help="write the script to FILE instead of stdout")
    p.set_defaults(handler=_compile_command, options=_adapter_args(p, "compile"))

    s = sub.add_parser(
        "schedule", help="schedule and data-refresh triggers in the warehouse",
        description="Create (or with --dry-run print) the scheduler objects for the "
                    "workflow's 'schedule' block in the warehouse's own scheduler (crontab "
                    "lines for the local runner).")
    s.add_argument("workflow", metavar="WORKFLOW", help="workflow YAML file")
    s.add_argument("--warehouse", choices=WAREHOUSES,
                   help="target warehouse (default: the workflow's 'warehouse')")
    s.add_argument("--dry-run", action="store_true", help="print the objects; change nothing")
    s.add_argument("--command", default="terraplan",
                   help="local runner (crontab): the terraplan executable cron runs (default: "
                        "terraplan; cron's PATH is short, so an absolute path is safer)")
    s.set_defaults(handler=_schedule_command, options=_adapter_args(s, "schedule"))


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {k: getattr(args, k) for k in args.options}


def _compile_command(args: argparse.Namespace) -> int:
    wf = as_workflow(args.workflow)
    where = {k: v for k, v in _options(args).items() if k in LOCATION_FIELDS}
    text = compile_workflow(wf, args.warehouse or wf.warehouse, **where)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out} ({len(wf.steps)} step(s), {args.warehouse or wf.warehouse})")
    else:
        print(text, end="")
    return 0


def _schedule_command(args: argparse.Namespace) -> int:
    wf = as_workflow(args.workflow)
    text = schedule_objects(wf, args.warehouse or wf.warehouse, dry_run=args.dry_run,
                            command=args.command, **_options(args))
    if args.dry_run:
        print(text, end="")
    return 0

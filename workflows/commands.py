"""The workflow commands of the ``terraplan`` CLI: run, history, diff, rollback, watch.

``run`` runs on the local runner (the embedded warehouse: outputs published
atomically, history kept) or, with ``--warehouse``, as compiled calls through a
warehouse adapter's executor (:mod:`workflows.remote`). history, diff and rollback
read the local runner's database.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from components.errors import InputError
from udfs.base import adapter, warehouse_names
from udfs.options import options_of
from workflows.compile import Location
from workflows.remote import remote_warehouses, run_in_warehouse
from workflows.schedule import LOCATION_FIELDS

EXIT_INFEASIBLE = 3
LOCAL_RUNNER = warehouse_names()[0]  # the embedded default: the adapters list it first
DEFAULT_DATABASE = "out/terraplan.duckdb"


def register_workflow_commands(sub: argparse._SubParsersAction) -> None:
    local, remote = LOCAL_RUNNER, remote_warehouses()
    run = sub.add_parser("run", help=f"run a workflow YAML (on {local} by default)",
                         description=f"Run every step of a workflow. On the embedded {local} "
                                     "warehouse (default) outputs are published atomically and "
                                     "every run is recorded in terraplan_runs; with --warehouse "
                                     f"{'|'.join(remote)} the workflow is compiled to calls of "
                                     "the deployed procedures and run through your own "
                                     "connection settings.")
    run.add_argument("workflow", metavar="WORKFLOW", help="workflow YAML file")
    run.add_argument("--warehouse", choices=(local, *remote), default=local,
                     help=f"where to run (default: {local})")
    seen: dict[str, argparse.Action] = {}
    for name in remote:
        for option in options_of(adapter(name), "run"):
            if option.flag in seen:  # shared by several adapters: each one's help
                seen[option.flag].help = f"{seen[option.flag].help}; {name}: {option.help}"
                continue
            seen[option.flag] = run.add_argument(
                option.flag, dest=f"remote_{option.dest}", metavar=option.metavar,
                default=option.default, help=f"{name}: {option.help}")
    run.add_argument("--database", metavar="FILE",
                     help="the local runner's database file (default: the workflow's "
                          "'database')")
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

    db_help = ("the local runner's database file holding the run log and history (default: "
               f"{DEFAULT_DATABASE})")
    hist = sub.add_parser("history", help="list recorded runs",
                          description="Every step run recorded in terraplan_runs: run id, "
                                      "trigger, status, objective, gap, moved units.")
    hist.add_argument("--database", default=DEFAULT_DATABASE, metavar="FILE", help=db_help)
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
    diff.add_argument("--database", default=DEFAULT_DATABASE, metavar="FILE", help=db_help)
    diff.add_argument("--out", metavar="FILE", help="write every changed unit to a CSV file")
    diff.add_argument("--limit", type=int, default=30, metavar="N", help="rows to print")
    diff.set_defaults(handler=_diff)

    back = sub.add_parser("rollback", help="make an earlier run's outputs current again",
                          description="Copies the outputs of RUN back from their history "
                                      "tables, atomically; recorded as a run itself.")
    back.add_argument("run", metavar="RUN")
    back.add_argument("--database", default=DEFAULT_DATABASE, metavar="FILE", help=db_help)
    _add_wait(back)
    back.set_defaults(handler=_rollback)

    watch = sub.add_parser("watch", help="rerun a workflow when its source data changes",
                           description="Polls the workflow's schedule.on_change sources (all "
                                       "sources if none are named) and reruns it on a change; "
                                       "with a rebalance block the rerun keeps disruption low.")
    watch.add_argument("workflow", metavar="WORKFLOW")
    watch.add_argument("--database", metavar="FILE", help="the local runner's database file "
                                                          "(default: the workflow's 'database')")
    watch.add_argument("--interval", type=float, default=60.0, metavar="S",
                       help="seconds between checks (default: 60)")
    watch.add_argument("--max-polls", type=int, default=None, metavar="N",
                       help="stop after N checks (default: run until interrupted)")
    _add_wait(watch)
    watch.set_defaults(handler=_watch)


def _add_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", type=float, default=30.0, metavar="S",
                        help="seconds to wait while another process holds the database "
                             "(default: 30)")


def _run_workflow(args: argparse.Namespace) -> int:
    from workflows.runner import run_workflow

    if args.warehouse != LOCAL_RUNNER:
        given = {k[len("remote_"):]: v for k, v in vars(args).items()
                 if k.startswith("remote_") and v is not None}
        where = {k: given.pop(k) for k in LOCATION_FIELDS if k in given}
        steps = run_in_warehouse(args.workflow, args.warehouse, location=Location(**where),
                                 **given)
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


def _warehouse(args: argparse.Namespace, *, read_only: bool = True) -> Any:
    from udfs.duckdb import DuckDBWarehouse  # the local runner's database

    if not Path(args.database).is_file():
        raise InputError(f"database file '{args.database}' not found; run a workflow first or "
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


def pd_options() -> Any:
    import pandas as pd

    return pd.option_context("display.width", 160, "display.max_columns", 20)



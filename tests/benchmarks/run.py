"""`make bench`: run every tests/benchmarks/bench_*.py and print one markdown table.

Each module exposes ``run(quick: bool = False) -> list[dict]`` with keys
``benchmark, case, value, unit, target, note``. ``--quick`` uses small sizes (a smoke
test); ``--only NAME`` runs one module; ``--json FILE`` also saves the rows.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def modules(only: str | None) -> list[str]:
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    return [n for n in names if only is None or n == f"bench_{only}" or n == only]


def table(rows: list[dict]) -> str:
    lines = ["| benchmark | case | result | target | note |", "|---|---|---:|---|---|"]
    for r in rows:
        value = r["value"]
        shown = f"{value:,.3g} {r['unit']}" if isinstance(value, float) else f"{value} {r['unit']}"
        lines.append(f"| {r['benchmark']} | {r['case']} | {shown.strip()} | "
                     f"{r.get('target', '')} | {r.get('note', '')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    rows: list[dict] = []
    started = time.monotonic()
    for name in modules(args.only):
        mod = importlib.import_module(f"tests.benchmarks.{name}")
        t0 = time.monotonic()
        got = mod.run(quick=args.quick)
        rows.extend(got)
        print(f"# {name}: {len(got)} row(s) in {time.monotonic() - t0:.1f}s", file=sys.stderr)
    print(f"Machine: {platform.machine()}, Python {platform.python_version()}, "
          f"total {time.monotonic() - started:.0f}s\n")
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    missed = [f"{r['benchmark']}: {r['case']}" for r in rows if r.get("ok") is False]
    if missed:  # rows that carry "ok" fail the run when they miss their target
        print("targets missed: " + "; ".join(missed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

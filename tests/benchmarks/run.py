"""`make bench`: run every tests/benchmarks/bench_*.py and print one markdown table.

Each module exposes ``run(quick: bool = False) -> list[dict]`` with keys
``benchmark, case, value, unit, target, note`` and optionally ``met`` (bool; ``ok`` is
read the same way). ``--quick``
uses small sizes (a smoke test); ``--only NAME`` runs one module; ``--json FILE`` also
saves the rows; ``--readme FILE`` writes the table into FILE between the
``<!-- bench:start -->`` and ``<!-- bench:end -->`` markers (``--from-json FILE`` does
that from saved rows without running anything).

A row misses its target when its module says ``met: False``, or, when it does not
say, when the target is a plain comparison (``< 60 s``, ``<= 0.5 %``, ``>= 10 %``)
that the value fails. Any miss makes the run exit 1, after printing the table.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def modules(only: str | None) -> list[str]:
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    return [n for n in names if only is None or n == f"bench_{only}" or n == only]


START, END = "<!-- bench:start -->", "<!-- bench:end -->"
_PLAIN = re.compile(r"^\s*(<=|>=|<|>)\s*(-?[\d,]*\.?\d+)\s*([^\d\s,;]*)\s*$")


def met(row: dict) -> bool | None:
    """True/False when the row can be judged, None when its target is prose or empty."""
    for key in ("met", "ok"):
        if row.get(key) is not None:
            return bool(row[key])
    target, value = str(row.get("target", "")), row.get("value")
    match = _PLAIN.match(target)
    if not match or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    op, bound, unit = match.group(1), float(match.group(2).replace(",", "")), match.group(3)
    if unit and unit != str(row.get("unit", "")).split(" ")[0]:
        return None
    return {"<": value < bound, "<=": value <= bound, ">": value > bound,
            ">=": value >= bound}[op]


def machine() -> str:
    cores = os.cpu_count() or 0
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = 0.0
    return (f"{platform.machine()}, {cores} cores, {mem:.0f} GiB, "
            f"Python {platform.python_version()}")


def write_readme(path: Path, rows: list[dict], header: str) -> None:
    text = path.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{path} has no {START} ... {END} markers for the table")
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    path.write_text(f"{before}{START}\n{header}\n\n{table(rows)}\n{END}{after}",
                    encoding="utf-8")


def table(rows: list[dict]) -> str:
    lines = ["| benchmark | case | result | target | met | note |",
             "|---|---|---:|---|:-:|---|"]
    for r in rows:
        value = r["value"]
        shown = f"{value:,.3g} {r['unit']}" if isinstance(value, float) else f"{value} {r['unit']}"
        verdict = {True: "yes", False: "**no**", None: ""}[met(r)]
        lines.append(f"| {r['benchmark']} | {r['case']} | {shown.strip()} | "
                     f"{r.get('target', '')} | {verdict} | {r.get('note', '')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only")
    parser.add_argument("--json")
    parser.add_argument("--readme", type=Path)
    parser.add_argument("--from-json", type=Path)
    args = parser.parse_args(argv)
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        rows, header = saved["rows"], saved["header"]
        if args.readme:
            write_readme(args.readme, rows, header)
        print(header + "\n\n" + table(rows))
        return _verdict(rows)
    rows: list[dict] = []
    started = time.monotonic()
    for name in modules(args.only):
        mod = importlib.import_module(f"tests.benchmarks.{name}")
        t0 = time.monotonic()
        got = mod.run(quick=args.quick)
        rows.extend(got)
        print(f"# {name}: {len(got)} row(s) in {time.monotonic() - t0:.1f}s", file=sys.stderr)
    header = (f"Measured by `make bench` on {machine()}, {time.strftime('%Y-%m-%d')}, "
              f"total {time.monotonic() - started:.0f} s"
              + (" (`--quick` sizes)" if args.quick else "") + ".")
    print(header + "\n")
    print(table(rows))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"header": header, "rows": rows}, indent=2))
    if args.readme:
        write_readme(args.readme, rows, header)
    return _verdict(rows)


def _verdict(rows: list[dict]) -> int:
    misses = [r for r in rows if met(r) is False]
    for r in misses:
        print(f"MISSED: {r['benchmark']} | {r['case']}: {r['value']} {r['unit']} "
              f"(target {r.get('target', '')})", file=sys.stderr)
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())

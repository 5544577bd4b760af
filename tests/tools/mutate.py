"""Mutation testing of the core solver modules: do the tests notice a wrong line?

    python -m tests.tools.mutate [--per-module N] [--seed S] [--only MODULE] [--json FILE]

Each mutant changes one place of one module (a comparison, an arithmetic or boolean
operator, a number, a ``not``, a returned value) in a private copy of the tree; the
module's tests run on the copy (``pytest -x``, a time cap per mutant). A mutant is
*killed* when the tests fail, *survives* when they pass, and is *timed out* when they
run past the cap (counted as killed: the tests did not pass; the cap is 4x the unmutated
run, at least 120 s). Mutants that do not even import are skipped (not a test of the
tests), and so are the few listed in ``EQUIVALENT`` with the reason they cannot change
behaviour. The unmutated tree must pass its tests first (exit 2 otherwise). Sites are
sampled with a fixed seed, so a run is repeatable; ``--per-module 0`` takes every site.

The kill rate per module is printed as a table (and written with ``--json``); the run
exits 1 when a module is under ``--target`` (default 80 %).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# module -> the tests that guard it, fast oracle tests first (pytest -x stops at the first
# failure, so most mutants die in seconds; only survivors pay for the slower files). The
# contract tests (tests/unit/test_contract_*.py) are left out: they solve every strategy
# end to end several times (minutes each on a loaded machine) and check the contract, not
# these modules' arithmetic, which the files below already drive.
BALANCE_TESTS = ["tests/unit/test_core_contiguity.py", "tests/unit/test_core_local_search.py",
                 "tests/unit/test_balance_solver.py", "tests/unit/test_balance_model.py"]
LOCATE_TESTS = ["tests/unit/test_core_lagrange.py", "tests/unit/test_core_median.py",
                "tests/unit/test_locate.py", "tests/unit/test_locate_honesty.py"]
MODULES: dict[str, list[str]] = {
    "components/balance/contiguity.py": BALANCE_TESTS,
    "components/balance/local_search.py": BALANCE_TESTS,
    "components/locate/median.py": LOCATE_TESTS,
    "components/locate/lagrange.py": LOCATE_TESTS,
}

# Mutants that cannot change what the module computes, excluded from the rate. Keyed by
# (module, the mutated line's text, the change, which of the same changes on that line)
# so an entry survives edits elsewhere in the file; each says why. Keep this list short
# and argued: a mutant a test *could* notice does not belong here.
EQUIVALENT: dict[tuple[str, str, str, int], str] = {
    ("components/locate/lagrange.py", "if k <= 0:", "LtE -> Lt", 0):
        "_choose with k == 0 then takes free[argpartition(...)[:0]] (nothing) or, when no "
        "site is free, free itself (empty): the fixed sites either way",
    ("components/locate/lagrange.py",
     "part = free[np.argpartition(rho[free], k - 1)[:k]] if k < len(free) else free",
     "1 -> 0", 0):
        "argpartition at kth=k instead of k-1 (valid: k < len(free)) still puts the k "
        "smallest first, so [:k] is the same set",
    ("components/balance/contiguity.py",
     "row_of = np.repeat(np.arange(graph.shape[0]), np.diff(graph.indptr))", "0 -> 1", 0):
        "the adjacency is square: shape[1] == shape[0]",
    ("components/balance/local_search.py",
     "good = (dv <= EPS) & (dc < -EPS * scale)", "Mult -> Div", 0):
        "a pre-filter only: _round re-checks every candidate against -EPS * cost_scale and "
        "skips the rest without changing state; cost_scale >= 1, so -EPS / scale only "
        "admits candidates that _round then skips",
}


COPIED = ("components", "udfs", "workflows", "tests", "sql", "pyproject.toml")

SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.FloorDiv: ast.Mult, ast.Mod: ast.FloorDiv, ast.And: ast.Or, ast.Or: ast.And,
    ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd,
}


@dataclass(frozen=True)
class Site:
    """One place to mutate: the n-th node of a kind, in ``ast.walk`` order."""

    index: int
    line: int
    what: str
    nth: int = 0  # the same change on the same line: 0 for the first in ast.walk order


def _mutable(node: ast.AST) -> str | None:
    if isinstance(node, ast.Compare) and type(node.ops[0]) in SWAPS:
        return f"{type(node.ops[0]).__name__} -> {SWAPS[type(node.ops[0])].__name__}"
    if isinstance(node, (ast.BinOp, ast.BoolOp)) and type(node.op) in SWAPS:
        return f"{type(node.op).__name__} -> {SWAPS[type(node.op)].__name__}"
    if isinstance(node, ast.AugAssign) and type(node.op) in SWAPS:
        return f"{type(node.op).__name__}= -> {SWAPS[type(node.op)].__name__}="
    if isinstance(node, ast.Constant) and type(node.value) in (int, float) \
            and not isinstance(node.value, bool):
        return f"{node.value!r} -> {_bumped(node.value)!r}"
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return f"{node.value} -> {not node.value}"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return "not x -> x"
    if isinstance(node, ast.Return) and node.value is not None \
            and not isinstance(node.value, ast.Constant):
        return "return x -> return None"
    return None


def _bumped(value: int | float) -> int | float:
    return 1 if value == 0 else (0 if value == 1 else value + 1)


def sites(source: str) -> list[Site]:
    tree = ast.parse(source)
    skip = _docstring_nodes(tree)
    out: list[Site] = []
    seen: dict[tuple[int, str], int] = {}
    for i, node in enumerate(ast.walk(tree)):
        what = None if id(node) in skip else _mutable(node)
        if what:
            line = getattr(node, "lineno", 0)
            nth = seen.get((line, what), 0)
            seen[(line, what)] = nth + 1
            out.append(Site(i, line, what, nth))
    return out


def _docstring_nodes(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def mutant(source: str, site: Site) -> str:
    tree = ast.parse(source)
    for i, node in enumerate(ast.walk(tree)):
        if i != site.index:
            continue
        if isinstance(node, ast.Compare):
            node.ops[0] = SWAPS[type(node.ops[0])]()
        elif isinstance(node, (ast.BinOp, ast.BoolOp, ast.AugAssign)):
            node.op = SWAPS[type(node.op)]()
        elif isinstance(node, ast.Constant):
            node.value = (not node.value) if isinstance(node.value, bool) \
                else _bumped(node.value)
        elif isinstance(node, ast.UnaryOp):
            return ast.unparse(_replace(tree, node, node.operand))
        elif isinstance(node, ast.Return):
            node.value = None
        return ast.unparse(tree)
    raise ValueError(f"no node {site.index}")


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST) -> ast.AST:
    class Swap(ast.NodeTransformer):
        def visit(self, node):
            return new if node is old else super().visit(node)

    return ast.fix_missing_locations(Swap().visit(tree))


def run_tests(tree: Path, tests: list[str], timeout: float) -> str:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p",
                               "no:cacheprovider", *tests], cwd=tree, env=env,
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return "timeout"
    if done.returncode == 0:
        return "survived"
    if "ImportError" in done.stdout or "SyntaxError" in done.stdout:
        return "invalid"
    return "killed"


def equivalent_reason(module: str, source: str, site: Site) -> str | None:
    line = source.splitlines()[site.line - 1].strip() if site.line else ""
    return EQUIVALENT.get((module, line, site.what, site.nth))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-module", type=int, default=20, metavar="N",
                        help="mutants sampled per module (0: all; default 20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", action="append", metavar="MODULE")
    parser.add_argument("--tests", action="append", metavar="FILE",
                        help="run these test files instead of the module's list (while "
                             "writing tests; the kill rate to report uses the list)")
    parser.add_argument("--timeout", type=float, default=600.0, metavar="S",
                        help="cap per mutant's test run (default 600 s; lowered to 4x the "
                             "unmutated run, at least 120 s)")
    parser.add_argument("--line", type=int, action="append", metavar="N",
                        help="only the sampled mutants on these lines (to re-check survivors)")
    parser.add_argument("--target", type=float, default=0.8)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    modules = {m: (args.tests or t) for m, t in MODULES.items()
               if not args.only or any(o in m for o in args.only)}
    rows = []
    with tempfile.TemporaryDirectory(prefix="terraplan-mutate-") as tmp:
        tree = Path(tmp)
        for name in COPIED:
            src = ROOT / name
            (shutil.copytree if src.is_dir() else shutil.copy)(src, tree / name)
        baselines: dict[tuple[str, ...], float] = {}
        for module, tests in modules.items():
            key = tuple(tests)
            if key not in baselines:
                # the unmutated tree must pass, or every mutant would count as "killed"
                started = time.monotonic()
                outcome = run_tests(tree, tests, args.timeout)
                if outcome != "survived":
                    print(f"the tests do not pass on the unmutated tree ({outcome}): "
                          f"{' '.join(tests)}", file=sys.stderr)
                    return 2
                baselines[key] = time.monotonic() - started
                print(f"baseline  {baselines[key]:.0f} s: {' '.join(tests)}", flush=True)
            cap = min(args.timeout, max(120.0, 4 * baselines[key]))
            path = tree / module
            original = path.read_text()
            all_sites = sites(original)
            rng = random.Random(f"{args.seed}:{module}")
            chosen = (all_sites if args.per_module <= 0 or args.per_module >= len(all_sites)
                      else sorted(rng.sample(all_sites, args.per_module),
                                  key=lambda s: s.index))
            if args.line:
                chosen = [s for s in chosen if s.line in args.line]
            counts = {"killed": 0, "survived": 0, "timeout": 0, "invalid": 0, "equivalent": 0}
            survivors, equivalents = [], []
            started = time.monotonic()
            for site in chosen:
                reason = equivalent_reason(module, original, site)
                if reason:
                    counts["equivalent"] += 1
                    equivalents.append(f"{module}:{site.line} {site.what}: {reason}")
                    print(f"{'equivalent':9} {module}:{site.line} {site.what} ({reason})",
                          flush=True)
                    continue
                path.write_text(mutant(original, site))
                outcome = run_tests(tree, tests, cap)
                counts[outcome] += 1
                if outcome == "survived":
                    survivors.append(f"{module}:{site.line} {site.what}")
                print(f"{outcome:9} {module}:{site.line} {site.what}", flush=True)
            path.write_text(original)
            tested = counts["killed"] + counts["survived"] + counts["timeout"]
            rate = (counts["killed"] + counts["timeout"]) / tested if tested else 1.0
            rows.append({"module": module, "sites": len(all_sites), "mutants": len(chosen),
                         **counts, "kill_rate": round(rate, 3), "survivors": survivors,
                         "equivalents": equivalents, "tests": tests,
                         "seconds": round(time.monotonic() - started, 1)})
    print("\n| module | sites | mutants | killed | timed out | survived | invalid | equivalent "
          "| kill rate |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['module']} | {r['sites']} | {r['mutants']} | {r['killed']} | "
              f"{r['timeout']} | {r['survived']} | {r['invalid']} | {r['equivalent']} | "
              f"{r['kill_rate']:.0%} |")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0 if all(r["kill_rate"] >= args.target for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Check the package dependency direction and look for import cycles.

``workflows -> udfs -> components`` is the only allowed direction (DESIGN.md).
Run ``python -m tests.tools.imports``: it prints every upward import and every
cycle between product modules, and exits 1 when it finds any.

Only imports at module level and inside functions are read (statically, with
``ast``); ``TYPE_CHECKING`` blocks are skipped because they never run.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = {"components": 0, "udfs": 1, "workflows": 2}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_modules() -> dict[str, Path]:
    found = {}
    for top in LAYERS:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "tests" in path.relative_to(ROOT).parts:
                continue
            found[module_name(path)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported_names(path: Path, module: str) -> Iterator[tuple[str, int, bool]]:
    """(imported module, line, at module top level) for each import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST, top: bool) -> Iterator[tuple[str, int, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno, top
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                yield base, child.lineno, top
                for alias in child.names:
                    yield f"{base}.{alias.name}", child.lineno, top
            else:
                inner = top and not isinstance(
                    child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
                yield from visit(child, inner)

    yield from visit(tree, True)


def graph(modules: dict[str, Path]) -> dict[str, dict[str, tuple[int, bool]]]:
    edges: dict[str, dict[str, tuple[int, bool]]] = {m: {} for m in modules}
    for module, path in modules.items():
        for name, line, top in imported_names(path, module):
            if name in modules and name != module:
                edges[module].setdefault(name, (line, top))
    return edges


def upward_imports(edges: dict[str, dict[str, tuple[int, bool]]]) -> list[str]:
    problems = []
    for source, targets in edges.items():
        for target, (line, _) in targets.items():
            a, b = LAYERS[source.split(".")[0]], LAYERS[target.split(".")[0]]
            if b > a:
                problems.append(f"upward import: {source}:{line} imports {target}")
    return problems


def cycles(edges: dict[str, dict[str, tuple[int, bool]]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def main() -> int:
    edges = graph(product_modules())
    problems = upward_imports(edges)
    problems += ["import cycle: " + " <-> ".join(c) for c in cycles(edges)]
    for line in problems:
        print(line)
    if not problems:
        print(f"{len(edges)} modules: no upward import, no cycle")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

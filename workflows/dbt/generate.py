"""Writes the dbt package's generated macros from the component specs.

``macros/generated/spec.sql`` holds every component's inputs, parameters (type, range,
choices, required) and output columns as one JSON document behind
``terraplan.spec()``; ``macros/generated/components.sql`` holds one macro per component
(``terraplan.territory_balancing(scus, centers=none, edges=none, params={}, output=none)``)
with one argument per input table of the spec. The hand-written macros read both, so a
parameter added to a spec reaches dbt by running::

    python -m workflows.dbt.generate          # rewrite the files
    python -m workflows.dbt.generate --check  # exit 1 when they are out of date (a test runs it)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from components import registry
from components.spec import ComponentSpec, Param
from udfs.base import CONDITIONAL_COLUMNS, column_type

PACKAGE = Path(__file__).resolve().parent
GENERATED = PACKAGE / "macros" / "generated"
HEADER = ("{#- generated from the component specs by `python -m workflows.dbt.generate`; "
          "do not edit -#}\n")


def _param(p: Param) -> dict[str, Any]:
    # dbt passes YAML/Jinja values through with their types: text is not read as a
    # number or a bool there, as the CLI reads it, so the message says which type it takes
    kind = "true or false" if p.type == "bool" else p.describe_range()
    out: dict[str, Any] = {"type": p.type, "required": p.required, "range": kind,
                           "help": p.help}
    if p.choices:
        out["choices"] = list(p.choices)
    if p.minimum is not None:
        out["minimum"] = p.minimum
        out["exclusive_minimum"] = p.exclusive_minimum
    if p.maximum is not None:
        out["maximum"] = p.maximum
    return out


def _columns(columns: tuple[str, ...]) -> list[list[Any]]:
    """``[template, logical type, parameter it needs or None]``; the templates
    ``<coords>``, ``<metrics>`` and ``<metric>`` are expanded in Jinja the way
    :func:`udfs.base.output_columns` expands them in Python."""
    out: list[list[Any]] = []
    for c in columns:
        if "<" in c and c not in ("<coords>", "<metrics>") and "<metric>" not in c:
            continue  # descriptive placeholders with no column of their own
        kind = "double" if "<" in c else column_type(c)
        out.append([c, kind, CONDITIONAL_COLUMNS.get(c)])
    return out


def describe(spec: ComponentSpec) -> dict[str, Any]:
    return {
        "title": spec.title,
        "inputs": [{"name": t.name, "required": t.required} for t in spec.inputs],
        "params": {p.name: _param(p) for p in spec.params},
        "outputs": [{"name": t.name, "columns": _columns(t.columns)} for t in spec.outputs],
    }


def spec_sql() -> str:
    doc = {name: describe(c.spec) for name, c in registry.components().items()}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    literal = text.replace("\\", "\\\\").replace("'", "\\'")
    return (HEADER + "{% macro spec() %}\n  {{ return(fromjson('" + literal + "')) }}\n"
            "{% endmacro %}\n")


def _component_macro(spec: ComponentSpec) -> str:
    args = [spec.inputs[0].name] + [f"{t.name}=none" for t in spec.inputs[1:]]
    inputs = ", ".join(f"'{t.name}': {t.name}" for t in spec.inputs)
    outputs = ", ".join(t.name for t in spec.outputs)
    return (f"{{#- {spec.title}: inputs {', '.join(t.name for t in spec.inputs)}; "
            f"outputs {outputs} -#}}\n"
            f"{{% macro {spec.name}({', '.join(args)}, params={{}}, output=none) %}}\n"
            f"  {{{{ return(terraplan.component('{spec.name}', {{{inputs}}}, params, "
            "output)) }}\n{% endmacro %}\n")


def components_sql() -> str:
    return HEADER + "\n".join(_component_macro(c.spec)
                              for c in registry.components().values())


def files() -> dict[Path, str]:
    return {GENERATED / "spec.sql": spec_sql(), GENERATED / "components.sql": components_sql()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a generated file differs from the specs")
    args = parser.parse_args(argv)
    stale = [path for path, text in files().items()
             if not path.exists() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"{path} is out of date: run python -m workflows.dbt.generate",
                  file=sys.stderr)
        return 1 if stale else 0
    GENERATED.mkdir(parents=True, exist_ok=True)
    for path, text in files().items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

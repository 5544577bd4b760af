"""`make bench` judges plain targets itself and writes the README table from its rows."""

from __future__ import annotations

import json
from pathlib import Path

from tests.benchmarks import run


def row(value, unit="s", target="", **extra):
    return {"benchmark": "b", "case": "c", "value": value, "unit": unit, "target": target,
            "note": "", **extra}


def test_plain_targets_are_judged():
    assert run.met(row(1.5, target="< 2 s")) is True
    assert run.met(row(2.5, target="< 2 s")) is False
    assert run.met(row(2.0, target="<= 2 s")) is True
    assert run.met(row(9.0, unit="% overhead", target="< 20 %")) is True
    assert run.met(row(25.0, unit="% overhead", target="< 20 %")) is False
    assert run.met(row(12.0, unit="%", target=">= 10 %")) is True
    assert run.met(row(1_500.0, unit="MB", target="<= 1,000 MB")) is False


def test_prose_or_other_units_are_not_judged_but_modules_can_say():
    assert run.met(row(1.0, target="same or better objective")) is None
    assert run.met(row(1.0, target="< 2 min")) is None   # unit differs: no guess
    assert run.met(row(1.0, target="")) is None
    assert run.met(row(1.0, target="prose", met=False)) is False
    assert run.met(row(99.0, target="< 2 s", met=True)) is True


def test_a_miss_exits_nonzero_and_the_readme_table_comes_from_the_json(tmp_path: Path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{run.START}\nold table\n{run.END}\nafter\n")
    saved = tmp_path / "bench.json"
    rows = [row(1.0, target="< 2 s"), row(3.0, target="< 2 s")]
    saved.write_text(json.dumps({"header": "Measured on test.", "rows": rows}))
    assert run.main(["--from-json", str(saved), "--readme", str(readme)]) == 1
    text = readme.read_text()
    assert "old table" not in text and text.startswith("intro\n") and text.endswith("after\n")
    assert "Measured on test." in text and "| **no** |" in text and "| yes |" in text
    saved.write_text(json.dumps({"header": "h", "rows": rows[:1]}))
    assert run.main(["--from-json", str(saved)]) == 0

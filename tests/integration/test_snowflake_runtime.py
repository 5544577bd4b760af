"""The "warehouse runtime" job (issue #12): the Snowflake handlers on exactly the package
versions the procedures pin (udfs/snowflake/pins.py), with fork refused, give the answers
they give in the development venv. ``make test`` builds that venv (``.venv-sfruntime``)
and names its Python in TERRAPLAN_SFRUNTIME."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from udfs.snowflake import ddl
from udfs.snowflake.pins import PINS, RUNTIME_VERSION

ROOT = Path(__file__).resolve().parents[2]


def run(python: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([python, "-m", "tests.tools.snowflake_runtime"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def same(a, b, where="answers") -> None:
    """Equal, floats to 1e-9 relative (HiGHS builds differ in the last bits of a bound)."""
    if isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9,
                                                                abs_tol=1e-9), (where, a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    else:
        assert a == b, (where, a, b)


def test_pins_are_what_the_procedures_ask_for():
    assert ddl.RUNTIME_VERSION == RUNTIME_VERSION
    assert set(ddl.PACKAGES) == {f"{n}=={v}" for n, v in PINS.items()}


def test_handlers_on_the_pinned_runtime_without_fork_answer_the_same():
    python = os.environ.get("TERRAPLAN_SFRUNTIME")
    if not python or not Path(python).is_file():
        pytest.skip("Snowflake runtime venv not configured: run 'make .venv-sfruntime' and set "
                    "TERRAPLAN_SFRUNTIME to its bin/python (make test does both)")
    pinned = run(python)
    assert pinned["versions"] == {"python": pinned["versions"]["python"], **PINS}
    assert pinned["versions"]["python"].startswith(RUNTIME_VERSION + ".")
    here = run(sys.executable)
    answers = pinned["answers"]
    assert answers["balance_exact"]["report"]["status"] == "optimal"
    assert answers["location_capacitated"]["report"]["n_open"] == 3
    assert answers["partition"]["status"] == "succeeded"
    same(answers, here["answers"])

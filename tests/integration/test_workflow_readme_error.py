"""The README's example workflow error is what a user sees (#10).

The README quotes one error of ``terraplan run`` on the demo with ``tolerance: high``
on line 27; this runs exactly that through the CLI and compares the text.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Automation"):]
    found = re.search(r"`(demo\.yaml:27: [^`]+)`", section)
    assert found, "the README's Automation section no longer quotes the demo's error"
    return found.group(1)


def test_the_readme_example_error_is_what_terraplan_run_prints(tmp_path):
    expected = _readme_example()
    demo = (ROOT / "workflows" / "examples" / "demo.yaml").read_text().splitlines()
    assert demo[26].strip() == "tolerance: 0.05"  # line 27, as the README says
    demo[26] = demo[26].replace("0.05", "high")
    (tmp_path / "demo.yaml").write_text("\n".join(demo) + "\n")
    shutil.copytree(ROOT / "workflows" / "examples" / "data", tmp_path / "data")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "workflows.cli", "run", "demo.yaml",
                           "--database", str(tmp_path / "t.duckdb")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"terraplan: error: {expected}"
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "t.duckdb").exists()  # checked before anything ran

"""Golden files: a missing or different file fails; regenerate only on request.

Set ``TERRAPLAN_UPDATE_GOLDEN=1`` to (re)write the files, then review the diff
before committing it. Without it, a golden file that does not exist is a failure,
so a snapshot can never be created silently by the test that checks it. This is the
only place in tests/ that writes a golden file (tests/unit/test_golden.py keeps it so).
"""

from __future__ import annotations

import os
from pathlib import Path

FLAG = "TERRAPLAN_UPDATE_GOLDEN"


def updating() -> bool:
    """Read at every call, so a test (or a developer's shell) can switch it per run."""
    return os.environ.get(FLAG) == "1"


def assert_golden(path: Path, text: str) -> None:
    if updating():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), (
        f"golden file missing: {path}; create it with {FLAG}=1 and review it")
    assert text == path.read_text(), (
        f"differs from {path}; regenerate with {FLAG}=1 if intended")

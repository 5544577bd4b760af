"""Golden files: a missing or different file fails; regenerate only on request.

Set ``TERRAPLAN_UPDATE_GOLDEN=1`` to (re)write the files, then review the diff
before committing it. Without it, a golden file that does not exist is a failure,
so a snapshot can never be created silently by the test that checks it.
"""

from __future__ import annotations

import os
from pathlib import Path

UPDATE = os.environ.get("TERRAPLAN_UPDATE_GOLDEN") == "1"


def assert_golden(path: Path, text: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), (
        f"golden file missing: {path}; create it with TERRAPLAN_UPDATE_GOLDEN=1 and review it")
    assert text == path.read_text(), (
        f"differs from {path}; regenerate with TERRAPLAN_UPDATE_GOLDEN=1 if intended")

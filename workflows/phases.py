"""Named points of a run, so a test can stop a real ``terraplan run`` exactly there.

Inert unless the environment asks: with ``TERRAPLAN_PHASE_DIR`` set, each point reached
touches a file of its name in that folder; with ``TERRAPLAN_PAUSE_AT=<point>`` the run
also sleeps there (``TERRAPLAN_PAUSE_SECONDS``, default 60) so the test can send it
SIGKILL, SIGTERM or SIGINT at that point. The kill test and the run-log tests use it.

Points, in order: ``started`` (run row written), ``source:<name>`` (each file source
staged), ``sources`` (all staged), ``step:<name>`` (after each step), ``exports`` (export
folder staged), ``publish`` (inside the publish transaction, before the commit),
``published`` (committed, export folder not yet swapped), ``exports:swap`` (between the
two renames of the export folder swap), ``exported`` (export folder swapped in).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PHASE_DIR = "TERRAPLAN_PHASE_DIR"
PAUSE_AT = "TERRAPLAN_PAUSE_AT"
PAUSE_SECONDS = "TERRAPLAN_PAUSE_SECONDS"


def checkpoint(name: str) -> None:
    folder, pause = os.environ.get(PHASE_DIR), os.environ.get(PAUSE_AT)
    if not folder and not pause:
        return
    if folder:
        Path(folder, name.replace(":", "_")).touch()
    if pause == name:
        time.sleep(float(os.environ.get(PAUSE_SECONDS) or 60))

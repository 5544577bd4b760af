"""``terraplan watch``: rerun a workflow when its source data changes.

Change detection is cheap: a file source is fingerprinted by size, modification
time and a SHA-256 of its bytes only when those moved; a table source by its row
count and the sum of its row hashes, computed in DuckDB. The fingerprint of the
last successful run is kept in the run log, so a restarted watcher does not rerun
unchanged data. A triggered run rebalances with low disruption when the workflow
has a ``rebalance`` block.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from components.errors import TerraplanError
from udfs.duckdb import DEFAULT_WAIT, DuckDBWarehouse
from workflows.runner import DEFAULT_DATABASE, RunInterrupted, RunSummary, run_workflow
from workflows.spec import Workflow, load_workflow

_file_cache: dict[str, tuple[int, int, str]] = {}


def _file_fingerprint(path: Path) -> str:
    stat = path.stat()
    key = str(path)
    cached = _file_cache.get(key)
    if cached and cached[0] == stat.st_size and cached[1] == stat.st_mtime_ns:
        return cached[2]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    _file_cache[key] = (stat.st_size, stat.st_mtime_ns, digest)
    return digest


def source_fingerprints(wf: Workflow, wh: DuckDBWarehouse) -> dict[str, str]:
    names = wf.schedule.get("on_change") or list(wf.sources)
    out = {}
    for name in names:
        src = wf.sources[name]
        if "path" in src:
            out[name] = "file:" + _file_fingerprint(wf.source_path(name))
        elif wh.table_exists(src["table"]):
            out[name] = "table:" + wh.fingerprint(src["table"])
        else:
            out[name] = "missing"
    return out


STATE_TABLE = "terraplan_watch_state"


def _last_seen(wh: DuckDBWarehouse, workflow: str) -> dict[str, str] | None:
    if not wh.table_exists(STATE_TABLE):
        return None
    rows = wh.con.execute(f'SELECT fingerprints FROM "{STATE_TABLE}" WHERE workflow = ?',
                          [workflow]).fetchall()
    return json.loads(rows[0][0]) if rows else None


def _remember(wh: DuckDBWarehouse, workflow: str, prints: dict[str, str]) -> None:
    wh.con.execute(f'CREATE TABLE IF NOT EXISTS "{STATE_TABLE}" '
                   "(workflow VARCHAR PRIMARY KEY, fingerprints VARCHAR)")
    wh.con.execute(f'INSERT OR REPLACE INTO "{STATE_TABLE}" VALUES (?, ?)',
                   [workflow, json.dumps(prints, sort_keys=True)])


def check_once(path: str | Path, *, database: str | None = None,
               echo: Callable[[str], None] | None = None,
               wait: float = DEFAULT_WAIT) -> RunSummary | None:
    """Run the workflow if its sources changed since the last triggered run; else None."""
    say = echo or (lambda _m: None)
    wf = load_workflow(path)
    db = database or wf.database or DEFAULT_DATABASE
    wh = DuckDBWarehouse.open(db, wait=wait, say=say)
    try:
        prints = source_fingerprints(wf, wh)
        seen = _last_seen(wh, wf.name)
    finally:
        wh.close()
    if seen == prints:
        return None
    changed = sorted(k for k in prints if (seen or {}).get(k) != prints[k])
    say(f"[watch] change in {', '.join(changed)}: running '{wf.name}'")
    summary = run_workflow(path, database=db, echo=echo, wait=wait,
                           trigger="refresh" if seen is not None else "initial")
    wh = DuckDBWarehouse.open(db, wait=wait, say=say)
    try:
        _remember(wh, wf.name, prints)
    finally:
        wh.close()
    return summary


def watch(path: str | Path, *, database: str | None = None, interval: float = 60.0,
          max_polls: int | None = None, echo: Callable[[str], None] | None = None,
          sleep: Callable[[float], None] = time.sleep,
          wait: float = DEFAULT_WAIT) -> list[RunSummary]:
    """Poll every ``interval`` seconds (bounded by ``max_polls`` when given).

    A check that fails (bad data, a locked database, a file being rewritten) is
    reported in one line and retried at the next poll: the sources are remembered
    only after a run succeeded, so the change is not lost.
    """
    say = echo or (lambda _m: None)
    runs: list[RunSummary] = []
    polls = 0
    while max_polls is None or polls < max_polls:
        try:
            summary = check_once(path, database=database, echo=echo, wait=wait)
        except RunInterrupted:
            raise
        except (TerraplanError, duckdb.Error, OSError) as err:
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            say(f"[watch] check failed, retrying in {interval:g}s: {first}")
            summary = None
        if summary is not None:
            runs.append(summary)
        polls += 1
        if max_polls is not None and polls >= max_polls:
            break
        sleep(interval)
    return runs

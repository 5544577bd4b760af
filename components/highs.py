"""HiGHS (``scipy.optimize.milp``) behind a wall-clock limit that holds.

HiGHS checks its ``time_limit`` between phases, so presolve or a hard LP can run
past it. Callers here promise time limits that are walls, so on a laptop the solve
runs in a forked child process: HiGHS gets a slightly shorter limit and normally
returns its best answer in time; if it does not, the child is killed at the wall
and the caller gets ``None`` (and keeps its heuristic answer).

Inside a warehouse the solve runs in-process instead, with HiGHS's own time limit
(the same share of the wall): Snowflake advises against multiprocessing in
handlers, and a sandbox may refuse ``fork`` outright. The warehouse handlers
enter :func:`in_process` around every component call; a refused fork
(``OSError``) anywhere else falls back to the in-process solve too.
"""

from __future__ import annotations

import contextlib
import contextvars
import multiprocessing as mp
import time
from collections.abc import Iterator
from typing import Any

from scipy.optimize import milp

MARGIN = 0.85  # share of the remaining time HiGHS itself is given

_IN_PROCESS: contextvars.ContextVar[bool] = contextvars.ContextVar("terraplan_highs_in_process",
                                                                   default=False)


@contextlib.contextmanager
def in_process() -> Iterator[None]:
    """Within this block, :func:`milp_walled` never forks (warehouse handlers use it)."""
    token = _IN_PROCESS.set(True)
    try:
        yield
    finally:
        _IN_PROCESS.reset(token)


def runs_in_process() -> bool:
    return _IN_PROCESS.get()


def _fields(res: Any) -> dict[str, Any]:
    return {"x": res.x, "fun": res.fun, "status": res.status, "message": res.message,
            "success": res.success,
            "mip_gap": getattr(res, "mip_gap", None),
            "mip_dual_bound": getattr(res, "mip_dual_bound", None),
            "mip_node_count": getattr(res, "mip_node_count", None)}


def _child(conn, args: tuple, kwargs: dict) -> None:
    try:
        conn.send(_fields(milp(*args, **kwargs)))
    except BaseException as err:  # report, never hang the parent
        conn.send({"error": repr(err)})
    finally:
        conn.close()


class WallResult(dict):
    """``scipy.optimize.OptimizeResult``-like: attribute access to the fields."""

    def __getattr__(self, name: str) -> Any:  # a missing field reads as None, like dict.get
        return self.get(name)


def _solve_here(args: tuple, kwargs: dict) -> WallResult:
    res = WallResult(_fields(milp(*args, **kwargs)))
    res["in_process"] = True
    return res


def milp_walled(*args: Any, wall: float, **kwargs: Any) -> WallResult | None:
    """``scipy.optimize.milp(*args, **kwargs)`` that returns within ``wall`` seconds.

    Returns None when the wall was reached without an answer (the child was killed).
    In-process (see the module docstring) HiGHS's own time limit is the only bound.
    """
    start = time.monotonic()
    options = dict(kwargs.pop("options", None) or {})
    limit = max(0.05, wall * MARGIN)
    options["time_limit"] = min(float(options.get("time_limit", limit)), limit)
    kwargs["options"] = options
    if runs_in_process():
        return _solve_here(args, kwargs)
    try:
        ctx = mp.get_context("fork")
    except ValueError:  # no fork on this platform: HiGHS's own limit is all we have
        return _solve_here(args, kwargs)
    try:
        parent, child = ctx.Pipe(duplex=False)
    except OSError:
        return _solve_here(args, kwargs)
    proc = ctx.Process(target=_child, args=(child, args, kwargs), daemon=True)
    try:
        proc.start()
    except OSError:  # fork refused (sandbox, process limit): solve here instead
        parent.close()
        child.close()
        return _solve_here(args, kwargs)
    child.close()
    remaining = max(0.0, wall - (time.monotonic() - start))
    got = parent.recv() if parent.poll(remaining) else None
    if got is None:
        proc.kill()
    proc.join(timeout=5)
    parent.close()
    if got is None or "error" in got:
        if got is not None:
            raise RuntimeError(f"HiGHS failed: {got['error']}")
        return None
    return WallResult(got)

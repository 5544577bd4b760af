"""HiGHS (``scipy.optimize.milp``) behind a wall-clock limit that holds.

HiGHS checks its ``time_limit`` between phases, so presolve or a hard LP can run
past it. Callers here promise time limits that are walls, so the solve runs in a
forked child process: HiGHS gets a slightly shorter limit and normally returns
its best answer in time; if it does not, the child is killed at the wall and
the caller gets ``None`` (and keeps its heuristic answer).
"""

from __future__ import annotations

import multiprocessing as mp
import time
from typing import Any

from scipy.optimize import milp

MARGIN = 0.85  # share of the remaining time HiGHS itself is given


def _child(conn, args: tuple, kwargs: dict) -> None:
    try:
        res = milp(*args, **kwargs)
        conn.send({"x": res.x, "fun": res.fun, "status": res.status, "message": res.message,
                   "success": res.success,
                   "mip_gap": getattr(res, "mip_gap", None),
                   "mip_dual_bound": getattr(res, "mip_dual_bound", None),
                   "mip_node_count": getattr(res, "mip_node_count", None)})
    except BaseException as err:  # report, never hang the parent
        conn.send({"error": repr(err)})
    finally:
        conn.close()


class WallResult(dict):
    """``scipy.optimize.OptimizeResult``-like: attribute access to the fields."""

    __getattr__ = dict.get


def milp_walled(*args: Any, wall: float, **kwargs: Any) -> WallResult | None:
    """``scipy.optimize.milp(*args, **kwargs)`` that returns within ``wall`` seconds.

    Returns None when the wall was reached without an answer (the child was killed).
    """
    start = time.monotonic()
    options = dict(kwargs.pop("options", None) or {})
    limit = max(0.05, wall * MARGIN)
    options["time_limit"] = min(float(options.get("time_limit", limit)), limit)
    kwargs["options"] = options
    try:
        ctx = mp.get_context("fork")
    except ValueError:  # no fork on this platform: HiGHS's own limit is all we have
        res = milp(*args, **kwargs)
        return WallResult(x=res.x, fun=res.fun, status=res.status, message=res.message,
                          success=res.success, mip_gap=getattr(res, "mip_gap", None),
                          mip_dual_bound=getattr(res, "mip_dual_bound", None))
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, args, kwargs), daemon=True)
    proc.start()
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

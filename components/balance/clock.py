"""The time limit as a cap, and progress lines.

Every phase of the balancer runs on a budget of iterations or moves, so the same
input and seed give the same answer on a quiet and on a busy machine. The wall
clock only stops a phase early: :meth:`Clock.expired` is asked at the top of every
loop, and once it says yes it remembers that, so the report can say
``stopped_by: time_limit`` truthfully (and only then).

The clock is injectable (``now``), so tests can make time pass by a fixed step per
reading instead of by the machine's speed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Progress = Callable[[str], None]


class Clock:
    """Deadline checks for one solve; ``hit`` is True once the time limit stopped a phase."""

    def __init__(self, time_limit: float, *, now: Callable[[], float] | None = None,
                 progress: Progress | None = None) -> None:
        self.now = now or time.monotonic
        self.start = self.now()
        self.real_start = time.monotonic()
        self.deadline = self.start + float(time_limit)
        self.progress = progress
        self.hit = False
        self.checks = 0

    def expired(self) -> bool:
        """Is the time limit past? (Sticky: a phase that stopped for it is remembered.)"""
        self.checks += 1
        if self.hit:
            return True
        if self.now() > self.deadline:
            self.hit = True
        return self.hit

    def remaining(self) -> float:
        return max(0.0, self.deadline - self.now())

    def real_remaining(self) -> float:
        """What is left, in real seconds: the limit to hand a library (HiGHS) that times
        itself by the wall clock. An injected clock may run faster than the wall (a
        simulated slow machine); its seconds are converted at the rate seen so far."""
        real = time.monotonic() - self.real_start
        rate = self.elapsed() / real if real > 1e-3 else 1.0
        return self.remaining() / max(rate, 1.0)

    def elapsed(self) -> float:
        return self.now() - self.start

    def phase(self, name: str, *, balance_range: float | None = None,
              gap: float | None = None, detail: str = "") -> None:
        """One progress line: elapsed seconds, phase, best balance range, gap."""
        if self.progress is None:
            return
        parts = [f"balance {self.elapsed():7.2f}s {name:<14}"]
        parts.append("range " + ("n/a" if balance_range is None else f"{balance_range:.4f}"))
        parts.append("gap " + ("n/a" if gap is None else f"{100 * gap:.2f}%"))
        if detail:
            parts.append(detail)
        if self.hit:
            parts.append("(time limit reached)")
        self.progress("  ".join(parts))

"""Primal answers for the balancer: repair then local search, and the iterated local
search (kicks) when the best answer still misses a bound.

An answer is ``(violation, cost, labels)``: any broken hard rule (a forbidden pair, a
split territory) outweighs any balance violation, then cost decides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from components.balance.clock import Clock
from components.balance.contiguity import contiguous_flags, repair
from components.balance.local_search import LocalSearch, violation
from components.balance.relaxation import totals

if TYPE_CHECKING:
    from components.balance.solver import TerritoryBalancer


def iterated_search(b: TerritoryBalancer, graph, best, ctr, search: LocalSearch, cost,
                    forbid, load, lo, hi):
    """While the best answer misses a bound and time remains: kick it with random
    contiguity-safe boundary moves, descend again, keep the better (iterated local
    search). Seeded, so repeatable; a fixed budget of kicks, capped by the clock."""
    if best[0] <= 1e-9 or len(best[2]) > 20000:
        return best
    rng = np.random.default_rng(b.seed + 7919)
    n = len(best[2])
    before = best[0]
    kick = 0
    for kick in range(int(b.kicks)):
        if best[0] <= 1e-9 or b._clock.expired():
            break
        size = max(2, int(n * (0.01 + 0.04 * (kick % 5) / 4)))
        trial = search.kick(best[2], rng, size)
        best = primal(b._clock, graph, trial, ctr, None, search, cost, forbid, load, lo, hi,
                      None, best)
    if kick:
        b._clock.phase("kicks", balance_range=None, gap=None,
                       detail=f"{kick} kicks, violation {before:.4g} -> {best[0]:.4g}")
    return best


def primal(clock: Clock, graph, lab, ctr, reduced, search: LocalSearch, cost, forbid, load, lo,
           hi, locked, best):
    """Repair ``lab`` (when ``reduced`` costs are given) and descend; the better of it and
    ``best``."""
    labels = lab if reduced is None else repair(graph, lab, ctr, reduced, locked)
    labels = search.run(labels, clock)
    s = totals(labels, load, len(lo))
    rows = np.arange(len(labels))
    split = int((~contiguous_flags(graph, labels, len(lo))).sum())
    # any violated hard constraint outweighs any balance violation
    v = float(violation(s, lo, hi).sum()) + 1e6 * (float(forbid[labels, rows].sum()) + split)
    c = float(cost[labels, rows].sum())
    if best is None or v < best[0] - 1e-12 or (abs(v - best[0]) <= 1e-12 and c < best[1]):
        return (v, c, labels)
    return best

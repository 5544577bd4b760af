"""The answer's attributes: allocation, statuses, gap and why the search stopped.

Functions bound to :class:`~components.locate.solver.LocationAllocator` as methods.
"""

from __future__ import annotations

import time

import numpy as np

import components.locate.capacity as cap_mod

# 'optimal' means the gap is closed up to rounding; a looser stop tolerance (target_gap)
# ends the search earlier but then the answer is 'feasible' with its gap
OPTIMAL_GAP = 1e-6
REASONS = {"competitor": "captured by a competitor (closer than every open site)",
           "beyond": "no open site within max_cost, or every pair forbidden/unreachable",
           "radius": "no open site within the radius",
           "capacity": "left out: open sites have no capacity left",
           "limits": "load limits violated"}


def drop_empty_slots(self) -> None:
    m = getattr(self, "_m_real", None) or self._D.shape[1]
    if self._D.shape[1] == m:
        return
    self.open_ = np.sort(self.open_[self.open_ < m])
    self._D, self._allowed, self._rank = self._D[:, :m], self._allowed[:, :m], self._rank[:m]
    self.stats_["facilities_mode"] = {"mode": "at_most", "p": int(self.facilities),
                                      "opened": len(self.open_)}

def allocate_nearest(self) -> None:
    alloc = cap_mod.closest_allocation(
        cap_mod.LoadProblem(self._D, self._allowed, self._a, np.zeros(self._D.shape[1]),
                            np.full(self._D.shape[1], np.inf), self._rank,
                            np.full(len(self._w), np.inf)), self.open_)
    self._set_assignment(alloc.assign)

def allocate_radius(self, radius: float) -> None:
    self._allocate_nearest()
    a = self.assignment_
    served = a >= 0
    far = served & (self._D[np.arange(len(a)), np.maximum(a, 0)] > radius)
    self.assignment_[far] = -1
    self.reason_[far] = REASONS["radius"]

def set_assignment(self, assign: np.ndarray, capacity_reason: bool = False) -> None:
    n = len(assign)
    a = assign.copy()
    unit = np.full(n, np.nan)
    served = a >= 0
    unit[served] = self._D[np.flatnonzero(served), a[served]]
    reason = np.array([""] * n, dtype=object)
    comp = -np.ones(n, dtype=np.int64)
    own = np.where(served, unit, np.inf)
    captured = self._comp_cost < own
    a[captured] = -2
    comp[captured] = self._comp_idx[captured]
    unit[captured] = self._comp_cost[captured]
    reason[captured] = REASONS["competitor"]
    left = a == -1
    no_pair = left & ~self._allowed[:, self.open_].any(axis=1)
    reason[no_pair] = REASONS["beyond"]
    reason[left & ~no_pair] = REASONS["capacity"] if capacity_reason else REASONS["beyond"]
    self.assignment_, self.unit_cost_, self.reason_, self.competitor_ = a, unit, reason, comp

def finish(self, t0: float) -> None:
    m = getattr(self, "_m_real", None) or self._D.shape[1]
    a = self.assignment_
    if not hasattr(self, "loads_"):  # market share sets expected loads itself
        self.loads_ = np.bincount(a[a >= 0], weights=self._a[a >= 0], minlength=m)
    obj, bnd = self.objective_, self.bound_
    if self.bound_kind_ == "coverage":
        total = float(self._w.sum())
        gap = ((total - bnd) - (total - obj)) / max(total - bnd, 1e-12)
    else:
        gap = (obj - bnd) / max(abs(obj), 1e-12)
    gap = max(float(gap), 0.0) if np.isfinite(gap) else None
    self.gap_ = gap
    self.lower_bound_ = bnd
    violation = getattr(self, "violation_", 0.0)
    # one vocabulary: 'infeasible' is never a status (a proof raises InfeasibleError,
    # CLI exit 3); without a proof the best answer is 'no_feasible_found' with its
    # least violation
    if violation > 1e-9:
        self.status_ = "no_feasible_found"
    elif gap is not None and gap <= OPTIMAL_GAP:  # never the user's tolerance
        self.status_ = "optimal"
    else:
        self.status_ = "feasible"
    now = time.monotonic()
    self.stopped_by_ = ("gap closed" if self.status_ == "optimal"
                        else "gap tolerance" if gap is not None and gap <= self.target_gap
                        else "time_limit" if now >= self._deadline - 1e-3
                        else "search finished")
    self.seconds_ = now - t0

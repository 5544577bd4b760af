"""The Lagrangian relaxation of the balance rows, evaluated over the stored pairs."""

from __future__ import annotations

import numpy as np

from components.balance.costs import PairCosts


class CandidateRelaxation:
    """The Lagrangian relaxation over each unit's stored (reachable) territories.

    Evaluating ``argmin_i c_ij - lambda_i . a_j`` over all m territories costs O(mn)
    per iteration; over the stored pairs it costs O(pairs). The dual value stays a
    valid lower bound for every pair, stored or not (:meth:`PairCosts.bound`).
    """

    def __init__(self, pc: PairCosts, load: np.ndarray, lo: np.ndarray,
                 hi: np.ndarray) -> None:
        self.pc, self.load, self.lo, self.hi = pc, load, lo, hi

    def evaluate(self, lam: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        """Relaxed labels, dual value over the stored pairs (forbidden ones at their
        penalty) and totals per territory for multipliers ``lam``.

        That dual value steers the subgradient steps; it is a bound only for answers
        that keep to the stored pairs, so the bound reported is :meth:`PairCosts.bound`
        at the best multipliers, which holds for every pair."""
        pc = self.pc
        low, labels = pc.pairs.row_min(pc.cost_f.vals - pc.pull(lam, self.load))
        dual = float(low.sum() + np.where(lam > 0, lam * self.lo, lam * self.hi).sum())
        return labels, dual, totals(labels, self.load, len(lam))


def totals(labels: np.ndarray, load: np.ndarray, m: int) -> np.ndarray:
    """Territory totals (m, k) of ``labels`` (bincount: np.add.at is slow at 1M units)."""
    out = np.empty((m, load.shape[1]))
    for q in range(load.shape[1]):
        out[:, q] = np.bincount(labels, weights=load[:, q], minlength=m)
    return out

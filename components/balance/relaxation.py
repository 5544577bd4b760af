"""The Lagrangian relaxation of the balance rows, evaluated over candidate lists."""

from __future__ import annotations

import numpy as np


class CandidateRelaxation:
    """The Lagrangian relaxation over each unit's K cheapest territories.

    Evaluating ``argmin_i c_ij - lambda_i . a_j`` over all m territories costs O(mn)
    per iteration; over the K cheapest it costs O(Kn). The dual value stays a valid
    lower bound: any territory outside a unit's list has reduced cost at least
    ``c_next_j - sum_k max_i(lambda_ik) a_jk`` (metrics are >= 0), and that floor is
    used wherever it is below the list's minimum.
    """

    K = 16

    def __init__(self, cost_f: np.ndarray, load: np.ndarray, lo: np.ndarray,
                 hi: np.ndarray) -> None:
        m, n = cost_f.shape
        self.load, self.lo, self.hi, self.m = load, lo, hi, m
        self.rows = np.arange(n)
        if m <= self.K:
            self.cand = np.broadcast_to(np.arange(m)[:, None], (m, n))
            self.ccost = cost_f
            self.next_cost = None
        else:
            part = np.argpartition(cost_f, self.K, axis=0)
            self.cand = part[:self.K]
            self.ccost = np.take_along_axis(cost_f, self.cand, axis=0)
            self.next_cost = np.take_along_axis(cost_f, part[self.K:self.K + 1], axis=0)[0]

    def evaluate(self, lam: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        """Relaxed labels, dual value and totals per territory for multipliers ``lam``."""
        pull = np.einsum("knj,nj->kn", lam[self.cand], self.load)
        reduced = self.ccost - pull
        pos = np.argmin(reduced, axis=0)
        labels = self.cand[pos, self.rows]
        term = reduced[pos, self.rows]
        if self.next_cost is not None:
            floor = self.next_cost - self.load @ np.maximum(lam.max(axis=0), 0.0)
            term = np.minimum(term, floor)
        sums = np.zeros_like(lam)
        np.add.at(sums, labels, self.load)
        dual = float(term.sum() + np.where(lam > 0, lam * self.lo, lam * self.hi).sum())
        return labels, dual, sums


def dense_dual(cost: np.ndarray, forbid: np.ndarray, load: np.ndarray, lo: np.ndarray,
               hi: np.ndarray, lam: np.ndarray) -> float:
    """``L(lambda)`` over every allowed pair, evaluated in full (weak duality: a lower bound
    on every assignment that uses allowed pairs only, for any ``lambda``).

    The candidate floor of :class:`CandidateRelaxation` is loose when one territory's
    multiplier is large (it assumes every unit could join that territory), which the LP's
    multipliers often are; this exact evaluation is O(m n k) once."""
    reduced = cost - lam @ load.T
    reduced = np.where(forbid, np.inf, reduced)
    nowhere = ~np.isfinite(reduced).any(axis=0)
    if nowhere.any():  # no allowed pair: such answers are violations; count the cheapest
        reduced[:, nowhere] = (cost - lam @ load.T)[:, nowhere]
    return float(reduced.min(axis=0).sum()
                 + np.where(lam > 0, lam * lo, lam * hi).sum())

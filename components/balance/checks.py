"""Checks before a solve: weights, bounds, locks and regions, with messages that say
which metric, unit or territory is at fault and what would fix it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from components.errors import InfeasibleError, InputError, ParameterError, preview

if TYPE_CHECKING:
    from components.balance.solver import Bounds


def weights(metrics: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    if weights is not None:
        w = np.asarray(weights, dtype=float).copy()
    else:
        w = metrics[:, 0].copy() if metrics.shape[1] else np.ones(len(metrics))
    # units with no weight still count a little, so they join the nearest center
    # (the reported bound is corrected for this nudge, see _finish)
    w[w <= 0] = max(w.mean(), 1e-12) * 1e-3
    return w

@dataclass
class Names:
    """What messages call metrics, units and territories (defaults: positions)."""

    metrics: list[str]
    units: np.ndarray
    territories: np.ndarray

    @classmethod
    def default(cls, n: int, k: int, m: int) -> Names:
        return cls([f"metric {i}" for i in range(k)], np.arange(n),
                   np.array([str(i) for i in range(m)], dtype=object))

    def metric(self, k: int) -> str:
        """``metric 'population'`` (or ``metric 0`` where no names were given)."""
        name = self.metrics[k]
        return name if name.startswith("metric ") else f"metric {name!r}"

    def unit(self, rows: np.ndarray | int) -> str:
        rows = np.atleast_1d(rows)
        return preview([scalar(v) for v in self.units[rows]])

    def territory(self, i: int) -> str:
        return repr(str(self.territories[i]))


def scalar(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def check_values(metrics: np.ndarray, names: Names) -> None:
    """Finite, non-negative metrics whose totals fit in a float."""
    for k in range(metrics.shape[1]):
        col = metrics[:, k]
        bad = np.flatnonzero(~np.isfinite(col) | (col < 0))
        if len(bad):
            raise InputError(f"{names.metric(k)} must be finite and >= 0; unit(s) "
                             f"{names.unit(bad)} have {preview(col[bad])}",
                             column=names.metrics[k])
        with np.errstate(over="ignore"):
            total = float(col.sum())
        if not np.isfinite(total) or total > 1e300:
            raise InputError(
                f"{names.metric(k)} sums to more than a float holds (largest value "
                f"{col.max():.6g} at unit {names.unit(int(np.argmax(col)))}); rescale the column "
                "(e.g. divide it by 1e6) and balance again", column=names.metrics[k])


def _target_of(b: Bounds, k: int) -> np.ndarray:
    return np.maximum(b.target[:, k], 1e-300)


def necessary_tolerance(metrics: np.ndarray, b: Bounds, names: Names, *,
                        locked: np.ndarray | None = None,
                        regions: tuple[np.ndarray, np.ndarray] | None = None
                        ) -> list[dict[str, Any]]:
    """Per metric, the smallest tolerance no alignment can beat, and why.

    Each reason is a proof, not a guess: a unit must fit in some territory (largest unit
    vs largest target), units locked to a territory all count there, and the units of a
    region are shared by that region's territories only.
    """
    out = []
    m = len(b.target)
    for k in range(metrics.shape[1]):
        tgt = _target_of(b, k)
        j = int(np.argmax(metrics[:, k]))
        proofs = [(metrics[j, k] / tgt.max() - 1.0,
                   f"unit {names.unit(j)} alone has {metrics[j, k]:,.6g}, the largest target is "
                   f"{tgt.max():,.6g}", {"units": [scalar(names.units[j])]})]
        if locked is not None and (locked >= 0).any():
            sums = np.bincount(locked[locked >= 0], weights=metrics[locked >= 0, k],
                               minlength=m)
            i = int(np.argmax(sums / tgt))
            proofs.append((sums[i] / tgt[i] - 1.0,
                           f"units locked to territory {names.territory(i)} sum to "
                           f"{sums[i]:,.6g}, its target is {tgt[i]:,.6g}",
                           {"territories": [str(names.territories[i])]}))
        if regions is not None:
            unit_r, terr_r = regions
            n_r = int(max(unit_r.max(), terr_r.max())) + 1
            have = np.bincount(unit_r, weights=metrics[:, k], minlength=n_r)
            want = np.bincount(terr_r, weights=tgt, minlength=n_r)
            dev = np.abs(np.divide(have, want, out=np.full(n_r, np.inf), where=want > 0) - 1)
            r = int(np.argmax(dev))
            proofs.append((dev[r], f"a region holds {have[r]:,.6g} for territories whose "
                           f"targets sum to {want[r]:,.6g}",
                           {"territories": [str(t) for t in names.territories[terr_r == r]]}))
        value, reason, where = max(proofs, key=lambda p: p[0])
        if value <= 1e-12:
            value, reason, where = 0.0, "no single unit, lock or region rules any out", {}
        out.append({"metric": names.metrics[k], "tolerance": float(value), "reason": reason,
                    **where})
    return out


def check_bounds(metrics: np.ndarray, b: Bounds, names: Names) -> None:
    totals = metrics.sum(axis=0)
    for k in range(metrics.shape[1]):
        lo, hi = b.lower[:, k].sum(), b.upper[:, k].sum()
        if lo > totals[k] * (1 + 1e-9) or hi < totals[k] * (1 - 1e-9):
            raise InfeasibleError(
                f"{names.metric(k)}: territory bounds sum to [{lo:,.6g}, {hi:,.6g}] but the "
                f"total is {totals[k]:,.6g}; widen the bounds so the total fits")
        j = int(np.argmax(metrics[:, k]))
        biggest = metrics[j, k]
        if biggest > b.upper[:, k].max() * (1 + 1e-9):
            need = biggest / _target_of(b, k).max() - 1.0
            raise InfeasibleError(
                f"{names.metric(k)}: unit {names.unit(j)} alone has {biggest:,.6g}, above every "
                f"territory's upper bound (max {b.upper[:, k].max():,.6g}); a tolerance of at "
                f"least {need:.4g} is needed for it: raise the tolerance, use fewer "
                "territories or split that unit")


def check_locked(locked: np.ndarray, given: np.ndarray, m: int, names: Names) -> None:
    bad = np.flatnonzero((locked >= m) | (locked < -1))
    if len(bad):
        raise ParameterError(f"locked territory index out of range at units "
                             f"{names.unit(bad)}", column="locked")
    for i in (int(t) for t in np.flatnonzero(given >= 0)):
        if locked[given[i]] >= 0 and locked[given[i]] != i:
            raise InfeasibleError(
                f"the center of territory {names.territory(i)} (unit {names.unit(given[i])}) "
                f"is locked to territory {names.territory(locked[given[i]])}; a center must "
                "stay in its own territory")


def check_locked_reachable(graph: sp.csr_matrix, locked: np.ndarray,
                           given: np.ndarray, names: Names) -> None:
    """A locked unit must be joinable to its fixed center without crossing units fixed
    to other territories; otherwise no contiguous answer exists."""
    fixed = locked.copy()
    fixed[given[given >= 0]] = np.flatnonzero(given >= 0)
    for t in np.unique(locked[locked >= 0]):
        if given[t] < 0:
            continue
        usable = (fixed < 0) | (fixed == t)
        keep = usable[graph.indices] & np.repeat(usable, np.diff(graph.indptr))
        sub = sp.csr_matrix((keep.astype(float), graph.indices.copy(), graph.indptr.copy()),
                            shape=graph.shape)
        sub.eliminate_zeros()
        reach = np.isfinite(dijkstra(sub, directed=False, indices=int(given[t]),
                                     unweighted=True))
        stuck = np.flatnonzero((locked == t) & ~reach)
        if len(stuck):
            raise InfeasibleError(
                f"unit(s) {names.unit(stuck)} are locked to territory {names.territory(t)} but "
                "every path "
                "from its center crosses units fixed to other territories; no contiguous "
                "answer exists: unlock them or move the center")


def regions(unit_region, territory_region, given, n, m):
    if unit_region is None:
        return None
    unit_r = np.asarray(unit_region)
    terr_r = np.asarray(territory_region) if territory_region is not None else \
        np.full(m, -1)
    terr_r = terr_r.copy()
    terr_r[given >= 0] = unit_r[given[given >= 0]]
    if (terr_r < 0).any():
        raise ParameterError("every territory needs a region: give centers or "
                             "territory regions", column="region")
    return unit_r, terr_r

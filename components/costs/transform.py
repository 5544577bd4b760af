"""Cost transformations: linear, power and exponential distance decay."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from components.costs._checks import check_choice, check_positive
from components.errors import MissingValueError, NegativeValueError, ParameterError, preview

TRANSFORMS = ("linear", "power", "exponential")
# Which keyword each kind reads; a non-default value for any other keyword is a mistake.
_USES = {"linear": {"scale"}, "power": {"scale", "exponent"},
         "exponential": {"scale", "rate"}}
_DEFAULTS = {"scale": 1.0, "exponent": 1.0, "rate": 1.0}


def transform_costs(costs: Any, kind: str = "linear", *, scale: float = 1.0,
                    exponent: float = 1.0, rate: float = 1.0) -> Any:
    """Apply a monotone transformation to a cost matrix, dense or sparse.

    Parameters
    ----------
    costs : numpy.ndarray or scipy.sparse matrix
        Costs ``c >= 0``; ``inf`` (unreachable) stays ``inf``.
    kind : {'linear', 'power', 'exponential'}
        * ``linear``:      ``t(c) = scale * c``
        * ``power``:       ``t(c) = scale * c ** exponent``            (``exponent > 0``)
        * ``exponential``: ``t(c) = scale * (exp(rate * c) - 1)``     (``rate > 0``)

        Every form maps 0 to 0 and is increasing, so zero costs stay zero (sparse
        structure and explicit zeros are preserved) and nearest stays nearest.
        The exponential form subtracts 1 for that reason; it is computed with
        ``expm1`` so small costs keep full precision.
    scale : float > 0
    exponent : float > 0, only for ``kind='power'``
    rate : float > 0, only for ``kind='exponential'``

    Returns
    -------
    Same type as ``costs``: a new float64 array, or a sparse matrix with the same
    stored structure (explicit zeros kept).

    Raises
    ------
    ParameterError
        Unknown ``kind``, a parameter out of range, a parameter the kind does not
        use, or an exponential that overflows float64.
    MissingValueError, NegativeValueError
        NaN / ``-inf`` or negative costs.

    Examples
    --------
    >>> transform_costs(np.array([0.0, 1.0, 2.0]), "power", exponent=2)
    array([0., 1., 4.])
    """
    check_choice(kind, "kind", TRANSFORMS)
    given = {"scale": scale, "exponent": exponent, "rate": rate}
    for name, value in given.items():
        if name not in _USES[kind] and value != _DEFAULTS[name]:
            uses = " and ".join(sorted(_USES[kind]))
            raise ParameterError(
                f"{name} does not apply to kind={kind!r} (it uses {uses}); got {name}={value!r}: "
                f"drop {name} or choose the kind that uses it",
                column=name,
            )
    for name in _USES[kind]:
        check_positive(given[name], name)

    sparse = sp.issparse(costs)
    values = costs.data if sparse else np.asarray(costs, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    _check_costs(costs, values)

    if kind == "linear":
        result = values * float(scale)
    elif kind == "power":
        result = np.power(values, float(exponent)) * float(scale)
    else:
        with np.errstate(over="ignore"):
            result = np.expm1(values * float(rate)) * float(scale)
        overflow = np.isinf(result) & np.isfinite(values)
        if overflow.any():
            worst = float(values[np.isfinite(values)].max())
            raise ParameterError(
                f"rate={rate!r} overflows the exponential: rate * cost reaches "
                f"{rate * worst:.4g} but exp() overflows above ~709; use a smaller rate "
                "or rescale the costs (e.g. km instead of m)",
                column="rate",
            )
    if sparse:
        out = costs.copy().astype(np.float64)
        out.data = result
        return out
    return result


def _cells(costs: Any, flat: np.ndarray) -> list[tuple[int, ...]]:
    """(row, column) of the given positions in ``costs`` (positions in ``.data`` if sparse)."""
    if sp.issparse(costs):
        csr = costs.tocsr()
        rows = np.searchsorted(csr.indptr, flat, side="right") - 1
        return list(zip(rows.tolist(), csr.indices[flat].tolist(), strict=True))
    shape = np.shape(costs)
    if len(shape) < 2:
        return [(int(p),) for p in flat]
    return [tuple(int(x) for x in idx) for idx in zip(*np.unravel_index(flat, shape), strict=True)]


def _check_costs(costs: Any, values: np.ndarray) -> None:
    flat_values = values.ravel()
    bad = np.flatnonzero(np.isnan(flat_values) | (flat_values == -np.inf))
    if bad.size:
        cells = _cells(costs, bad[:5])
        raise MissingValueError(
            f"costs contain {bad.size} NaN or -inf values at (row, column) {preview(cells)}; "
            "fill or drop them: use +inf for unreachable pairs",
            column="costs", rows=cells,
        )
    negative = np.flatnonzero(flat_values < 0)
    if negative.size:
        cells = _cells(costs, negative[:5])
        raise NegativeValueError(
            f"costs contain {negative.size} negative values at (row, column) {preview(cells)} "
            f"(e.g. {flat_values[negative[0]]!r}); costs must be >= 0",
            column="costs", rows=cells,
        )

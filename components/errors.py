"""Errors raised by terraplan components.

Every error a user can cause is an :class:`InputError`: the message names the
column or parameter, the offending values or rows, and what to do about it.
The CLI prints ``str(error)`` without a traceback and exits with status 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def preview(values: Iterable[Any], limit: int = 5) -> str:
    """Render the first ``limit`` values for a message: ``'a', 'b', 'c' (+7 more)``."""
    items = list(values)
    shown = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in items[:limit])
    more = len(items) - limit
    return f"{shown} (+{more} more)" if more > 0 else shown


class TerraplanError(Exception):
    """Base class of every error terraplan raises on purpose."""


class InputError(TerraplanError, ValueError):
    """Bad user input: a table, a column, a parameter.

    ``column`` names the column or parameter at fault (if any) and ``rows`` holds
    the offending row positions or ids, so callers can act on them.
    """

    def __init__(self, message: str, *, column: str | None = None,
                 rows: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.column = column
        self.rows = list(rows)


class MissingColumnError(InputError):
    """A required column is absent from a table."""


class DuplicateIdError(InputError):
    """The id column has repeated values."""


class MissingValueError(InputError):
    """NULL, NaN or infinite values where numbers are required."""


class NegativeValueError(InputError):
    """A metric, weight or cost that must be >= 0 is negative."""


class CoordinateRangeError(InputError):
    """Longitude or latitude outside its valid range."""


class EmptyTableError(InputError):
    """A table that must have rows has none."""


class TooManyTerritoriesError(InputError):
    """More territories (or facilities) requested than there are units."""


class UnknownIdError(InputError):
    """A table refers to ids that do not exist in the table it points at."""


class ParameterError(InputError):
    """A parameter is outside its allowed type, range or set of choices."""


class InfeasibleError(TerraplanError):
    """The request cannot be met by any solution; the message gives the numbers."""


class SolverError(TerraplanError):
    """The solver failed for a reason other than the input (a bug or a limit)."""

"""The SCU table convention shared by every component.

An SCU (sales coverage unit) table has one row per unit:

============  ==========================================================
column        meaning
============  ==========================================================
id            unique identifier (string or integer), never NULL
x, y          planar coordinates, *or*
lon, lat      WGS84 longitude / latitude in degrees
metrics       one or more additive, non-negative numeric columns
current       optional: the unit's current territory
wkt           optional: the unit's polygon as WKT
h3            optional: the unit's H3 cell
============  ==========================================================

Column names are free; :class:`SCUColumns` says which is which. When no
coordinate columns are named, ``lon``/``lat`` (or ``longitude``/``latitude``)
are used if present, else ``x``/``y``.

:func:`validate_scus` checks a table against the convention once, at the
boundary, and returns an :class:`SCUTable` of typed numpy arrays the solvers use.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from components.errors import (
    CoordinateRangeError,
    DuplicateIdError,
    EmptyTableError,
    InputError,
    MissingColumnError,
    MissingValueError,
    NegativeValueError,
    TooManyTerritoriesError,
    preview,
)

# the current-territory label of a unit that has none today (new since the last run):
# it names no territory and moving it counts as no move
NEW_UNIT = "(new)"

LONLAT_NAMES = (("lon", "lat"), ("longitude", "latitude"), ("lng", "lat"))
PLANAR_NAMES = (("x", "y"),)


@dataclass(frozen=True)
class SCUColumns:
    """Which column of an SCU table plays which role."""

    id: str = "id"
    x: str | None = None
    y: str | None = None
    lon: str | None = None
    lat: str | None = None
    metrics: tuple[str, ...] = ()
    current: str | None = None
    wkt: str | None = None
    h3: str | None = None

    def __post_init__(self) -> None:
        if (self.x is None) != (self.y is None):
            raise InputError("give both x and y columns (--x COL --y COL), or neither",
                             column=self.x or self.y)
        if (self.lon is None) != (self.lat is None):
            raise InputError("give both lon and lat columns (--lon COL --lat COL), or neither",
                             column=self.lon or self.lat)
        if self.x is not None and self.lon is not None:
            raise InputError("give either planar x/y or lon/lat coordinates, not both",
                             column=self.x)
        object.__setattr__(self, "metrics", tuple(self.metrics))

    def resolve(self, columns: list[str]) -> SCUColumns:
        """Fill in coordinate columns by convention when none were named."""
        if self.x is not None or self.lon is not None:
            return self
        present = set(columns)
        for lon, lat in LONLAT_NAMES:
            if lon in present and lat in present:
                return replace(self, lon=lon, lat=lat)
        for x, y in PLANAR_NAMES:
            if x in present and y in present:
                return replace(self, x=x, y=y)
        raise MissingColumnError(
            "no coordinate columns: name them with --x COL --y COL (planar) or "
            f"--lon COL --lat COL (degrees); columns present: {', '.join(map(str, columns))}",
            column="lon/lat",
        )

    @property
    def coordinate_kind(self) -> str:
        return "lonlat" if self.lon is not None else "planar"

    @property
    def coordinate_columns(self) -> tuple[str, str]:
        if self.lon is not None and self.lat is not None:
            return self.lon, self.lat
        if self.x is not None and self.y is not None:
            return self.x, self.y
        raise InputError("coordinate columns are not resolved; call resolve() first")


@dataclass(frozen=True)
class SCUTable:
    """A validated SCU table as typed arrays (row order = input order)."""

    ids: np.ndarray
    coords: np.ndarray
    coordinate_kind: str
    metrics: np.ndarray
    metric_names: tuple[str, ...]
    columns: SCUColumns
    current: np.ndarray | None = None
    wkt: np.ndarray | None = None
    h3: np.ndarray | None = None
    frame: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def n(self) -> int:
        return len(self.ids)

    def index_of(self, ids: object, *, what: str = "id") -> np.ndarray:
        """Row positions of the given ids; unknown ids raise with their values."""
        from components.errors import UnknownIdError

        wanted = pd.Index(np.asarray(ids, dtype=object))
        lookup = pd.Index(self.ids.astype(object))
        pos = lookup.get_indexer(wanted)
        if (pos < 0).any():
            bad = wanted[pos < 0]
            raise UnknownIdError(
                f"{what}: {len(bad)} id(s) not found in the SCU table's '{self.columns.id}' "
                f"column: {preview(bad)}; check the ids and their type (text vs number)",
                column=what, rows=list(bad),
            )
        return pos


def in_id_order(df: pd.DataFrame, id_column: str | None) -> pd.DataFrame:
    """The rows sorted by their id as text (stable); the index keeps the user's row labels,
    so messages still name the rows as given.

    A warehouse table has no row order (DuckDB, Snowflake, Redshift's LISTAGG and Spark
    each hand the rows over in their own), while solvers break ties by position: a
    component that sees its units in id order gives one answer for one table."""
    if id_column is None or id_column not in df.columns:
        return df
    order = np.argsort(df[id_column].astype(str).to_numpy(), kind="stable")
    if (order == np.arange(len(order))).all():
        return df
    return df.iloc[order]


def _ids_of(df: pd.DataFrame, id_col: str, mask: np.ndarray) -> list[object]:
    return list(df.loc[mask, id_col]) if id_col in df.columns else list(np.flatnonzero(mask))


def _require_columns(df: pd.DataFrame, names: list[str], table: str) -> None:
    present = [str(c) for c in df.columns]
    for name in names:
        if name not in df.columns:
            raise MissingColumnError(
                f"column '{name}' not found in the {table}; columns present: "
                f"{', '.join(present) if present else '(none)'}",
                column=name,
            )


def _numeric(df: pd.DataFrame, col: str, id_col: str, role: str) -> np.ndarray:
    """Column as float64; NULL, NaN, text and +-inf are reported with the unit ids."""
    raw = df[col]
    values = pd.to_numeric(raw, errors="coerce")
    not_number = values.isna() & raw.notna()
    if not_number.any():
        bad = raw[not_number]
        raise InputError(
            f"{role} column '{col}' has {int(not_number.sum())} value(s) that are not numbers "
            f"(ids {preview(_ids_of(df, id_col, not_number.to_numpy()))}: "
            f"{preview(bad.astype(str))}); clean them or cast the column",
            column=col, rows=_ids_of(df, id_col, not_number.to_numpy()),
        )
    arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
    bad_mask = ~np.isfinite(arr)
    if bad_mask.any():
        rows = _ids_of(df, id_col, bad_mask)
        raise MissingValueError(
            f"{role} column '{col}' has {int(bad_mask.sum())} NULL, NaN or infinite value(s) "
            f"at ids {preview(rows)}; fill them in or drop those rows",
            column=col, rows=rows,
        )
    return arr


def validate_scus(
    df: pd.DataFrame,
    columns: SCUColumns,
    *,
    territories: int | None = None,
    require_metrics: bool = True,
    table: str = "SCU table",
) -> SCUTable:
    """Check an SCU table and return it as typed arrays.

    Raises a subclass of :class:`~components.errors.InputError` naming the column,
    the offending ids and the fix for: an empty table, a missing column, NULL or
    duplicate ids, non-numeric / NULL / NaN / infinite coordinates or metrics,
    negative metrics, longitude or latitude out of range, and more territories
    than units.

    >>> import pandas as pd
    >>> t = validate_scus(pd.DataFrame({"id": ["a", "b"], "x": [0, 1], "y": [0, 0],
    ...                                 "pop": [5, 7]}), SCUColumns(metrics=("pop",)))
    >>> t.metrics.sum()
    12.0
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"the {table} must be a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise EmptyTableError(f"the {table} is empty: it needs at least one row", column=None)
    cols = columns.resolve([str(c) for c in df.columns])
    if require_metrics and not cols.metrics:
        raise InputError("name at least one metric column to balance (--metric COL)",
                         column="metric")
    needed = [cols.id, *cols.coordinate_columns, *cols.metrics]
    needed += [c for c in (cols.current, cols.wkt, cols.h3) if c is not None]
    _require_columns(df, needed, table)

    ids = df[cols.id]
    null_ids = ids.isna().to_numpy()
    if null_ids.any():
        rows: list[object] = list(np.flatnonzero(null_ids))
        raise MissingValueError(
            f"id column '{cols.id}' has {len(rows)} NULL value(s) at row(s) {preview(rows)}; "
            "every unit needs an id", column=cols.id, rows=rows,
        )
    dup_mask = ids.duplicated(keep=False).to_numpy()
    if dup_mask.any():
        dups = pd.unique(ids[dup_mask])
        raise DuplicateIdError(
            f"id column '{cols.id}' has {len(dups)} duplicated id(s) "
            f"({int(dup_mask.sum())} rows), e.g. {preview(dups)}; ids must be unique: "
            "aggregate to one row per unit first",
            column=cols.id, rows=list(dups),
        )

    c1, c2 = cols.coordinate_columns
    xy = np.column_stack([_numeric(df, c1, cols.id, "coordinate"),
                          _numeric(df, c2, cols.id, "coordinate")])
    if cols.coordinate_kind == "lonlat":
        _check_lonlat(df, cols, xy)

    metrics = np.zeros((len(df), len(cols.metrics)), dtype=np.float64)
    for k, name in enumerate(cols.metrics):
        metrics[:, k] = _numeric(df, name, cols.id, "metric")
        neg = metrics[:, k] < 0
        if neg.any():
            rows = _ids_of(df, cols.id, neg)
            raise NegativeValueError(
                f"metric column '{name}' has {int(neg.sum())} negative value(s) at ids "
                f"{preview(rows)} (min {metrics[neg, k].min():g}); metrics must be >= 0",
                column=name, rows=rows,
            )

    if territories is not None and territories > len(df):
        raise TooManyTerritoriesError(
            f"{territories} territories requested but the {table} has only {len(df)} "
            f"unit(s); ask for at most {len(df)} territories",
            column="territories",
        )

    current = None
    if cols.current is not None:
        cur = df[cols.current]
        if cur.isna().any():
            rows = _ids_of(df, cols.id, cur.isna().to_numpy())
            raise MissingValueError(
                f"current-territory column '{cols.current}' is NULL at ids {preview(rows)}; "
                "give every unit its current territory (or a placeholder such as 'unassigned')",
                column=cols.current, rows=rows,
            )
        current = cur.to_numpy(dtype=object)

    return SCUTable(
        ids=ids.to_numpy(dtype=object),
        coords=xy,
        coordinate_kind=cols.coordinate_kind,
        metrics=metrics,
        metric_names=cols.metrics,
        columns=cols,
        current=current,
        wkt=df[cols.wkt].to_numpy(dtype=object) if cols.wkt else None,
        h3=df[cols.h3].to_numpy(dtype=object) if cols.h3 else None,
        frame=df,
    )


def _check_lonlat(df: pd.DataFrame, cols: SCUColumns, xy: np.ndarray) -> None:
    lon, lat = xy[:, 0], xy[:, 1]
    bad_lon = (lon < -180) | (lon > 180)
    bad_lat = (lat < -90) | (lat > 90)
    swapped = bool(
        (bad_lon.any() or bad_lat.any())
        and np.all((lat >= -180) & (lat <= 180)) and np.all((lon >= -90) & (lon <= 90))
    )
    hint = " (the values fit the other way round: are --lon and --lat swapped?)" if swapped else ""
    if bad_lat.any():
        rows = _ids_of(df, cols.id, bad_lat)
        raise CoordinateRangeError(
            f"latitude column '{cols.lat}' has {int(bad_lat.sum())} value(s) outside "
            f"[-90, 90] at ids {preview(rows)} (e.g. {lat[bad_lat][0]:g}){hint}",
            column=cols.lat, rows=rows,
        )
    if bad_lon.any():
        rows = _ids_of(df, cols.id, bad_lon)
        raise CoordinateRangeError(
            f"longitude column '{cols.lon}' has {int(bad_lon.sum())} value(s) outside "
            f"[-180, 180] at ids {preview(rows)} (e.g. {lon[bad_lon][0]:g}){hint}",
            column=cols.lon, rows=rows,
        )

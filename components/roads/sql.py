"""The road builder's SQL twin: way-node tables and road segments where the OSM data lives.

* :func:`osm_way_nodes_sql` renders ``roads/osm_way_nodes``: the way-node table from
  tables shaped like BigQuery's public ``planet_ways`` / ``planet_nodes``.
* :func:`road_segments_sql` renders ``roads/segments``: one edge per consecutive pair of
  way nodes with the lengths, speeds and directions of :mod:`components.roads.speeds`
  (the profile filter, class speeds, ``maxspeed`` parsing and one-way rules are built
  here as sqlglot expressions from the same tables the Python builder reads).

Table names are given as parts (``"t"`` or ``("project", "dataset", "t")``); every part
becomes a quoted identifier. Speeds are numbers checked by :func:`speed_table`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.errors import ParameterError
from components.roads.network import parse_bbox
from components.roads.speeds import _ALLOWED, _NO, _ZONE_SPEEDS, PROFILES, speed_table

_NUMBER = "^ *[0-9]+[.]?[0-9]* *(km/h|kmh|kph)? *$"
_UNIT_NUMBERS = (("^ *[0-9]+[.]?[0-9]* *mph *$", 1.609344),
                 ("^ *[0-9]+[.]?[0-9]* *knots *$", 1.852))


def _table(name: str | tuple[str, ...]) -> Any:
    from components.sqlgen import table

    return table(name) if isinstance(name, str) else table(*name)


def osm_way_nodes_sql(ways: str | tuple[str, ...], nodes: str | tuple[str, ...], *,
                      dialect: str = "duckdb", bbox: Any = None) -> str:
    """SQL for the way-node table from ``planet_ways``/``planet_nodes``-shaped tables.

    >>> "UNNEST" in osm_way_nodes_sql(("bigquery-public-data", "geo_openstreetmap",
    ...                                "planet_ways"), "planet_nodes", dialect="bigquery")
    True
    """
    from components import sqlgen

    box = parse_bbox(bbox)
    min_lon, min_lat, max_lon, max_lat = box if box is not None else (None,) * 4
    return sqlgen.render("roads/osm_way_nodes", dialect, ways=_table(ways),
                         nodes=_table(nodes), min_lon=min_lon, min_lat=min_lat,
                         max_lon=max_lon, max_lat=max_lat)


def road_segments_sql(way_nodes: str | tuple[str, ...], *, dialect: str = "duckdb",
                      profile: str = "drive",
                      speeds: Mapping[str, Any] | None = None) -> str:
    """SQL for the segment edge table of ``profile`` from a way-node table.

    >>> "LEAD" in road_segments_sql("way_nodes", dialect="snowflake")
    True
    """
    from components import sqlgen

    if profile not in PROFILES:
        raise ParameterError(f"profile must be one of {', '.join(PROFILES)}; got "
                             f"{profile!r}", column="profile")
    table = speed_table(profile, speeds)
    return sqlgen.render("roads/segments", dialect, way_nodes=_table(way_nodes),
                         travelled=_travelled(profile, table), class_kmh=_class_kmh(table),
                         posted_kmh=_posted_kmh() if profile == "drive" else None,
                         direction=_direction(profile))


# -- expressions ---------------------------------------------------------------------------

def _col(name: str) -> Any:
    from sqlglot import exp

    return exp.column(name)


def _text(name: str) -> Any:
    """``LOWER(COALESCE(tag, ''))``."""
    from sqlglot import exp

    return exp.Lower(this=exp.Coalesce(this=_col(name), expressions=[exp.Literal.string("")]))


def _in(value: Any, options: Any) -> Any:
    from sqlglot import exp

    return exp.In(this=value, expressions=[exp.Literal.string(o) for o in sorted(options)])


def _class_kmh(table: Mapping[str, float]) -> Any:
    from sqlglot import exp

    case = exp.Case()
    for name, kmh in sorted(table.items()):
        case = case.when(exp.EQ(this=_col("highway"), expression=exp.Literal.string(name)),
                         exp.Literal.number(repr(float(kmh))))
    return case


def _travelled(profile: str, table: Mapping[str, float]) -> Any:
    from sqlglot import exp

    mode_tags = ("motorcar", "motor_vehicle") if profile == "drive" else ("foot",)
    mode = exp.Lower(this=exp.Coalesce(this=_col(mode_tags[0]), expressions=[
        *(_col(t) for t in mode_tags[1:]), exp.Literal.string("")]))
    parts = [
        _in(_col("highway"), table),
        exp.NEQ(this=_text("area"), expression=exp.Literal.string("yes")),
        exp.Not(this=_in(mode, _NO)),
        exp.Not(this=exp.paren(exp.and_(_in(_text("access"), _NO),
                                        exp.Not(this=_in(mode.copy(), _ALLOWED))))),
    ]
    if profile == "drive":
        parts.append(exp.Not(this=_in(_text("oneway"), ("reversible", "alternating"))))
    return exp.paren(exp.and_(*parts))


def _direction(profile: str) -> Any:
    from sqlglot import exp

    if profile == "walk":
        return exp.Literal.number(0)
    oneway = _text("oneway")
    implied = exp.and_(
        exp.paren(exp.or_(_in(_text("junction"), ("roundabout", "circular")),
                          exp.EQ(this=_text("highway"), expression=exp.Literal.string(
                              "motorway")))),
        exp.Not(this=_in(oneway.copy(), ("no", "false", "0"))))
    return (exp.Case()
            .when(_in(oneway.copy(), ("-1", "reverse")), exp.Literal.number(-1))
            .when(exp.or_(_in(oneway.copy(), ("yes", "true", "1")), exp.paren(implied)),
                  exp.Literal.number(1))
            .else_(exp.Literal.number(0)))


def _posted_kmh() -> Any:
    """maxspeed's first value in km/h (numbers, mph, knots, zone names), else NULL."""
    from sqlglot import exp

    first = exp.Lower(this=exp.Trim(this=exp.RegexpExtract(
        this=_col("maxspeed"), expression=exp.Literal.string("^[^;]*"))))
    number = exp.TryCast(this=exp.RegexpExtract(
        this=first.copy(), expression=exp.Literal.string("[0-9]+[.]?[0-9]*")),
        to=exp.DataType.build("double"))
    positive = exp.Nullif(this=number, expression=exp.Literal.number(0))

    def matches(pattern: str) -> Any:
        return exp.RegexpLike(this=first.copy(), expression=exp.Literal.string(pattern))

    case = exp.Case().when(matches(_NUMBER), positive.copy())
    for pattern, factor in _UNIT_NUMBERS:
        case = case.when(matches(pattern), exp.Mul(this=positive.copy(),
                                                   expression=exp.Literal.number(factor)))
    for zone, kmh in sorted(_ZONE_SPEEDS.items()):
        case = case.when(exp.or_(
            exp.EQ(this=first.copy(), expression=exp.Literal.string(zone)),
            exp.Like(this=first.copy(), expression=exp.Literal.string(f"%:{zone}"))),
            exp.Literal.number(repr(kmh)))
    return case


# -- Overture Maps -------------------------------------------------------------------------

# Overture travel modes that a profile's rules name (TravelMode values of the schema)
OVERTURE_MODES = {"drive": ("car", "motor_vehicle", "vehicle"), "walk": ("foot",)}
LENGTHS = ("chord", "st_length")


def overture_segments_sql(segments: str | tuple[str, ...], connectors: str | tuple[str, ...],
                          *, dialect: str = "duckdb", profile: str = "drive",
                          speeds: Mapping[str, Any] | None = None,
                          length: str = "chord") -> str:
    """SQL for the edge table of ``profile`` from Overture ``segment``/``connector`` tables.

    ``length="chord"`` measures a step as the haversine between its two connectors
    (portable, no geography functions; short of the road's length where it bends between
    connectors); ``"st_length"`` uses ``ST_LENGTH(geometry) * (at' - at)``, metres where
    ``geometry`` is a GEOGRAPHY (BigQuery, Snowflake).

    >>> "FLATTEN" in overture_segments_sql("segment", "connector", dialect="snowflake")
    True
    """
    from sqlglot import exp

    from components import sqlgen

    if profile not in PROFILES:
        raise ParameterError(f"profile must be one of {', '.join(PROFILES)}; got "
                             f"{profile!r}", column="profile")
    if length not in LENGTHS:
        raise ParameterError(f"length must be one of {', '.join(LENGTHS)}; got {length!r}",
                             column="length")
    table = speed_table(profile, speeds)
    segment_length = (exp.func("ST_LENGTH", exp.column("geometry", table="s"))
                      if length == "st_length" else exp.cast(exp.null(), "double"))
    return sqlgen.render(
        "roads/overture_segments", dialect, segments=_table(segments),
        connectors=_table(connectors), class_kmh=_class_kmh(table),
        # TRIM: fakesnow casts a VARIANT string to text with its JSON quotes, Snowflake
        # without; mode names have no quotes, so both read the same
        mode_named=_in(exp.Trim(this=exp.cast(exp.column("mode", table="m"), "text"),
                                expression=exp.Literal.string('"')), OVERTURE_MODES[profile]),
        heading_matters=exp.true() if profile == "drive" else exp.false(),
        use_limits=exp.true() if profile == "drive" else exp.false(),
        segment_length_m=segment_length)

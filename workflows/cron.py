"""A workflow's ``schedule`` block, checked: cron, time zone and on_change sources.

Cron: five fields (minute hour day-of-month month day-of-week), each ``*``, a value, a
range ``a-b``, a step ``*/n`` or ``a-b/n``, or a comma list of those; month and weekday
names (JAN, MON) are accepted. Errors name the field and the value. Each warehouse adapter
turns a :class:`Schedule` into its scheduler's own objects (``udfs/<warehouse>/``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from components.errors import InputError
from workflows.spec import Workflow

FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
          ("day of week", 0, 6))
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_ITEM = re.compile(r"^(?:(\*)|([0-9A-Za-z]+)(?:-([0-9A-Za-z]+))?)(?:/([0-9]+))?$")


@dataclass(frozen=True)
class Cron:
    """A checked 5-field cron expression."""

    text: str                              # the five fields, single-spaced
    values: tuple[tuple[int, ...], ...]    # the values each field matches, sorted
    restricted: tuple[bool, ...]           # False for '*' (matters for day fields)

    @property
    def minutes_of_day(self) -> list[int]:
        return sorted(h * 60 + m for h in self.values[1] for m in self.values[0])


def _cron_error(text: str, message: str) -> InputError:
    return InputError(f"schedule.cron {text!r}: {message}", column="schedule.cron")


def _value(token: str, field: int, text: str) -> int:
    name, lo, hi = FIELDS[field]
    names = MONTHS if field == 3 else DAYS if field == 4 else ()
    if token.upper() in names:
        return names.index(token.upper()) + (1 if field == 3 else 0)
    if not token.isdigit():
        hint = f" (or a name: {', '.join(names)})" if names else ""
        raise _cron_error(text, f"{name} value {token!r} is not a number {lo}-{hi}{hint}")
    value = int(token)
    if not lo <= value <= hi:
        extra = "; use 0 or SUN for Sunday" if field == 4 and value == 7 else ""
        raise _cron_error(text, f"{name} value {value} is out of range {lo}-{hi}{extra}")
    return value


def parse_cron(text: Any) -> Cron:
    """Check a 5-field cron expression; every error names the field and the value."""
    if not isinstance(text, str) or not text.strip():
        raise _cron_error(str(text), "must be five fields like '0 6 * * 1' (Mondays 06:00)")
    fields = text.split()
    if len(fields) != 5:
        raise _cron_error(text, f"has {len(fields)} field(s); use 5: minute hour "
                                "day-of-month month day-of-week, e.g. '0 6 * * 1'")
    values, restricted = [], []
    for i, raw in enumerate(fields):
        name, lo, hi = FIELDS[i]
        found: set[int] = set()
        for item in raw.split(","):
            match = _ITEM.match(item)
            if not match:
                raise _cron_error(text, f"{name} field {raw!r}: {item!r} is not a value, "
                                        "range a-b, step */n or a-b/n")
            star, first, last, step = match.groups()
            start = lo if star else _value(first, i, text)
            stop = hi if star or (step and not last) else _value(last or first, i, text)
            if start > stop:
                raise _cron_error(text, f"{name} range {item!r} runs backwards")
            stride = int(step) if step else 1
            if stride == 0:
                raise _cron_error(text, f"{name} step in {item!r} must be at least 1")
            found.update(range(start, stop + 1, stride))
        values.append(tuple(sorted(found)))
        restricted.append(raw != "*")
    return Cron(" ".join(fields), tuple(values), tuple(restricted))


def check_timezone(name: Any) -> str:
    """An IANA time zone name (Snowflake, cron's CRON_TZ and zoneinfo all use them)."""
    if isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_+\-/]+", name):
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise InputError(f"schedule.timezone {name!r} is not an IANA time zone name; use e.g. "
                     "'UTC', 'Europe/Berlin' or 'America/New_York'", column="schedule.timezone")


@dataclass(frozen=True)
class Schedule:
    cron: Cron | None
    timezone: str
    on_change: tuple[str, ...]


def workflow_schedule(wf: Workflow) -> Schedule:
    block = wf.schedule or {}
    if not block.get("cron") and not block.get("on_change"):
        raise InputError(f"workflow {wf.name!r} has no schedule: add e.g. schedule: {{cron: "
                         "'0 6 * * 1', timezone: UTC}} and/or schedule: {on_change: [SOURCE]}",
                         column="schedule")
    cron = parse_cron(block["cron"]) if block.get("cron") else None
    return Schedule(cron, check_timezone(block.get("timezone") or "UTC"),
                    tuple(block.get("on_change") or ()))

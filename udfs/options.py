"""Command-line options a warehouse adapter takes, as data.

An adapter lists its options in ``cli_options``; ``terraplan compile`` and ``terraplan
schedule`` add every adapter's options for that command (one option shared by several
adapters gets each one's help), so the workflow CLI names no warehouse itself. Options
whose ``dest`` is a :class:`udfs.base.Location` field fill the location; the others reach
the adapter's ``schedule`` as keyword arguments.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CliOption:
    flag: str                                   # "--task-warehouse"
    help: str                                   # what it means for this adapter
    commands: tuple[str, ...] = ("compile", "schedule")
    metavar: str | None = None
    default: Any = None
    keyword: str | None = None                  # the argument's name; default from the flag

    @property
    def dest(self) -> str:
        return self.keyword or self.flag.lstrip("-").replace("-", "_")


def options_of(adapter: Any, command: str) -> list[CliOption]:
    """The adapter's options for ``command`` (none when it declares no ``cli_options``)."""
    declared: Iterable[CliOption] = adapter.cli_options
    return [o for o in declared if command in o.commands]


def command_group(sub: argparse._SubParsersAction, groups: dict[str, argparse._SubParsersAction],
                  name: str, help_text: str) -> argparse._SubParsersAction:
    """The sub-subparsers of a shared command (``deploy``, ``serve``), created once."""
    if name not in groups:
        parser = sub.add_parser(name, help=help_text, description=help_text)
        groups[name] = parser.add_subparsers(dest=f"{name}_target", metavar="WAREHOUSE",
                                             required=True)
    return groups[name]

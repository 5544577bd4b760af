"""Reports a person can read: the self-contained HTML territory map."""

from __future__ import annotations

from components.report.html_map import render_map, write_map

__all__ = ["render_map", "write_map"]

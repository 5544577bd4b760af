"""Reports a person can read: the self-contained HTML territory map."""

from __future__ import annotations

from components.report.html_map import render_map, write_html, write_map
from components.report.result_map import result_map_inputs

__all__ = ["render_map", "result_map_inputs", "write_html", "write_map"]

"""The HTML around the map: summary, legend, balance chart, details panel, CSS and JS.

Everything here is static text and escaped user values; the page fetches nothing.
"""

from __future__ import annotations

import html
import math
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

UNASSIGNED_COLOUR = "#e4e4e4"
UNASSIGNED_LABEL = "unassigned"


def _is_null(value: object) -> bool:
    """None, NaN, NaT or pd.NA; False for strings and anything array-like."""
    if value is None:
        return True
    if isinstance(value, str) or np.ndim(value) != 0:
        return False
    return bool(pd.isna(value))  # type: ignore[call-overload]



def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _format_value(value: object) -> str:
    """Numbers readable at a glance: thousands separators, few decimals."""
    if _is_null(value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isinf(v):
            return str(v)
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:,.2f}" if abs(v) >= 1 else f"{v:.3g}"
    return str(value)


def _legend(
    keys: Sequence[str],
    colours: Mapping[str, str],
    unit_keys: Sequence[str | None],
    legend_rows: Mapping[str, int],
    territories: pd.DataFrame | None,
) -> str:
    counts: dict[str | None, int] = {}
    for key in unit_keys:
        counts[key] = counts.get(key, 0) + 1
    metrics: list[Hashable] = []
    if territories is not None:
        metrics = [c for c in territories.columns if c != "territory"]
    show_count = "units" not in {str(c) for c in metrics}
    header = "".join(f"<th>{_e(c)}</th>" for c in (["units"] if show_count else []) + metrics)
    rows = []
    for t, key in enumerate([*keys, None]):
        if key is None and None not in counts:
            continue
        colour = colours[key] if key is not None else UNASSIGNED_COLOUR
        cells = [f"{counts.get(key, 0):,}"] if show_count else []
        position = legend_rows.get(key) if key is not None else None
        for column in metrics:
            value = territories[column].iloc[position] if position is not None else None
            cells.append(_e(_format_value(value)))
        name = _e(key) if key is not None else f"<i>{UNASSIGNED_LABEL}</i>"
        rows.append(
            f'<tr data-t="{t}"><td><span class="swatch" style="background:{colour}">'
            f"</span>{name}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
        )
    return (
        f'<table class="legend"><thead><tr><th>territory</th>{header}</tr></thead>'
        "<tbody>\n" + "\n".join(rows) + "\n</tbody></table>"
    )


def _summary(summary: Mapping[str, object]) -> str:
    if not summary:
        return ""
    items = "".join(
        f"<div><dt>{_e(k)}</dt><dd>{_e(_format_value(v))}</dd></div>" for k, v in summary.items()
    )
    return f'<dl class="summary">{items}</dl>'


_CSS = """\
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:16px;color:#222}
h1{font-size:20px;margin:0 0 8px}
.summary{display:flex;flex-wrap:wrap;gap:4px 20px;margin:0 0 12px;font-size:13px}
.summary div{display:flex;gap:6px}.summary dt{color:#666}.summary dd{margin:0;font-weight:600}
.wrap{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
svg.map{max-width:100%;height:auto;background:#fafafa;border:1px solid #ddd}
.edge{fill:none;stroke:#222;stroke-width:3;stroke-linejoin:round}
.fill{fill-rule:evenodd;stroke:#fff;stroke-width:.5;stroke-opacity:.8;stroke-linejoin:round}
.fill .pt{stroke:#333;stroke-width:.6}
.fill use:hover{fill-opacity:.7}
.center path{stroke:#111;stroke-width:1.5}.center path+path{stroke-width:.8}
.center text{font-size:11px;font-weight:700;fill:#111;stroke:#fff;stroke-width:3px;
paint-order:stroke;stroke-linejoin:round}
svg.focus g.territory:not(.on){opacity:.2}
.legend{border-collapse:collapse;font-size:13px;max-height:80vh;overflow:auto;display:block}
.legend th,.legend td{padding:2px 8px;text-align:right;border-bottom:1px solid #eee}
.legend th:first-child,.legend td:first-child{text-align:left;white-space:nowrap}
.legend tbody tr:hover{background:#f0f0f0;cursor:default}
.swatch{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:-1px;
border:1px solid #666}
"""

# Hovering a legend row dims the other territories; no user data goes in here.
_JS = """\
(function(){var svg=document.querySelector('svg.map');if(!svg)return;
document.querySelectorAll('.legend tr[data-t]').forEach(function(row){
row.addEventListener('mouseenter',function(){var g=svg.querySelector(
'g.territory[data-t="'+row.getAttribute('data-t')+'"]');if(g){g.classList.add('on');
svg.classList.add('focus');}});
row.addEventListener('mouseleave',function(){svg.classList.remove('focus');
svg.querySelectorAll('g.territory.on').forEach(function(g){g.classList.remove('on');});});});
})();
"""


def _page(title: str, summary: Mapping[str, object], svg: str, legend: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>\n{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{_e(title)}</h1>\n{_summary(summary)}\n"
        f'<div class="wrap">\n{svg}\n{legend}\n</div>\n<script>\n{_JS}</script>\n'
        "</body>\n</html>\n"
    )

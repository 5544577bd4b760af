"""The HTML around the map: summary, legend, balance chart, details panel, CSS and JS.

Everything here is static text and escaped user values; the page fetches nothing.
"""

from __future__ import annotations

import html
import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

UNASSIGNED_COLOUR = "#e4e4e4"
UNASSIGNED_LABEL = "unassigned"


def _is_null(value: Any) -> bool:
    """None, NaN, NaT or pd.NA; False for strings and anything array-like."""
    if value is None:
        return True
    if isinstance(value, str) or np.ndim(value) != 0:
        return False
    return bool(pd.isna(value))



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
            value = (territories[column].iloc[position]
                     if position is not None and territories is not None else None)
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


def balance_chart(keys: Sequence[str], colours: Mapping[str, str],
                  territories: pd.DataFrame | None, balance: Mapping[str, float]) -> str:
    """Per territory and metric, a bar of total / target on a 0.7-1.3 scale with the
    tolerance band shaded; territories outside the band are flagged."""
    if territories is None or "territory" not in territories.columns:
        return ""
    metrics = [m for m in balance if f"{m}_ratio" in territories.columns]
    if not metrics:
        return ""
    rows_by_key = {str(t): i for i, t in enumerate(territories["territory"])}
    lo, hi = 0.7, 1.3

    def pct(x: float) -> str:
        return f"{(min(hi, max(lo, x)) - lo) / (hi - lo) * 100:.1f}%"

    head = "".join(f"<th>{_e(m)} (±{100 * balance[m]:.0f} %)</th>" for m in metrics)
    body, flagged = [], 0
    for t, key in enumerate(keys):
        i = rows_by_key.get(key)
        if i is None:
            continue
        cells, out = [], False
        for m in metrics:
            r = float(territories[f"{m}_ratio"].iloc[i])
            tol = float(balance[m])
            bad = abs(r - 1) > tol + 1e-9
            out |= bad
            cells.append(
                f'<td><span class="bar{" out" if bad else ""}" data-metric="{_e(m)}" '
                f'data-ratio="{r:.4f}"><span class="band" style="left:{pct(1 - tol)};'
                f'width:calc({pct(1 + tol)} - {pct(1 - tol)})"></span><span class="fill" '
                f'style="width:{pct(r)}"></span><span class="one"></span></span> '
                f"{r:.3f}</td>")
        flagged += out
        body.append(f'<tr data-t="{t}"{" class=out" if out else ""}><td><span class="swatch" '
                    f'style="background:{colours[key]}"></span>{_e(key)}{" ⚠" if out else ""}'
                    "</td>" + "".join(cells) + "</tr>")
    note = (f"{flagged} territor{'y' if flagged == 1 else 'ies'} outside the band"
            if flagged else "every territory within its band")
    return (f'<div class="balance"><h2>Balance: total / target</h2><p>{note}; scale '
            f'{lo}-{hi}, the line marks 1.0</p><table class="chart"><thead><tr>'
            f"<th>territory</th>{head}</tr></thead><tbody>\n" + "\n".join(body)
            + "\n</tbody></table></div>")


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
.moved use{fill:none;stroke:#6f42c1;stroke-width:2;stroke-dasharray:4 3;pointer-events:none}
.side{display:flex;flex-direction:column;gap:12px;max-width:520px}
#details{font-size:13px;white-space:pre-line;background:#fff;border:1px solid #ddd;
border-radius:4px;padding:6px 8px;min-height:3em}
.balance h2{font-size:14px;margin:0}.balance p{font-size:12px;color:#666;margin:2px 0 6px}
.chart{border-collapse:collapse;font-size:12px}
.chart td,.chart th{padding:1px 6px;text-align:right;white-space:nowrap}
.chart th:first-child,.chart td:first-child{text-align:left}
.chart tr.out td{background:#fff1f0}
.bar{position:relative;display:inline-block;width:90px;height:11px;background:#f0f2f4;
vertical-align:middle}
.bar .band{position:absolute;top:0;bottom:0;background:#cfe8d4}
.bar .fill{position:absolute;left:0;top:3px;height:5px;background:#57606a}
.bar.out .fill{background:#cf222e}
.bar .one{position:absolute;left:50%;top:-2px;bottom:-2px;width:1px;background:#333}
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
var details=document.getElementById('details');
svg.addEventListener('mouseover',function(e){var t=e.target.closest&&e.target.closest('use');
var title=t&&t.querySelector('title');if(title&&details){details.textContent=title.textContent;}});
})();
"""


def _page(title: str, summary: Mapping[str, object], svg: str, legend: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>\n{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{_e(title)}</h1>\n{_summary(summary)}\n"
        f'<div class="wrap">\n{svg}\n<div class="side">\n<div id="details">Hover a unit '
        f'for its figures.</div>\n{legend}\n</div>\n</div>\n<script>\n{_JS}</script>\n'
        "</body>\n</html>\n"
    )

"""Territory colours: neighbouring territories differ (greedy graph colouring)."""

from __future__ import annotations

import colorsys
from collections.abc import Mapping, Sequence

import pandas as pd

from components.errors import MissingColumnError, UnknownIdError, preview

# Tableau 20 without its greys (grey means "unassigned"); saturated colours first,
# so maps with few territories get the colours that read best as fills.
PALETTE: tuple[str, ...] = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#b07aa1",
    "#edc948",
    "#76b7b2",
    "#ff9da7",
    "#9c755f",
    "#a0cbe8",
    "#ffbe7d",
    "#8cd17d",
    "#b6992d",
    "#499894",
    "#86bcb6",
    "#d37295",
    "#fabfd2",
    "#d4a6c8",
)


def _territory_adjacency(
    edges: pd.DataFrame, unit_ids: pd.Series, unit_keys: Sequence[str | None]
) -> dict[str, set[str]]:
    """Territories are adjacent when any of their units are (unassigned units ignored)."""
    missing = [c for c in ("from_id", "to_id") if c not in edges.columns]
    if missing:
        raise MissingColumnError(
            f"edges is missing column(s) {preview(missing)}; columns present: "
            f"{preview(map(str, edges.columns), limit=20) or 'none'}",
            column=missing[0],
        )
    territory_of = pd.Series(list(unit_keys), index=pd.Index(unit_ids), dtype=object)
    for column in ("from_id", "to_id"):
        unknown = edges.loc[~edges[column].isin(territory_of.index), column].unique()
        if len(unknown):
            raise UnknownIdError(
                f"edges.{column} has ids that are not in units.id: {preview(unknown)}",
                column=column,
                rows=list(unknown),
            )
    pairs = pd.DataFrame(
        {
            "a": territory_of.reindex(edges["from_id"]).to_numpy(),
            "b": territory_of.reindex(edges["to_id"]).to_numpy(),
        }
    ).dropna()
    pairs = pairs[pairs["a"] != pairs["b"]]
    adjacency: dict[str, set[str]] = {}
    for a, b in zip(pairs["a"], pairs["b"], strict=True):
        adjacency.setdefault(a, set()).add(b)
        adjacency.setdefault(b, set()).add(a)
    return adjacency


def _assign_colours(
    keys: Sequence[str], adjacency: Mapping[str, set[str]] | None
) -> dict[str, str]:
    """Colour per territory. Without adjacency every territory gets its own colour.

    With adjacency, a greedy colouring in key order: each territory takes, among
    the colours none of its already-coloured neighbours has, the least used one
    (ties to the lowest index). Neighbours always differ, and the palette is
    spread over the map instead of painting half of it in the first two colours.
    A territory whose neighbours hold every colour so far opens a new one.
    """
    if adjacency is None:
        return {key: _colour(i) for i, key in enumerate(keys)}
    uses = [0] * len(PALETTE)
    index: dict[str, int] = {}
    for key in keys:
        taken = {index[n] for n in adjacency.get(key, ()) if n in index}
        free = [i for i in range(len(uses)) if i not in taken]
        if not free:
            uses.append(0)
            free = [len(uses) - 1]
        index[key] = min(free, key=lambda i: (uses[i], i))
        uses[index[key]] += 1
    return {key: _colour(index[key]) for key in keys}


def _colour(i: int) -> str:
    if i < len(PALETTE):
        return PALETTE[i]
    # Beyond the palette: golden-angle hues, two lightness bands, still deterministic.
    j = i - len(PALETTE)
    hue = (j * 0.381966) % 1.0
    r, g, b = colorsys.hls_to_rgb(hue, 0.62 if j % 2 else 0.72, 0.55)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"

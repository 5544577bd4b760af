from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "workflows" / "examples" / "data"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def georgia() -> pd.DataFrame:
    """The bundled Georgia counties (ids as text, as the CLI reads them)."""
    return pd.read_csv(DATA / "scus.csv", dtype={"scu_id": str})


@pytest.fixture(scope="session")
def georgia_edges() -> pd.DataFrame:
    return pd.read_csv(DATA / "edges.csv", dtype={"from_id": str, "to_id": str})


def grid_scus(nx: int = 6, ny: int = 6, seed: int = 0) -> pd.DataFrame:
    """A planar grid of units with a random positive metric."""
    rng = np.random.default_rng(seed)
    xs, ys = np.meshgrid(np.arange(nx, dtype=float), np.arange(ny, dtype=float))
    return pd.DataFrame({"id": [f"u{i:03d}" for i in range(nx * ny)], "x": xs.ravel(),
                         "y": ys.ravel(), "load": rng.uniform(4, 8, nx * ny).round(3)})


def grid_edges(nx: int = 6, ny: int = 6) -> pd.DataFrame:
    """Rook adjacency of :func:`grid_scus`."""
    rows = []
    for y in range(ny):
        for x in range(nx):
            i = y * nx + x
            if x + 1 < nx:
                rows.append((f"u{i:03d}", f"u{i + 1:03d}"))
            if y + 1 < ny:
                rows.append((f"u{i:03d}", f"u{i + nx:03d}"))
    return pd.DataFrame(rows, columns=["from_id", "to_id"])


@pytest.fixture
def grid() -> pd.DataFrame:
    return grid_scus()

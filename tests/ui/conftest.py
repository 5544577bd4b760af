"""Fixtures for the planner: the demo database and a real headless Chromium.

The browser is Debian's ``chromium`` (installed by ``make test`` through the Makefile's
chromium target), driven by Playwright's Python package with ``executable_path``, so no
browser is downloaded. Without either, the browser tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHROMIUM = os.environ.get("TERRAPLAN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "out" / "test-artifacts" / "planner"


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``make demo``'s database, built in a temp folder."""
    from workflows.runner import run_workflow

    folder = tmp_path_factory.mktemp("planner-demo")
    db = folder / "terraplan.duckdb"
    run_workflow(str(ROOT / "workflows" / "examples" / "demo.yaml"), database=str(db),
                 out=str(folder / "demo"), echo=lambda _: None)
    return db


@pytest.fixture(scope="session")
def hub_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo and the hub-location study (p-median, then 60 km max coverage) in one
    database: a territory plan with location-allocation results beside it."""
    from workflows.runner import run_workflow

    folder = tmp_path_factory.mktemp("planner-hubs")
    db = folder / "terraplan.duckdb"
    for name in ("demo", "hub_location"):
        run_workflow(str(ROOT / "workflows" / "examples" / f"{name}.yaml"), database=str(db),
                     out=str(folder / name), echo=lambda _: None)
    return db


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no chromium at {CHROMIUM}: run `make chromium` (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


class Page:
    """A page with every console error and uncaught exception recorded."""

    def __init__(self, browser, url: str) -> None:
        self.page = browser.new_page(viewport={"width": 1440, "height": 900})
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url)
        self.page.wait_for_function("window.planner && (planner.ready || planner.errors.length)",
                                    timeout=60_000)
        assert self.page.evaluate("planner.errors") == []

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

"""Helpers of the solver contract tests (tests/unit/test_contract_*.py): reports without
timings, result state of a solver object, and an injected clock for the locate modules."""

from __future__ import annotations

import dataclasses
import importlib
import time
from typing import Any

import numpy as np
import pandas as pd

TIMING = ("second", "elapsed")


def stable(value: Any) -> Any:
    """A report without its timings (the only part allowed to differ between runs)."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items()
                if not any(t in k for t in TIMING) and k != "stopped_by_time_limit"}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def same(a, b) -> None:
    assert a.tables.keys() == b.tables.keys()
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert stable(a.report) == stable(b.report)


def state(obj) -> dict:
    """Every result attribute (trailing underscore) but the timings."""
    out = {}
    for key, value in vars(obj).items():
        if not key.endswith("_") or key.startswith("_") or "second" in key:
            continue
        out[key] = stable(value) if isinstance(value, dict) else value
    return out


def _plain(value: Any) -> Any:
    """Dataclasses as dicts, timings dropped, so results compare field by field."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not any(t in k for t in TIMING)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _equal(x: Any, y: Any, where: str) -> None:
    if isinstance(x, dict) and isinstance(y, dict):
        assert x.keys() == y.keys(), (where, set(x) ^ set(y))
        for k in x:
            _equal(x[k], y[k], f"{where}.{k}")
    elif isinstance(x, list) and isinstance(y, list):
        assert len(x) == len(y), where
        for i, (a, b) in enumerate(zip(x, y, strict=True)):
            _equal(a, b, f"{where}[{i}]")
    elif isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        np.testing.assert_array_equal(x, y, err_msg=where)
    else:
        assert x == y or (isinstance(x, float) and np.isnan(x) and np.isnan(y)), (where, x, y)


def assert_same_state(a: dict, b: dict) -> None:
    """Two solver states (from :func:`state`) are equal, attribute by attribute."""
    assert a.keys() == b.keys(), set(a) ^ set(b)
    for key in a:
        _equal(_plain(a[key]), _plain(b[key]), key)


def one_line_naming(err: Exception, name: str, given: str) -> None:
    text = str(err)
    assert "\n" not in text and name in text and given in text, text


class SteppingTime:
    """Stands in for the ``time`` module: ``monotonic`` steps by ``step`` per reading."""

    def __init__(self, step: float) -> None:
        self.t, self.step, self.reads = 1000.0, step, 0

    def monotonic(self) -> float:
        self.t += self.step
        self.reads += 1
        return self.t

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def locate_clock_modules() -> list[str]:
    """Every components.locate module that reads the time module (found, not listed: a
    module split off later must not keep the real clock and mix two clocks)."""
    import pkgutil

    import components.locate as pkg

    names = []
    for info in pkgutil.iter_modules(pkg.__path__):
        module = importlib.import_module(f"components.locate.{info.name}")
        if getattr(module, "time", None) is time:
            names.append(info.name)
    return names


class stepping:  # a context manager, named like one
    """Every locate module reads ``fake`` instead of the time module, until exit."""

    def __init__(self, monkeypatch, fake: SteppingTime) -> None:
        self.mp, self.fake = monkeypatch, fake

    def __enter__(self) -> SteppingTime:
        for name in locate_clock_modules():
            module = importlib.import_module(f"components.locate.{name}")
            self.mp.setattr(module, "time", self.fake)
        return self.fake

    def __exit__(self, *exc) -> None:
        self.mp.undo()

"""tests/golden.py: a missing golden file fails, a different one fails, and only the
explicit flag writes; no other helper in tests/ writes golden files on its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.golden import FLAG, assert_golden

TESTS = Path(__file__).resolve().parents[1]


def test_missing_file_fails_and_is_not_created(tmp_path, monkeypatch):
    monkeypatch.delenv(FLAG, raising=False)
    path = tmp_path / "snap" / "x.sql"
    with pytest.raises(AssertionError, match="golden file missing"):
        assert_golden(path, "SELECT 1")
    assert not path.exists()


def test_different_text_fails_and_file_is_kept(tmp_path, monkeypatch):
    monkeypatch.delenv(FLAG, raising=False)
    path = tmp_path / "x.sql"
    path.write_text("SELECT 1")
    with pytest.raises(AssertionError, match="differs from"):
        assert_golden(path, "SELECT 2")
    assert path.read_text() == "SELECT 1"
    assert_golden(path, "SELECT 1")  # the same text passes


@pytest.mark.parametrize("value", ["", "0", "true", "yes"])
def test_only_the_exact_flag_writes(tmp_path, monkeypatch, value):
    monkeypatch.setenv(FLAG, value)
    path = tmp_path / "x.sql"
    with pytest.raises(AssertionError, match="golden file missing"):
        assert_golden(path, "SELECT 1")


def test_flag_writes_then_checks(tmp_path, monkeypatch):
    monkeypatch.setenv(FLAG, "1")
    path = tmp_path / "deep" / "x.sql"
    assert_golden(path, "SELECT 1")
    assert path.read_text() == "SELECT 1"
    assert_golden(path, "SELECT 2")
    assert path.read_text() == "SELECT 2"


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant):
            out.add(id(body[0].value))
    return out


def _golden_writers(path: Path) -> list[str]:
    """Code (not docs) that reads the update flag or writes under a snapshot/golden path."""
    tree = ast.parse(path.read_text())
    docs = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and FLAG in node.value and id(node) not in docs:
            found.append(f"{path.name}:{node.lineno} reads {FLAG}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("write_text", "write_bytes"):
            target = ast.unparse(node.func.value).lower()
            if "snapshot" in target or "golden" in target:
                found.append(f"{path.name}:{node.lineno} writes {target}")
    return found


def test_no_other_golden_writer_in_tests():
    own = {TESTS / "golden.py", Path(__file__).resolve()}
    offenders = [w for p in sorted(TESTS.rglob("*.py")) if p not in own
                 for w in _golden_writers(p)]
    assert not offenders, "write golden files only through tests/golden.py: " + "; ".join(
        offenders)


def test_the_guard_finds_a_copied_helper(tmp_path):
    copied = tmp_path / "test_copy.py"
    copied.write_text('import os\nUPDATE = os.environ.get("TERRAPLAN_UPDATE_GOLDEN") == "1"\n'
                      "def check(golden, sql):\n"
                      "    if UPDATE or not golden.exists():\n"
                      "        golden.write_text(sql)\n")
    assert len(_golden_writers(copied)) == 2

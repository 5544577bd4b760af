"""The mutation runner (tests/tools/mutate.py) changes exactly one place, into code that
still compiles, and each kind of change is found."""

from __future__ import annotations

import ast

from tests.tools.mutate import EQUIVALENT, MODULES, ROOT, mutant, sites

SOURCE = '''
def f(a, b):
    """Docstring is never mutated."""
    if a < b and not a == 0:
        return a + 2 * b
    return -1
'''


def test_every_site_gives_one_compiling_change():
    found = sites(SOURCE)
    kinds = {s.what for s in found}
    assert {"Lt -> LtE", "And -> Or", "not x -> x", "Eq -> NotEq", "Add -> Sub",
            "Mult -> Div", "2 -> 3", "return x -> return None"} <= kinds
    original = ast.dump(ast.parse(SOURCE))
    for site in found:
        changed = mutant(SOURCE, site)
        compile(changed, "<mutant>", "exec")
        assert ast.dump(ast.parse(changed)) != original, site
        assert "Docstring is never mutated." in changed


def test_every_excluded_mutant_names_a_real_site():
    """An EQUIVALENT entry whose line changed no longer matches: it must be re-argued."""
    for module, line, what, nth in EQUIVALENT:
        assert module in MODULES
        source = (ROOT / module).read_text()
        lines = source.splitlines()
        found = [s for s in sites(source)
                 if lines[s.line - 1].strip() == line and s.what == what and s.nth == nth]
        assert len(found) == 1, (module, line, what, nth)


def test_every_listed_test_file_exists():
    for tests in MODULES.values():
        for test in tests:
            assert (ROOT / test).is_file(), test

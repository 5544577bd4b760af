"""A warehouse table has no row order: every scenario gives the same answer when its
input tables come in another order (DuckDB, Snowflake, Redshift's LISTAGG and Spark
each hand rows over in their own)."""

from __future__ import annotations

import pytest

from tests.integration.backends import (
    Direct,
    References,
    assert_same_report,
    assert_same_tables,
    build_inputs,
    load_cases,
)

CASES = load_cases()


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> References:
    return References(tmp_path_factory.mktemp("reference"))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_answer_whatever_the_row_order(case, reference, tmp_path):
    shuffled = {name: df.sample(frac=1, random_state=11).reset_index(drop=True)
                for name, df in build_inputs(case).items()}
    got = Direct(tmp_path).run(case, shuffled)
    assert_same_tables(got, reference(case), case.keys, 1e-9)
    assert_same_report(got, reference(case), 1e-9, frozenset())

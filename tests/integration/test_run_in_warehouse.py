"""`terraplan run --warehouse snowflake|bigquery`: the compiled calls, in order, through the
user's session; without settings it stops cleanly. Real accounts are tested elsewhere
(tests/integration/test_*_account.py, skipped without credentials)."""

from __future__ import annotations

import pytest

from components.errors import InputError
from tests.conftest import ROOT
from workflows.cli import main
from workflows.compile import compile_statements
from workflows.remote import run_in_warehouse

DEMO = ROOT / "workflows" / "examples" / "demo.yaml"


class RecordingSnowpark:
    """Stands in for the user's Snowpark session (an external client): records SQL."""

    def __init__(self) -> None:
        self.sql_seen: list[str] = []

    def sql(self, text: str):
        self.sql_seen.append(text)
        return self

    def collect(self):
        return [{"status": "ok"}]


def test_snowflake_runs_the_compiled_calls_in_order():
    session = RecordingSnowpark()
    lines: list[str] = []
    steps = run_in_warehouse(DEMO, "snowflake", session=session, echo=lines.append)
    expected = [s.sql for s in compile_statements(DEMO, "snowflake")]
    assert session.sql_seen == expected and steps == 1
    assert "TERRITORY_BALANCING" in session.sql_seen[0]
    assert lines[0].startswith("[1/1] step balance")


def test_no_settings_exit_2_with_the_fix(monkeypatch, tmp_path, capsys):
    for var in ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_DEFAULT_CONNECTION_NAME",
                "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SNOWFLAKE_HOME", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))
    assert main(["run", str(DEMO), "--warehouse", "snowflake"]) == 2
    assert "no Snowflake connection settings" in capsys.readouterr().err
    assert main(["run", str(DEMO), "--warehouse", "bigquery"]) == 2
    assert "no Google credentials" in capsys.readouterr().err
    with pytest.raises(InputError):
        run_in_warehouse(DEMO, "oracle")

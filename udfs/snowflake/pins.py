"""The package versions the Snowflake functions pin, and the runtime test installs.

One list, so what ``terraplan deploy snowflake`` asks for (``PACKAGES = ('numpy==2.0.2',
...)``) is what the "warehouse runtime" test job ran (``make .venv-sfruntime``, then
tests/integration/test_snowflake_runtime.py). They are the oldest versions of each
that meet terraplan's own floors (pyproject: numpy 2.0, scipy 1.13, pandas 2.2,
Snowpark 1.40) for the declared runtime, Python 3.11; deploy checks the account's
channel offers each (INFORMATION_SCHEMA.PACKAGES) and says which versions it has if
not. Run as a script, it prints them as pip requirements (the Makefile does).
"""

from __future__ import annotations

RUNTIME_VERSION = "3.11"
PINS = {"snowflake-snowpark-python": "1.40.0", "numpy": "2.0.2", "scipy": "1.13.1",
        "pandas": "2.2.2"}

if __name__ == "__main__":
    print("\n".join(f"{name}=={version}" for name, version in PINS.items()))

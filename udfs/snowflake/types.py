"""Snowflake's logical-to-native type map, below both the adapter and the run log (so the
run log renders the one run record without importing the adapter)."""

from __future__ import annotations

from collections.abc import Mapping

SNOWFLAKE_TYPES: Mapping[str, str] = {
    "string": "VARCHAR", "double": "FLOAT", "bigint": "NUMBER(38,0)", "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP_NTZ", "json": "VARIANT"}
JSON_RUN_LOG = True  # TERRAPLAN_RUNS keeps its documents as VARIANT

"""The dbt-duckdb plugin that puts terraplan's SQL functions on dbt's DuckDB connection.

A dbt project using the terraplan package on DuckDB adds one line to its profile::

    my_project:
      outputs:
        dev:
          type: duckdb
          path: warehouse.duckdb
          plugins:
            - module: udfs.duckdb_dbt
              alias: terraplan

dbt-duckdb then calls :meth:`Plugin.configure_connection` on the connection it opens,
and every ``terraplan_<component>(...)`` function (:func:`udfs.duckdb.register_functions`)
is callable by the package's macros.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from udfs.duckdb import register_functions


class Plugin(BasePlugin):
    """dbt-duckdb plugin: registers terraplan's functions on each connection."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.functions: list[str] = []

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        self.functions = register_functions(conn)

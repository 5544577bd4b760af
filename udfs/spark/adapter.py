"""The Databricks (Spark) adapter: metadata. Workflows run on Spark through
:mod:`udfs.spark.frames`; SQL users call the Unity Catalog functions of
:mod:`udfs.spark.ddl`. ``terraplan compile/schedule --warehouse databricks`` (a job /
Asset Bundle definition) is not built yet, so this adapter says it does not compile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from components.errors import InputError
from udfs.base import Capabilities, Location, NameRules, Statement, WarehouseAdapter


class DatabricksAdapter(WarehouseAdapter):
    name = "databricks"
    dialect = "databricks"
    type_map: ClassVar[Mapping[str, str]] = {
        "string": "STRING", "double": "DOUBLE", "bigint": "BIGINT", "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMP", "json": "STRING"}
    names = NameRules(max_length=255, folds="lower", case_sensitive_quoted=False)
    capabilities = Capabilities(transactional_ddl=False, python_udfs=True, partitioned=True,
                                compiles=False, schedules=False)
    cli_module = "udfs.spark.cli"

    def compile_step(self, wf: Any, step: Any, index: int, loc: Location) -> list[Statement]:
        raise InputError("terraplan compile --warehouse databricks is not available yet: run "
                         "the steps with udfs.spark.<component>(df, by=[...]) or call the "
                         "functions 'terraplan deploy databricks' creates", column="--warehouse")


ADAPTER = DatabricksAdapter()

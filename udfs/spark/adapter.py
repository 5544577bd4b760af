"""The Databricks (Spark) adapter: metadata, ``terraplan compile`` (the workflow as a
Databricks job's settings, JSON) and ``terraplan schedule`` (an Asset Bundle with the
job's schedule or table-update trigger), both from :mod:`udfs.spark.job`. Workflows run
on Spark through :mod:`udfs.spark.tables`; SQL users call the Unity Catalog functions of
:mod:`udfs.spark.ddl`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from components.errors import InputError
from udfs.base import Capabilities, Location, NameRules, Statement, WarehouseAdapter
from udfs.options import CliOption


class DatabricksAdapter(WarehouseAdapter):
    name = "databricks"
    dialect = "databricks"
    type_map: ClassVar[Mapping[str, str]] = {
        "string": "STRING", "double": "DOUBLE", "bigint": "BIGINT", "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMP", "json": "STRING"}
    names = NameRules(max_length=255, folds="lower", case_sensitive_quoted=False)
    capabilities = Capabilities(transactional_ddl=False, python_udfs=True, partitioned=True,
                                compiles=True, schedules=True)
    cli_module = "udfs.spark.cli"
    cli_options: ClassVar[tuple[CliOption, ...]] = (
        CliOption("--catalog", "Unity Catalog catalog of the workflow's tables (with "
                  "--data-schema)", metavar="C"),
    )

    def compile_step(self, wf: Any, step: Any, index: int, loc: Location) -> list[Statement]:
        """A step as its task's resolved JSON (the job runs it; it is not SQL)."""
        from udfs.spark.job import task_specs

        spec = task_specs(wf)[index - 1]
        return [Statement(json.dumps(spec), None, f"step {step.name}: {step.uses}")]

    def render_script(self, wf: Any, loc: Location) -> str | None:
        from udfs.spark.job import job_json

        return job_json(wf, loc)

    def schedule(self, wf: Any, sched: Any, loc: Location, *, dry_run: bool = True,
                 **options: Any) -> str | None:
        from udfs.spark.job import bundle_text, slug

        text = bundle_text(wf, sched, loc)
        if dry_run:
            return text
        cli = shutil.which("databricks")
        if not cli:
            raise InputError("the Databricks CLI ('databricks') is not on PATH: install it, or "
                             "save the --dry-run output as databricks.yml and run 'databricks "
                             "bundle deploy' where it is")
        folder = Path(f"terraplan-bundle-{slug(wf.name)}")
        folder.mkdir(exist_ok=True)
        (folder / "databricks.yml").write_text(text, encoding="utf-8")
        subprocess.run([cli, "bundle", "deploy"], cwd=folder, check=True)
        return text


ADAPTER = DatabricksAdapter()

"""territory_polygons in Snowflake: shapely in the procedure's PACKAGES when the account's
channel offers it, and a warehouse message (not ``pip install``) when it did not."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from components.errors import InputError
from components.polygons.component import territory_polygons
from tests.integration.test_snowflake_deploy import TARGET, RecordingSession
from udfs.snowflake import ddl, deploy


def _polygons_ddl(plan: deploy.Plan) -> str:
    [text] = [f for f in plan.functions if "procedures.territory_polygons'" in f]
    return text


def test_shapely_is_listed_for_territory_polygons_when_the_channel_has_it():
    lines: list[str] = []
    plan = deploy.deploy(TARGET, session=RecordingSession(), echo=lines.append)
    packages = _polygons_ddl(plan).split("PACKAGES = (")[1].split(")")[0]
    assert "'shapely'" in packages
    assert not any("territory polygons" in line for line in lines)


def test_without_shapely_in_the_channel_the_deploy_says_so_and_leaves_it_out():
    session, lines = RecordingSession(), []
    session.offered = ddl.PACKAGES
    plan = deploy.deploy(TARGET, session=session, echo=lines.append)
    assert "shapely" not in _polygons_ddl(plan)
    assert any("no shapely: polygon adjacency and territory polygons will not run here"
               in line for line in lines)


UNITS = pd.DataFrame({"id": ["a", "b"], "wkt": ["POLYGON((0 0,1 0,1 1,0 1,0 0))",
                                                "POLYGON((1 0,2 0,2 1,1 1,1 0))"]})
ASSIGNED = pd.DataFrame({"id": ["a", "b"], "territory": ["T1", "T1"]})


def test_missing_shapely_inside_a_snowflake_procedure_names_the_redeploy(monkeypatch):
    monkeypatch.setitem(sys.modules, "shapely", None)  # import shapely -> ImportError
    with pytest.raises(InputError) as laptop:
        territory_polygons(UNITS, assignments=ASSIGNED)
    assert "pip install 'terraplan[geo]'" in str(laptop.value)
    monkeypatch.setitem(sys._xoptions, "snowflake_import_directory", "/home/udf/1234")
    with pytest.raises(InputError) as warehouse:
        territory_polygons(UNITS, assignments=ASSIGNED)
    message = str(warehouse.value)
    assert "pip" not in message and "\n" not in message
    assert "territory polygons needs the optional package 'shapely'" in message
    assert "INFORMATION_SCHEMA.PACKAGES WHERE PACKAGE_NAME = 'shapely'" in message
    assert "'terraplan deploy snowflake' again" in message

"""The wheel ships the SQL templates and finds them when installed (not only in a checkout)."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "-w", str(dist), "-q"], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    return next(dist.glob("terraplan-*.whl"))


def test_wheel_contains_sql_and_finds_it_installed(tmp_path, wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "components/sql/scu/profile.sql" in names
    assert "components/sql/scu/aggregate.sql" in names
    assert not any(n.startswith("tests/") for n in names)
    # the dbt package, for packages.yml `local:` pointing into an installed terraplan
    assert {"workflows/dbt/dbt_project.yml", "workflows/dbt/macros/materialization.sql",
            "workflows/dbt/macros/generated/spec.sql"} <= set(names)
    entry = [n for n in names if n.endswith("entry_points.txt")]
    assert "terraplan = workflows.cli:main" in zipfile.ZipFile(wheel).read(entry[0]).decode()

    site = tmp_path / "site"
    inst = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q",
                           "--target", str(site), str(wheel)], capture_output=True, text=True,
                          timeout=300)
    assert inst.returncode == 0, inst.stderr
    probe = ("import components.sqlgen as s; print(s.sql_root()); "
             "print(s.render('scu/aggregate', 'snowflake', source=s.table('t'), "
             "scu_id=s.ident('z'), coord=s.idents(['x', 'y']), metric=s.idents(['m'])))")
    run = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, "
                          f"{str(site)!r}); {probe}"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    root = run.stdout.splitlines()[0]
    assert root.startswith(str(site)) and root.endswith("components/sql")
    assert 'FROM "t"' in run.stdout


def test_wheel_ships_the_planner_page_and_serves_it_installed(tmp_path, wheel):
    """Every file the planner page loads is in the wheel (no CDN, nothing fetched), and
    the installed package finds them outside a checkout."""
    names = set(zipfile.ZipFile(wheel).namelist())
    static = ROOT / "workflows" / "ui" / "static"
    shipped = {str(p.relative_to(ROOT)) for p in static.rglob("*") if p.is_file()}
    assert shipped and shipped <= names, sorted(shipped - names)
    page = (static / "index.html").read_text()
    refs = re.findall(r'(?:src|href)="([^"#:]+)"', page)
    assert {"vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", "app.js",
            "units.js", "app.css"} <= set(refs)
    assert all(f"workflows/ui/static/{r}" in names for r in refs), refs
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)  # nothing from the network

    site = tmp_path / "site"
    inst = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q",
                           "--target", str(site), str(wheel)], capture_output=True, text=True,
                          timeout=300)
    assert inst.returncode == 0, inst.stderr
    probe = ("from workflows.ui.server import static_path; p = static_path(); print(p); "
             "print(len((p / 'vendor' / 'leaflet' / 'leaflet.js').read_bytes())); "
             "print('TPG1' in (p / 'units.js').read_text())")
    run = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, "
                          f"{str(site)!r}); {probe}"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    where, size, reader = run.stdout.splitlines()
    assert where.startswith(str(site)) and where.endswith("workflows/ui/static")
    assert int(size) == (static / "vendor" / "leaflet" / "leaflet.js").stat().st_size
    assert reader == "True"

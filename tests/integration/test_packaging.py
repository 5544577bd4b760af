"""The wheel ships the SQL templates and finds them when installed (not only in a checkout)."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from tests.conftest import ROOT


def test_wheel_contains_sql_and_finds_it_installed(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path / "dist"), "-q"], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    wheel = next((tmp_path / "dist").glob("terraplan-*.whl"))
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

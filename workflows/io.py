"""Reading inputs (CSV, Parquet, DuckDB tables) and writing output folders atomically."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from components.errors import InputError

ID_COLUMNS = ("id", "scu_id", "from_id", "to_id")


def read_input(spec: str, *, id_columns: Iterable[str] = ()) -> pd.DataFrame:
    """Read ``FILE.csv``, ``FILE.parquet`` or ``duckdb:FILE::TABLE``.

    Id columns are read as text, so ZIP codes and FIPS codes keep leading zeros and
    ids match across files whatever their source.
    """
    ids = set(id_columns) | set(ID_COLUMNS)
    if spec.startswith("duckdb:"):
        rest = spec[len("duckdb:"):]
        if "::" not in rest:
            raise InputError(f"DuckDB input must look like duckdb:FILE::TABLE; got '{spec}'",
                             column="INPUT")
        path, name = rest.split("::", 1)
        if not Path(path).is_file():
            raise InputError(f"DuckDB file '{path}' not found", column="INPUT")
        import duckdb

        from udfs.duckdb import DuckDBWarehouse

        wh = DuckDBWarehouse(connection=duckdb.connect(path, read_only=True))
        try:
            df = wh.read_table(name)
        finally:
            wh.close()
    else:
        from workflows import formats

        path = Path(spec.partition("#")[0])
        if not path.is_file():
            raise InputError(f"input file '{spec}' not found", column="INPUT")
        suffix = path.suffix.lower()
        if formats.handles(spec):
            df = formats.read_file(spec, id_columns=ids)
        elif suffix == ".csv":
            header = pd.read_csv(path, nrows=0).columns
            df = pd.read_csv(path, dtype={c: str for c in header if c in ids},
                             keep_default_na=True)
        elif suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            raise InputError(f"input '{spec}': expected a .csv or .parquet file, "
                             f"duckdb:FILE::TABLE or one of {formats.SUFFIXES}",
                             column="INPUT")
    for col in ids & set(df.columns):
        df[col] = df[col].map(lambda v: v if pd.isna(v) else _id_text(v))
    return df


def _id_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_outputs(out_dir: str | Path, tables: Mapping[str, pd.DataFrame],
                  report: Mapping[str, object], extra: Mapping[str, str] | None = None) -> Path:
    """Write ``<name>.csv`` per table, ``report.json`` and extra text files, all or nothing.

    Everything is written to a staging folder first; only when every file is complete
    are they moved into ``out_dir`` (each move is an atomic rename), so a failure
    leaves the previous outputs as they were.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".terraplan-stage-", dir=out))
    try:
        for name, df in tables.items():
            df.to_csv(stage / f"{name}.csv", index=False)
        (stage / "report.json").write_text(json.dumps(report, indent=2) + "\n",
                                           encoding="utf-8")
        for name, text in (extra or {}).items():
            (stage / name).write_text(text, encoding="utf-8")
        for item in sorted(stage.iterdir()):
            os.replace(item, out / item.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return out


def write_output_file(path: str | Path, df: pd.DataFrame, report: Mapping[str, object]) -> Path:
    """Write one table to ``path`` (.csv or .parquet) and its report beside it, atomically.

    Returns the report's path (``<stem>.report.json``).
    """
    from workflows import formats

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq") and not formats.is_gis_output(path):
        raise InputError(f"output file '{path}' must end in .csv, .parquet or one of "
                         f"{', '.join(formats.GIS_DRIVERS)}", column="--out")
    path.parent.mkdir(parents=True, exist_ok=True)
    report_path = path.with_name(path.stem + ".report.json")
    stage = Path(tempfile.mkdtemp(prefix=".terraplan-stage-", dir=path.parent))
    try:
        staged = stage / path.name
        if suffix == ".csv":
            df.to_csv(staged, index=False)
        elif formats.is_gis_output(path):
            formats.write_gis(staged, df)
        else:
            df.to_parquet(staged, index=False)
        (stage / report_path.name).write_text(json.dumps(report, indent=2) + "\n",
                                              encoding="utf-8")
        os.replace(staged, path)
        os.replace(stage / report_path.name, report_path)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return report_path

"""Reading inputs (CSV, Parquet, DuckDB tables) and writing output folders atomically.

Every column a user names as a key or a label (ids, ``current``, ``region``,
``locked``, ``scu_id``...) is read as text, so ZIP code ``01001`` never becomes
``1001``. An unreadable input, an output folder that cannot be written, a file
that is not what its name says: each is one :class:`InputError` naming the file
and the fix.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from components.errors import InputError
from workflows.phases import checkpoint

ID_COLUMNS = ("id", "scu_id", "from_id", "to_id", "node_id")
# parameters whose value is a column of keys or labels: read as text, never as numbers
TEXT_PARAMS = ("id", "scu_id", "to_id", "current", "locked", "region")
TABLE_SCHEME = "duckdb:"  # duckdb:FILE::TABLE reads a table of a local database file
MARKER = ".terraplan-output"  # in every folder write_outputs made: safe to replace whole


def text_columns(params: Mapping[str, Any]) -> list[str]:
    """The columns named by a step's or command's text-like parameters."""
    return [str(v) for k, v in params.items() if k in TEXT_PARAMS and isinstance(v, str) and v]


def read_input(spec: str, *, id_columns: Iterable[str] = ()) -> pd.DataFrame:
    """Read ``FILE.csv``, ``FILE.parquet`` or ``duckdb:FILE::TABLE``.

    Id columns (the defaults plus ``id_columns``) are read as text, so ZIP codes and
    FIPS codes keep leading zeros and ids match across files whatever their source.
    """
    ids = set(id_columns) | set(ID_COLUMNS)
    if spec.startswith(TABLE_SCHEME):
        df = _read_duckdb(spec)
    else:

        path = Path(spec.partition("#")[0])
        if not path.is_file():
            raise InputError(f"input file '{spec}' not found", column="INPUT")
        try:
            df = _read_file(spec, path, ids)
        except OSError as err:  # permissions, a device error, a file vanishing mid-read
            raise InputError(f"input file '{spec}' cannot be read ({err.strerror or err}): "
                             "check that it exists and that you may read it",
                             column="INPUT") from None
    for col in ids & set(map(str, df.columns)):
        df[col] = df[col].map(lambda v: v if pd.isna(v) else _id_text(v)).astype(object)
    return df


def _read_file(spec: str, path: Path, ids: set[str]) -> pd.DataFrame:
    from workflows import formats

    suffix = path.suffix.lower()
    if formats.handles(spec):
        return formats.read_file(spec, id_columns=ids)
    if suffix == ".csv":
        return _read_csv(path, ids)
    if suffix in (".parquet", ".pq"):
        return _read_parquet(path)
    raise InputError(f"input '{spec}': expected a .csv or .parquet file, "
                     f"duckdb:FILE::TABLE or one of {formats.SUFFIXES}", column="INPUT")


def _read_csv(path: Path, ids: set[str]) -> pd.DataFrame:
    try:
        header = pd.read_csv(path, nrows=0).columns
        return pd.read_csv(path, dtype={c: str for c in header if c in ids},
                           keep_default_na=True)
    except pd.errors.EmptyDataError:
        raise InputError(f"input file '{path}' is empty: it needs a header row and one row "
                         "per unit", column="INPUT") from None
    except UnicodeDecodeError:
        raise InputError(f"input file '{path}' is not UTF-8 text (binary or another "
                         "encoding): save it as UTF-8 CSV", column="INPUT") from None
    except pd.errors.ParserError as err:
        first = str(err).strip().splitlines()[0]
        raise InputError(f"input file '{path}' is not a valid CSV ({first}): check its "
                         "delimiter and quoting", column="INPUT") from None
    except OSError as err:
        raise InputError(f"input file '{path}' cannot be read ({err.strerror or err}): check "
                         "its permissions", column="INPUT") from None


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except PermissionError as err:
        raise InputError(f"input file '{path}' cannot be read ({err.strerror}): check its "
                         "permissions", column="INPUT") from None
    except Exception as err:  # pyarrow raises its own types for a corrupt file
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise InputError(f"input file '{path}' is not a readable Parquet file ({first}): "
                         "write it again or pass a CSV", column="INPUT") from None


def _read_duckdb(spec: str) -> pd.DataFrame:
    rest = spec[len(TABLE_SCHEME):]
    if "::" not in rest:
        raise InputError(f"DuckDB input must look like duckdb:FILE::TABLE; got '{spec}'",
                         column="INPUT")
    path, name = rest.split("::", 1)
    if not Path(path).is_file():
        raise InputError(f"DuckDB file '{path}' not found", column="INPUT")
    from udfs.duckdb import DuckDBWarehouse

    wh = DuckDBWarehouse.open(path, read_only=True)
    try:
        return wh.read_table(name)
    finally:
        wh.close()


def _id_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _writable_folder(out: Path) -> None:
    """Refuse, before anything is written, a folder that cannot be made or replaced."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out '{out}' is a file, not a folder: pass a folder path",
                         column="--out")
    if out.is_dir() and not (out / MARKER).exists() and not all(
            f.is_file() and f.suffix in (".csv", ".json", ".html") for f in out.iterdir()):
        raise InputError(f"--out '{out}' is a folder terraplan did not write (it holds other "
                         "files); the whole folder is replaced on every run, so pass a new "
                         "or empty folder", column="--out")
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError(f"--out '{out}': '{parent}' is a file, not a folder",
                         column="--out") from None
    except OSError as err:
        raise InputError(f"--out '{out}': cannot create '{parent}' ({err.strerror}); pick a "
                         "folder you can write", column="--out") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"--out '{out}': folder '{parent}' is not writable; pick a folder "
                         "you can write", column="--out")


def stage_outputs(out_dir: str | Path, tables: Mapping[str, pd.DataFrame],
                  report: Mapping[str, object], extra: Mapping[str, str] | None = None) -> Path:
    """Write a whole output folder beside ``out_dir`` under a hidden staging name.

    Nothing visible changes until :func:`swap_in` moves it into place.
    """
    out = Path(out_dir)
    recover(out)
    _writable_folder(out)
    stage = out.parent / f".{out.name}.stage-{uuid.uuid4().hex[:8]}"
    try:
        stage.mkdir()
        for name, df in tables.items():
            _inside(stage, name + ".csv")
            df.to_csv(stage / f"{name}.csv", index=False)
        (stage / "report.json").write_text(json.dumps(report, indent=2) + "\n",
                                           encoding="utf-8")
        for name, text in (extra or {}).items():
            _inside(stage, name)
            (stage / name).write_text(text, encoding="utf-8")
        (stage / MARKER).write_text("written by terraplan; replaced whole on every run\n",
                                    encoding="utf-8")
    except OSError as err:
        shutil.rmtree(stage, ignore_errors=True)
        raise InputError(f"--out '{out}': cannot write ({err.strerror or err}); pick a folder "
                         "you can write to, or free disk space", column="--out") from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return stage


def swap_in(stage: Path, out_dir: str | Path) -> Path:
    """Replace ``out_dir`` by the staged folder whole: two renames, old one kept on failure."""
    out = Path(out_dir)
    old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
    if out.exists():
        os.replace(out, old)
    try:
        checkpoint("exports:swap")
        os.replace(stage, out)
    except BaseException:
        if old.exists():
            os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return out


def recover(out: Path) -> None:
    """A process killed between swap_in's two renames left no ``out`` but its previous
    folder under ``.<name>.old-*``: put that back (and drop dead staging folders)."""
    if not out.parent.is_dir():
        return
    leftovers = sorted(out.parent.glob(f".{out.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if leftovers and not out.exists():
        os.replace(leftovers.pop(), out)
    for path in [*leftovers, *out.parent.glob(f".{out.name}.stage-*")]:
        shutil.rmtree(path, ignore_errors=True)


def discard(stage: Path | None) -> None:
    if stage is not None:
        shutil.rmtree(stage, ignore_errors=True)


def _inside(folder: Path, name: str) -> None:
    """An output file name must stay inside its folder (no '..', no separators)."""
    target = (folder / name).resolve()
    if target.parent != folder.resolve() or name.startswith("."):
        raise InputError(f"output name '{name}' would be written outside '{folder}': use "
                         "letters, digits and underscores", column=name)


def write_outputs(out_dir: str | Path, tables: Mapping[str, pd.DataFrame],
                  report: Mapping[str, object], extra: Mapping[str, str] | None = None) -> Path:
    """Write ``<name>.csv`` per table, ``report.json`` and extra text files, all or nothing.

    The folder is written whole under a staging name and swapped in, so a failure leaves
    the previous folder exactly as it was (never a new ``assignments.csv`` beside an old
    ``territories.csv``).
    """
    return swap_in(stage_outputs(out_dir, tables, report, extra), out_dir)


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
    if path.is_dir():
        raise InputError(f"--out '{path}' is a folder: pass a file name ending in {suffix}",
                         column="--out")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError(f"--out '{path}': '{path.parent}' is a file, not a folder",
                         column="--out") from None
    report_path = path.with_name(path.stem + ".report.json")
    try:
        stage = Path(tempfile.mkdtemp(prefix=".terraplan-stage-", dir=path.parent))
    except OSError as err:
        raise InputError(f"--out '{path}': cannot write in '{path.parent}' ({err.strerror}); "
                         "pick a folder you can write", column="--out") from None
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


def write_csv(path: str | Path, df: pd.DataFrame) -> Path:
    """One CSV written atomically (staged beside it, then renamed over it)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"--out '{path}' is a folder: pass a file name ending in .csv",
                         column="--out")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        df.to_csv(tmp, index=False)
        os.replace(tmp, path)
    except OSError as err:
        raise InputError(f"--out '{path}': cannot write ({err.strerror or err}); pick a "
                         "folder you can write", column="--out") from None
    return path

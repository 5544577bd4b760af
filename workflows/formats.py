"""Input formats beyond comma-separated UTF-8 CSV and Parquet.

* OpenStreetMap (``.osm.pbf``, ``.osm``, ``.osm.bz2``): the highway way-node table
  of :func:`components.roads.read_osm` (pyosmium, ``terraplan[roads]``).
* GIS files (GeoJSON, zipped Shapefile, GeoPackage, FlatGeobuf, Shapefile) through
  pyogrio (``terraplan[geo]``): attributes as columns, the geometry as ``wkt`` plus
  ``centroid_lon``/``centroid_lat``, every coordinate converted to lon/lat (EPSG:4326)
  with pyproj from the file's CRS.
* Excel (``.xlsx``, ``.xlsm``; openpyxl): the first sheet, or ``FILE.xlsx#Sheet``.
* Delimited text (``.csv``, ``.tsv``, ``.txt``) in any delimiter (sniffed) and
  encoding (UTF-8, UTF-8 with BOM, UTF-16 with BOM, else cp1252 / latin-1); what was
  detected is reported on stderr when it is not plain comma-separated UTF-8.

:func:`handles` says whether a path is read here; :func:`read_file` reads it.
"""

from __future__ import annotations

import codecs
import csv
import io
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components.errors import InputError
from components.roads.osm import is_osm_file, read_osm

GIS_SUFFIXES = (".geojson", ".json", ".gpkg", ".fgb", ".shp", ".zip", ".geojsonl",
                ".geojsons")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
SUFFIXES = ", ".join((".osm.pbf", *GIS_SUFFIXES, *EXCEL_SUFFIXES, ".tsv", ".txt"))
_DELIMITERS = ",;\t|:"
_SAMPLE_BYTES = 64 * 1024


def handles(path: str | Path) -> bool:
    """True when ``path`` is not a plain comma-separated UTF-8 CSV or Parquet file."""
    text = str(path)
    base, _, _sheet = text.partition("#")
    suffix = Path(base).suffix.lower()
    if is_osm_file(base) or suffix in GIS_SUFFIXES or suffix in EXCEL_SUFFIXES:
        return True
    if suffix in (".tsv", ".txt"):
        return True
    if suffix == ".csv" and Path(base).is_file():
        encoding, delimiter = sniff_text(Path(base))
        return encoding != "utf-8" or delimiter != ","
    return False


def read_file(path: str | Path, *, id_columns: Iterable[str] = ()) -> pd.DataFrame:
    """Read one file of any supported format into a DataFrame (id columns as text)."""
    base, _, sheet = str(path).partition("#")
    file = Path(base)
    if not file.is_file():
        raise InputError(f"input file '{base}' not found", column="INPUT")
    suffix = file.suffix.lower()
    if is_osm_file(file):
        return read_osm(file)
    if suffix in GIS_SUFFIXES:
        return read_gis(file)
    if suffix in EXCEL_SUFFIXES:
        return read_excel(file, sheet or None, id_columns)
    return read_text(file, id_columns)


# -- delimited text ------------------------------------------------------------------------

def sniff_text(path: Path) -> tuple[str, str]:
    """``(encoding, delimiter)`` of a delimited text file, from its first 64 KiB."""
    raw = path.read_bytes()[:_SAMPLE_BYTES]
    encoding = _encoding(raw)
    text = raw.decode(encoding, errors="ignore")
    if encoding == "utf-8-sig":
        text = text.lstrip("\ufeff")
    lines = text.splitlines()
    sample = "\n".join(lines[:-1] if len(lines) > 1 and not text.endswith("\n") else lines)
    try:
        delimiter = csv.Sniffer().sniff(sample[:_SAMPLE_BYTES], delimiters=_DELIMITERS).delimiter
    except csv.Error:
        header = lines[0] if lines else ""
        counts = {d: header.count(d) for d in _DELIMITERS}
        delimiter = max(counts, key=lambda d: (counts[d], d == ","))
        if counts[delimiter] == 0:
            delimiter = ","
    return encoding, delimiter


def _encoding(raw: bytes) -> str:
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as err:
        if err.start > len(raw) - 4:  # a character cut by the sample's end
            return "utf-8"
    try:
        raw.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def read_text(path: Path, id_columns: Iterable[str] = ()) -> pd.DataFrame:
    encoding, delimiter = sniff_text(path)
    with path.open("r", encoding=encoding, newline="") as handle:
        text = handle.read()
    if "\x00" in text[:_SAMPLE_BYTES]:
        raise InputError(f"input file '{path}' is binary, not delimited text: export it as "
                         "CSV, or pass a .parquet file", column="INPUT")
    ids = set(id_columns)
    try:
        header = pd.read_csv(io.StringIO(text), sep=delimiter, nrows=0).columns
        df = pd.read_csv(io.StringIO(text), sep=delimiter,
                         dtype={c: str for c in header if c in ids})
    except pd.errors.ParserError as err:
        detail = str(err).strip().splitlines()[-1].removeprefix("Error tokenizing data. ")
        raise InputError(f"input file '{path}' is not valid delimited text ({detail}): fix "
                         f"that row, or quote values that contain {delimiter!r}",
                         column="INPUT") from None
    if len(df.columns) == 1 and len(header) == 1:
        raise InputError(f"input '{path}': found a single column {header[0]!r}; the "
                         f"delimiter could not be detected: use commas, semicolons, tabs or "
                         f"pipes", column="INPUT")
    note(f"read {path.name} as delimited text: delimiter {delimiter!r}, encoding "
         f"{encoding}, {len(df)} rows")
    return df


# -- Excel ---------------------------------------------------------------------------------

def read_excel(path: Path, sheet: str | None, id_columns: Iterable[str] = ()) -> pd.DataFrame:
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        raise InputError("reading Excel files needs openpyxl: pip install 'terraplan[geo]'",
                         column="INPUT") from None
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except (OSError, ValueError, KeyError) as err:
        raise InputError(f"cannot read Excel file '{path}': {err}", column="INPUT") from None
    with book:
        if sheet is not None and sheet not in book.sheet_names:
            raise InputError(f"sheet {sheet!r} not found in '{path}'; sheets: "
                             f"{', '.join(map(str, book.sheet_names))}", column="INPUT")
        name = sheet or book.sheet_names[0]
        ids = set(id_columns)
        header = book.parse(name, nrows=0).columns
        df = book.parse(name, dtype={c: str for c in header if c in ids})
    note(f"read {path.name} sheet {name!r}: {len(df)} rows")
    return df


# -- GIS -----------------------------------------------------------------------------------

def read_gis(path: Path) -> pd.DataFrame:
    """Attributes, ``wkt`` (lon/lat) and ``centroid_lon``/``centroid_lat`` of a GIS file."""
    pyogrio, shapely, pyproj = _gis_modules()
    source = f"/vsizip/{path}" if path.suffix.lower() == ".zip" else str(path)
    try:
        meta, _, geometry, fields = pyogrio.raw.read(source)
    except Exception as err:  # pyogrio raises its own DataSourceError family
        raise InputError(f"cannot read GIS file '{path}': {err}", column="INPUT") from None
    df = pd.DataFrame({str(name): values for name, values in zip(meta["fields"], fields,
                                                                 strict=True)})
    if geometry is None:
        note(f"read {path.name}: {len(df)} rows, no geometry")
        return df
    geoms = shapely.from_wkb(geometry)
    crs = meta.get("crs")
    converted = ""
    if crs:
        src = pyproj.CRS.from_user_input(crs)
        if not src.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True):
            to_lonlat = pyproj.Transformer.from_crs(src, 4326, always_xy=True)
            geoms = shapely.transform(geoms, lambda xy: np.column_stack(
                to_lonlat.transform(xy[:, 0], xy[:, 1])))
            converted = f", converted from {src.to_string()} to lon/lat"
    valid = shapely.is_valid(geoms) | shapely.is_missing(geoms)
    geoms = np.where(valid, geoms, shapely.make_valid(geoms))
    centroids = shapely.centroid(geoms)
    df["wkt"] = shapely.to_wkt(geoms, rounding_precision=-1)
    df["centroid_lon"] = shapely.get_x(centroids)
    df["centroid_lat"] = shapely.get_y(centroids)
    encoding = meta.get("encoding")
    note(f"read {path.name}: {len(df)} {meta.get('geometry_type', 'geometry')} rows, CRS "
         f"{crs or 'unknown (assumed lon/lat)'}{converted}"
         + (f", encoding {encoding}" if encoding else ""))
    return df


def _gis_modules() -> tuple[Any, Any, Any]:
    try:
        import pyogrio
        import pyogrio.raw
        import pyproj
        import shapely
    except ImportError as err:
        raise InputError(f"reading GIS files needs {err.name}: pip install 'terraplan[geo]'",
                         column="INPUT") from None
    return pyogrio, shapely, pyproj


def note(message: str) -> None:
    """What was detected while reading, for the person at the terminal."""
    print(f"terraplan: {message}", file=sys.stderr)


# -- GIS outputs ---------------------------------------------------------------------------

GIS_DRIVERS = {".geojson": "GeoJSON", ".gpkg": "GPKG", ".fgb": "FlatGeobuf"}


def is_gis_output(path: str | Path) -> bool:
    return Path(path).suffix.lower() in GIS_DRIVERS


def write_gis(path: str | Path, df: pd.DataFrame, *, wkt: str = "wkt",
              layer: str | None = None) -> Path:
    """Write ``df`` as a lon/lat (EPSG:4326) GeoJSON, GeoPackage or FlatGeobuf file.

    The ``wkt`` column becomes the geometry; every other column an attribute. The file
    is written next to ``path`` under a temporary name and renamed into place, so a
    failure leaves the previous file as it was.
    """
    pyogrio, shapely, _ = _gis_modules()
    path = Path(path)
    driver = GIS_DRIVERS.get(path.suffix.lower())
    if driver is None:
        raise InputError(f"output '{path}' must end in {', '.join(GIS_DRIVERS)}",
                         column="--out")
    if wkt not in df.columns:
        raise InputError(f"no geometry column '{wkt}' to write to '{path}'; columns: "
                         f"{', '.join(map(str, df.columns))}", column=wkt)
    geoms = shapely.from_wkt(df[wkt].to_numpy(dtype=object))
    attrs = df.drop(columns=[wkt])
    fields = [str(c) for c in attrs.columns]
    data = [_field_values(attrs[c]) for c in attrs.columns]
    kinds = set(shapely.get_type_id(geoms[~shapely.is_missing(geoms)]).tolist())
    polygonal = kinds <= {3, 6}
    geometry_type = "MultiPolygon" if polygonal else "Unknown"
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.stem}.tmp{path.suffix}")
    staged.unlink(missing_ok=True)
    try:
        options = {"SPATIAL_INDEX": "NO"} if driver == "FlatGeobuf" else {}  # keep row order
        pyogrio.raw.write(str(staged), shapely.to_wkb(geoms), data, fields, driver=driver,
                          geometry_type=geometry_type, crs="EPSG:4326",
                          layer=layer or path.stem, promote_to_multi=polygonal, **options)
        staged.replace(path)
    finally:
        staged.unlink(missing_ok=True)
    return path


def _field_values(column: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(column):
        return column.to_numpy(dtype=np.int8)
    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy()
    return np.array([None if pd.isna(v) else str(v) for v in column], dtype=object)


GIS_EXPORTS = {"geojson": ".geojson", "gpkg": ".gpkg", "fgb": ".fgb"}


def stage_gis(stage: Path, tables: dict[str, pd.DataFrame], spec: dict) -> list[str]:
    """Write a workflow's ``exports.gis`` tables as GIS files into its staged export folder.

    The folder is swapped in whole after the publish (workflows.io.swap_in), so the files
    appear with the run's other exports or not at all. Returns the file names written.
    """
    wkt = spec.get("wkt") or "wkt"
    written = []
    for name in spec["tables"]:
        frame = tables[name]
        if wkt not in frame.columns:
            raise InputError(f"exports.gis: table '{name}' has no geometry column '{wkt}' "
                             f"(columns: {', '.join(map(str, frame.columns))}); export the "
                             "output of a territory_polygons step, or set exports.gis.wkt",
                             column=wkt)
        for fmt in spec.get("formats") or ("geojson", "gpkg"):
            write_gis(stage / f"{name}{GIS_EXPORTS[fmt]}", frame, wkt=wkt, layer=name)
            written.append(f"{name}{GIS_EXPORTS[fmt]}")
    return written

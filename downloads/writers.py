"""File writers: one function per format, each streaming the rows of one statement (store.exports)
from a connection as the public role into a file, and returning how many rows it wrote.

Memory stays bounded whatever the size: CSV and NDJSON are COPY streams made by PostgreSQL,
written as they arrive; GeoParquet is fetched from a server-side cursor and written a row group
at a time; GeoPackage is written by GDAL's ogr2ogr, which reads PostgreSQL through a cursor.
"""

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.sql import Composable
from psycopg.types.string import TextLoader

from store import exports
from store.exports import SESSION_OPTIONS

BATCH_ROWS = 50_000          # rows per GeoParquet row group (and per fetch)
# GeoPackage stamps the time it was written (gpkg_contents.last_change); a fixed stamp makes a
# file's bytes, and so its checksum, a function of its content alone (the manifest's `modified`
# moves only when the data does). The real dates are in the manifest.
GPKG_FIXED_TIME = "2000-01-01T00:00:00Z"

Progress = Callable[[str], None]


class ExportError(RuntimeError):
    """A snapshot file could not be written (ogr2ogr missing or failing, ...)."""


def copy_csv(conn: psycopg.Connection, statement: Composable, path: Path) -> int:
    """The statement's rows as CSV with a header line (PostgreSQL's CSV: RFC 4180 quoting)."""
    return _copy(conn, exports.copy_csv(statement), path)


def copy_lines(conn: psycopg.Connection, statement: Composable, path: Path) -> int:
    """A one-column statement's text values (JSON), one per line, as they are."""
    return _copy(conn, exports.copy_lines(statement), path)


def _copy(conn: psycopg.Connection, query: Composable, path: Path) -> int:
    with conn.cursor() as cur, open(path, "wb") as out:
        with cur.copy(query) as copy:
            while data := copy.read():
                out.write(data)
        return cur.rowcount


def write_json_rows(conn: psycopg.Connection, statement: Composable, path: Path,
                    wrapper: dict[str, Any]) -> int:
    """A small statement's rows as one JSON document: `wrapper` with the rows under "items"."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        rows = cur.execute(statement).fetchall()
    with open(path, "w", encoding="utf-8") as out:
        json.dump({**wrapper, "items": rows}, out, ensure_ascii=False, indent=1, default=str)
        out.write("\n")
    return len(rows)


# -- GeoParquet -----------------------------------------------------------------------------------
def geoparquet_metadata(bbox: list[float] | None) -> dict[bytes, bytes]:
    """GeoParquet 1.1 file metadata: one WKB point column in OGC:CRS84 (longitude, latitude)."""
    column: dict[str, Any] = {"encoding": "WKB", "geometry_types": ["Point"]}
    if bbox:
        column["bbox"] = bbox
    geo = {"version": "1.1.0", "primary_column": "geometry", "columns": {"geometry": column}}
    return {b"geo": json.dumps(geo).encode()}


def write_geoparquet(conn: psycopg.Connection, statement: Composable, path: Path,
                     schema: pa.Schema, bbox: list[float] | None) -> int:
    """The statement's rows (its last column WKB, named `geometry` in the file) as GeoParquet,
    fetched BATCH_ROWS at a time from a server-side cursor, one row group per batch."""
    schema = schema.with_metadata(geoparquet_metadata(bbox))
    names = schema.names
    written = 0
    with conn.transaction(), conn.cursor(name="threatmap_export") as cur, \
            pq.ParquetWriter(path, schema, compression="zstd") as writer:
        cur.adapters.register_loader("uuid", TextLoader)   # ids as text: no UUID objects
        cur.itersize = BATCH_ROWS
        cur.execute(statement)
        while rows := cur.fetchmany(BATCH_ROWS):
            columns = list(zip(*rows, strict=True))
            batch = pa.RecordBatch.from_arrays(
                [pa.array(values, type=schema.field(i).type) for i, values in enumerate(columns)],
                names=names)
            writer.write_batch(batch)
            written += len(rows)
    return written


# -- GeoPackage ------------------------------------------------------------------------------------
def ogr2ogr() -> str:
    found = shutil.which("ogr2ogr")
    if not found:
        raise ExportError("ogr2ogr (GDAL, Debian package gdal-bin) is needed to write GeoPackage "
                          "files and was not found on PATH")
    return found


def gdal_connection(url: str) -> tuple[str, dict[str, str]]:
    """GDAL's PostgreSQL data source for a libpq URL or conninfo, without the password (it goes
    in PGPASSWORD, not on a command line others can read), and the environment to run with."""
    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    params["options"] = " ".join(filter(None, [params.get("options"), SESSION_OPTIONS]))
    env = {**os.environ, "OGR_CURRENT_DATE": GPKG_FIXED_TIME, "PGCLIENTENCODING": "UTF8"}
    if password:
        env["PGPASSWORD"] = password
    return "PG:" + make_conninfo(**params), env


def write_gpkg_layer(url: str, statement: str, path: Path, layer: str,
                     geometry_type: str | None, *, append: bool) -> None:
    """One layer of a GeoPackage from a SQL text (ogr2ogr: a cursor over PostgreSQL, large
    transactions into SQLite). A layer without geometry is an attributes table."""
    source, env = gdal_connection(url)
    command = [ogr2ogr(), "-f", "GPKG", str(path), source, "-sql", statement, "-nln", layer,
               "-gt", "65536", "-lco", "FID=fid", "--config", "OGR_SQLITE_SYNCHRONOUS", "OFF"]
    if append:
        command.insert(1, "-update")
    if geometry_type:
        command += ["-nlt", geometry_type, "-a_srs", "EPSG:4326", "-lco", "GEOMETRY_NAME=geom"]
    else:
        command += ["-nlt", "NONE"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ExportError(f"ogr2ogr failed writing layer {layer} of {path.name}: "
                          f"{result.stderr.strip()[-2000:]}")

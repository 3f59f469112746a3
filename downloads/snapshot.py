"""Snapshots of the public layer as files under `<data_dir>/downloads/`, and their manifest.

Two series, like data.police.uk's archives:
- `latest/`: everything public now, rewritten daily. A file whose new content has the same
  checksum as before is left as it was, with its `modified` date: harvesters fetch again only
  what changed.
- `monthly/YYYY-MM/`: the reports that occurred in a month, and that month's aggregates, written
  once the month is closed (`closed_after_days` after it ended: reports may be submitted up to
  30 days late and are published up to a month after that) and never rewritten.

Everything is read from `open` as the public role. Each file is written under a temporary name
beside its final one and renamed when complete; then the manifest (downloads.manifest) is
replaced, so a reader never sees a partial file or a manifest naming a missing one. A lock file
keeps two writers (the server's job, `threatmap export`) from working at once.
"""

from __future__ import annotations

import calendar
import contextlib
import fcntl
import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pyarrow as pa
from psycopg.sql import Composable

from downloads import writers
from downloads.manifest import (
    MEDIA_TYPES,
    Manifest,
    ManifestFile,
    downloads_dir,
    read_manifest,
    utc_now,
    write_manifest,
)
from downloads.tileset import write_pmtiles
from downloads.writers import Progress
from store import exports
from store.exports import SESSION_OPTIONS, Period

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"
DEFAULT_CLOSED_AFTER_DAYS = 62

REPORTS_PARQUET = pa.schema([
    ("id", pa.string()), ("x_2180", pa.float64()), ("y_2180", pa.float64()),
    ("category_id", pa.string()), ("status", pa.string()), ("occurred_on", pa.date32()),
    ("date_precision", pa.string()), ("cell_m", pa.int32()), ("voivodeship_code", pa.string()),
    ("county_code", pa.string()), ("police_unit_id", pa.string()), ("geometry", pa.binary()),
])


class Cancelled(Exception):
    """The snapshot was asked to stop (the server shutting down)."""


class SnapshotBusy(Exception):
    """Another process is writing snapshots now."""


@dataclass(frozen=True)
class Summary:
    rows: int
    first_day: date | None
    last_day: date | None
    bbox: list[float] | None


@dataclass(frozen=True)
class Target:
    """One file to write: where, what, and the function writing it to a path (-> rows)."""
    dataset: str
    format: str
    write: Callable[[Path], int | None]
    temporal: tuple[date | None, date | None] = (None, None)

    def path(self, period: str | None) -> str:
        return f"{_folder(period)}{self.dataset}.{self.format}"


# -- months ------------------------------------------------------------------------------------
def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of a "YYYY-MM" month; ValueError when it is not one."""
    try:
        year, number = (int(part) for part in month.split("-"))
        if len(month) != 7:
            raise ValueError
        first = date(year, number, 1)
    except ValueError:
        raise ValueError(f"a month is written YYYY-MM, such as 2026-11; got {month!r}") from None
    return first, first.replace(day=calendar.monthrange(year, number)[1])


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def closes_on(month: str, closed_after_days: int) -> date:
    """The day a month's archive may be written."""
    return month_bounds(month)[1] + timedelta(days=1 + closed_after_days)


def closed_months(first_day: date | None, today: date, closed_after_days: int) -> list[str]:
    """Every month from the first public report's to the last closed one, oldest first."""
    if first_day is None:
        return []
    months, month = [], month_of(first_day)
    while closes_on(month, closed_after_days) <= today:
        months.append(month)
        last = month_bounds(month)[1]
        month = month_of(last + timedelta(days=1))
    return months


# -- the writer -----------------------------------------------------------------------------------
def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        while chunk := data.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def gpkg_rows(path: Path, table: str) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        # the GeoPackage just written (SQLite), not the database
        return db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


@contextlib.contextmanager
def writer_lock(data_dir: Path) -> Iterator[None]:
    folder = downloads_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_NAME, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SnapshotBusy("another process is writing the downloads now") from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class SnapshotWriter:
    """Writes the latest snapshot and monthly archives for one database and data folder."""

    def __init__(self, public_url: str, data_dir: Path, config_dir: Path, *,
                 progress: Progress | None = None, stop: threading.Event | None = None,
                 tiles_max_zoom: int = 14, only: set[str] | None = None) -> None:
        self.public_url = public_url
        self.data_dir = Path(data_dir)
        self.root = downloads_dir(self.data_dir)
        self.config_dir = config_dir
        self.say = progress or (lambda text: log.info("downloads: %s", text))
        self.stop = stop or threading.Event()
        self.tiles_max_zoom = tiles_max_zoom
        self.only = only   # "dataset.format" names to write (the benchmark); None: all

    # -- connections ----------------------------------------------------------------------------
    def connect(self) -> psycopg.Connection:
        """A connection as the public role, no statement timeout (one COPY is one statement)."""
        return psycopg.connect(self.public_url, options=SESSION_OPTIONS, autocommit=True,
                               application_name="threatmap-export")

    def summary(self, conn: psycopg.Connection, period: Period) -> Summary:
        rows, first, last, *box = conn.execute(exports.reports_summary(period)).fetchone()
        return Summary(rows, first, last, [float(v) for v in box] if box[0] is not None else None)

    def first_report_day(self) -> date | None:
        with self.connect() as conn:
            return conn.execute(exports.report_dates()).fetchone()[0]

    # -- what a snapshot holds ------------------------------------------------------------------
    def targets(self, conn: psycopg.Connection, period: Period, summary: Summary,
                with_tiles: bool) -> list[Target]:
        url = self.public_url
        span = period or (summary.first_day, summary.last_day)

        def gpkg(layers: list[tuple[str, Composable, str | None]], main: str
                 ) -> Callable[[Path], int]:
            def write(path: Path) -> int:
                for number, (layer, statement, geometry) in enumerate(layers):
                    writers.write_gpkg_layer(url, statement.as_string(conn), path, layer, geometry,
                                             append=number > 0)
                return gpkg_rows(path, main)
            return write

        def csv(statement: Composable) -> Callable[[Path], int]:
            return lambda path: writers.copy_csv(conn, statement, path)

        targets = [
            Target("reports", "gpkg", gpkg([("reports", exports.reports(period, lon_lat=False,
                                                                         geometry="geom"), "POINT")],
                                           "reports"), span),
            Target("reports", "csv", csv(exports.reports(period, lon_lat=True, geometry=None)), span),
            Target("reports", "ndjson",
                   lambda path: writers.copy_lines(conn, exports.reports_geojson(period), path), span),
            Target("reports", "parquet", lambda path: writers.write_geoparquet(
                conn, exports.reports(period, lon_lat=False, geometry="wkb"), path, REPORTS_PARQUET,
                summary.bbox), span),
            Target("report-density", "gpkg", gpkg(
                [("report_density", exports.density(period, geometry=True), "POLYGON")],
                "report_density"), span),
            Target("report-density", "csv", csv(exports.density(period, geometry=False)), span),
            # Area outlines once, the counts as a table keyed by area_code (an outline per
            # count row would repeat each county's polygon thousands of times).
            Target("area-statistics", "gpkg", gpkg(
                [("areas", exports.areas(), "MULTIPOLYGON"),
                 ("area_statistics", exports.area_statistics(period), None)], "area_statistics"),
                span),
            Target("area-statistics", "csv", csv(exports.area_statistics(period)), span),
            Target("police-statistics", "gpkg", gpkg(
                [("areas", exports.areas(), "MULTIPOLYGON"),
                 ("police_statistics", exports.police_statistics(period), None),
                 ("road_sections", exports.road_sections(period), "MULTILINESTRING")],
                "police_statistics"), period or (None, None)),
            Target("police-statistics", "csv", csv(exports.police_statistics(period)),
                   period or (None, None)),
            Target("categories", "csv", csv(exports.categories(text_booleans=True))),
            Target("categories", "json", lambda path: writers.write_json_rows(
                conn, exports.categories(), path, {"licence": "CC-BY-4.0"})),
        ]
        if with_tiles:
            targets.append(Target("tiles", "pmtiles", self._tiles(conn), span))
        return targets

    def _tiles(self, conn: psycopg.Connection) -> Callable[[Path], int | None]:
        def write(path: Path) -> int | None:
            stats = write_pmtiles(conn, path, self.config_dir, self.tiles_max_zoom, self.say,
                                  stop=self.check_stop)
            return stats.tiles if stats.tiles else -1   # -1: nothing to publish
        return write

    # -- writing --------------------------------------------------------------------------------
    def check_stop(self) -> None:
        if self.stop.is_set():
            raise Cancelled()

    def _write(self, target: Target, series: str, period: str | None,
               known: dict[str, ManifestFile]) -> ManifestFile | None:
        self.check_stop()
        relative = target.path(period)
        final = self.root / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = final.with_name(f".{final.name}.partial")
        temporary.unlink(missing_ok=True)
        started = datetime.now(UTC)
        try:
            rows = target.write(temporary)
            if rows == -1:
                self.say(f"{relative}: nothing to publish")
                temporary.unlink(missing_ok=True)
                return None
            digest, size = sha256_of(temporary), temporary.stat().st_size
            previous = known.get(relative)
            now = utc_now()
            if previous and previous.sha256 == digest and final.exists():
                temporary.unlink()
                entry = replace(previous, rows=rows if target.dataset != "tiles" else None,
                                extra={**previous.extra, "checked": now})
                state = "unchanged"
            else:
                os.replace(temporary, final)
                entry = ManifestFile(
                    path=relative, dataset=target.dataset, series=series, period=period,
                    format=target.format, media_type=MEDIA_TYPES[target.format], size=size,
                    sha256=digest, issued=previous.issued if previous else now, modified=now,
                    temporal_start=_day(target.temporal[0]), temporal_end=_day(target.temporal[1]),
                    rows=rows if target.dataset != "tiles" else None,
                    extra={"checked": now, **({"tiles": rows} if target.dataset == "tiles" else {})})
                state = "written"
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        seconds = (datetime.now(UTC) - started).total_seconds()
        self.say(f"{relative}: {state}, {size:,} bytes, {rows} rows, {seconds:.1f} s")
        return entry

    def _series(self, series: str, month: str | None) -> Manifest:
        period = month_bounds(month) if month else None
        manifest = read_manifest(self.data_dir)
        known = manifest.by_path()
        with self.connect() as conn:
            summary = self.summary(conn, period)
            self.say(f"{month or 'latest'}: {summary.rows:,} public reports")
            entries = [self._write(t, series, month, known)
                       for t in self.targets(conn, period, summary, with_tiles=month is None)
                       if self.only is None or f"{t.dataset}.{t.format}" in self.only]
        kept = [f for f in manifest.files if not f.path.startswith(_folder(month))]
        manifest = Manifest(utc_now(), [*kept, *(e for e in entries if e is not None)])
        write_manifest(self.data_dir, manifest)
        return manifest

    def write_latest(self) -> Manifest:
        with writer_lock(self.data_dir):
            return self._series("latest", None)

    def write_month(self, month: str) -> Manifest | None:
        """The month's archive unless it is complete already (archives are never rewritten)."""
        with writer_lock(self.data_dir):
            if self.month_complete(month):
                return None
            return self._series("monthly", month)

    def month_complete(self, month: str) -> bool:
        files = [f for f in read_manifest(self.data_dir).files if f.period == month]
        return bool(files) and all((self.root / f.path).exists() for f in files)

    def latest_age(self) -> timedelta | None:
        """How old the latest snapshot is (None: there is none)."""
        stamps = [f.extra.get("checked") or f.modified
                  for f in read_manifest(self.data_dir).files if f.series == "latest"]
        if not stamps:
            return None
        return datetime.now(UTC) - datetime.fromisoformat(min(stamps).replace("Z", "+00:00"))


def _folder(month: str | None) -> str:
    return f"monthly/{month}/" if month else "latest/"


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


# -- what the maintenance job and the CLI run -------------------------------------------------------
def due_months(writer: SnapshotWriter, today: date, closed_after_days: int) -> list[str]:
    return [m for m in closed_months(writer.first_report_day(), today, closed_after_days)
            if not writer.month_complete(m)]


def run_due(writer: SnapshotWriter, *, latest_every: timedelta, closed_after_days: int,
            today: date | None = None) -> list[str]:
    """Writes what is due: the latest snapshot when older than latest_every, every closed month
    not yet archived. Returns what was written ("latest", "2026-10", ...)."""
    done = []
    age = writer.latest_age()
    if age is None or age >= latest_every:
        writer.write_latest()
        done.append("latest")
    for month in due_months(writer, today or datetime.now(UTC).date(), closed_after_days):
        if writer.write_month(month) is not None:
            done.append(month)
    return done

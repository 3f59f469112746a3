"""The downloads manifest: `<data_dir>/downloads/manifest.json`, what every file offered under
/downloads is (dataset, series, period, format), its size and SHA-256, and its dates.

This is the contract between the snapshot writer (downloads.snapshot) and its readers (the
/downloads listing, the DCAT-AP catalogue). The writer replaces the file atomically (a temporary
file renamed over it) after the files it lists, so a reader always sees a complete manifest
whose files exist. Shape:

    {"generated": "<ISO-8601 UTC>",
     "files": [{"path": "monthly/2026-11/reports.gpkg", "dataset": "reports",
                "series": "monthly", "period": "2026-11", "format": "gpkg",
                "media_type": "application/geopackage+sqlite3", "size": 123, "sha256": "<hex>",
                "issued": "<ISO UTC, first written>", "modified": "<ISO UTC, content changed>",
                "temporal_start": "2026-11-01", "temporal_end": "2026-11-30", "rows": 42}, ...]}

`path` is relative to the downloads folder and is served at `/downloads/<path>`. `modified`
moves only when a file's content (its checksum) changes; a monthly file, once written, is never
rewritten.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DOWNLOADS_DIR = "downloads"
MANIFEST_NAME = "manifest.json"

DATASETS = ("reports", "report-density", "area-statistics", "police-statistics", "categories",
            "tiles")
SERIES = ("monthly", "latest")
# Media types: IANA registrations where one exists (GeoPackage, CSV, JSON, Parquet); NDJSON and
# PMTiles have none yet, so their common names.
MEDIA_TYPES = {
    "gpkg": "application/geopackage+sqlite3",
    "csv": "text/csv",
    "ndjson": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
    "json": "application/json",
    "pmtiles": "application/vnd.pmtiles",
}
FORMATS = tuple(MEDIA_TYPES)


def downloads_dir(data_dir: Path) -> Path:
    return Path(data_dir) / DOWNLOADS_DIR


def manifest_path(data_dir: Path) -> Path:
    return downloads_dir(data_dir) / MANIFEST_NAME


def utc_now() -> str:
    """Now as ISO-8601 UTC to the second, e.g. 2026-12-02T12:00:00Z."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class ManifestFile:
    path: str                      # relative to the downloads folder; URL /downloads/<path>
    dataset: str                   # one of DATASETS
    series: str                    # "monthly" or "latest"
    period: str | None             # "YYYY-MM" for monthly files, None for latest
    format: str                    # one of FORMATS
    media_type: str
    size: int                      # bytes
    sha256: str                    # hex
    issued: str                    # ISO-8601 UTC, when first written
    modified: str                  # ISO-8601 UTC, when the content last changed
    temporal_start: str | None     # YYYY-MM-DD: the first day the data covers
    temporal_end: str | None       # YYYY-MM-DD: the last day
    rows: int | None               # features/rows in the file (None: not counted, e.g. tiles)
    extra: dict[str, Any] = field(default_factory=dict)   # keys added later, kept as read

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ManifestFile:
        known = {f.name for f in fields(cls)} - {"extra"}
        return cls(**{k: data.get(k) for k in known},
                   extra={k: v for k, v in data.items() if k not in known})

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        extra = data.pop("extra")
        return {**data, **extra}

    @property
    def name(self) -> str:
        """The file name a download is saved as (Content-Disposition)."""
        stem = self.path.rsplit("/", 1)[-1]
        return f"threatmap-{self.period}-{stem}" if self.period else f"threatmap-latest-{stem}"


@dataclass(frozen=True)
class Manifest:
    generated: str | None
    files: list[ManifestFile]

    def by_path(self) -> dict[str, ManifestFile]:
        return {f.path: f for f in self.files}

    def find(self, path: str) -> ManifestFile | None:
        return self.by_path().get(path)

    def periods(self) -> list[str]:
        """The monthly archives' periods, newest first."""
        return sorted({f.period for f in self.files if f.period}, reverse=True)

    def to_json(self) -> dict[str, Any]:
        return {"generated": self.generated, "files": [f.to_json() for f in self.files]}


EMPTY = Manifest(None, [])


def read_manifest(data_dir: Path) -> Manifest:
    """The manifest under data_dir, or an empty one when no snapshot was written yet."""
    try:
        data = json.loads(manifest_path(data_dir).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return EMPTY
    return Manifest(data.get("generated"), [ManifestFile.from_json(f) for f in data.get("files", [])])


def write_manifest(data_dir: Path, manifest: Manifest) -> None:
    """Replaces the manifest atomically: readers see the old one or the new one, never a part."""
    target = manifest_path(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".manifest-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(manifest.to_json(), out, ensure_ascii=False, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)   # readable like the data files (mkstemp makes it 0600)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

"""`threatmap stats import` (issue 15, point 2): check the whole file, then write it in one
transaction, replacing the source's same period.

One pass over the file: each row is checked and, when good, streamed by COPY into a temporary
table inside the transaction; nothing touches the real tables until the end of the file. Then
the rows found twice in the file are looked up set-based. Any issue rolls the whole transaction
back (so a bad file writes nothing, not even its staging rows); otherwise one set-based merge
per target replaces the source's figures of the file's months (years, periods) and records the
import (who, when, the file's SHA-256, rows).
"""

import getpass
import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from policestats.files import (
    FORMATS,
    Catalogue,
    FileFormatError,
    Issue,
    check_rows,
    column_positions,
    read_rows,
    size_hint,
)
from store import police_stats
from store.catalogue import load_statistic_kinds

MAX_ISSUES = 100


class ImportRejected(Exception):
    """The file has issues; nothing was written."""

    def __init__(self, issues: list[Issue], total: int) -> None:
        super().__init__(f"{total} errors")
        self.issues = issues
        self.total = total


@dataclass
class ImportResult:
    import_id: int
    kind: str
    source: str
    rows: int
    replaced: int
    sha256: str
    actor: str
    staged_s: float = 0.0    # reading, checking and COPY into the staging table
    merged_s: float = 0.0    # the duplicate check, the replace and the record, and the commit
    issues: list[Issue] = field(default_factory=list)


def load_catalogue(config_dir: Path) -> list[tuple]:
    """config/statistic_kinds.yml as rows of core.statistic_kinds."""
    return police_stats.statistic_kind_rows(load_statistic_kinds(config_dir))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def import_file(conn: psycopg.Connection, path: Path, kind: str, source: str, config_dir: Path,
                actor: str | None = None, crs: int | None = None, progress: bool = False,
                max_issues: int = MAX_ISSUES) -> ImportResult:
    """Imports one file on `conn` (not in a transaction yet); raises ImportRejected or
    FileFormatError having written nothing."""
    if kind not in FORMATS:
        raise FileFormatError(f"unknown kind of file {kind!r}: one of {', '.join(FORMATS)}")
    if not source.strip():
        raise FileFormatError("the source's name is empty")
    digest = sha256_of(path)
    kinds = load_catalogue(config_dir)
    bar = _progress_bar(path, progress)
    started = time.perf_counter()
    try:
        header, rows = read_rows(path, bar.update if bar else None)
        positions, issues = column_positions(kind, header)
        if issues:
            raise ImportRejected(issues, len(issues))
        with conn.transaction():
            police_stats.load_kinds(conn, kinds)
            catalogue = Catalogue(kinds=frozenset(k[0] for k in kinds),
                                  areas=police_stats.area_codes(conn), default_crs=crs)
            police_stats.create_stage(conn, kind)
            found: list[Issue] = []
            counter = {"issues": 0}
            police_stats.copy_rows(conn, kind, _good_rows(check_rows(kind, positions, rows, catalogue),
                                                          found, counter, max_issues))
            staged = time.perf_counter()
            if not counter["issues"]:
                for lines, what in police_stats.duplicates(conn, kind, max_issues):
                    counter["issues"] += len(lines) - 1
                    found.extend(Issue(line, None, None, f"{what} again (first on line {lines[0]})")
                                 for line in lines[1:])
            if counter["issues"]:
                raise ImportRejected(found[:max_issues], counter["issues"])
            import_id, written, replaced = police_stats.merge(conn, police_stats.ImportRecord(
                source=source, kind=kind, file_name=path.name, sha256=digest,
                actor=actor or default_actor()))
    finally:
        if bar:
            bar.close()
    return ImportResult(import_id=import_id, kind=kind, source=source, rows=written, replaced=replaced,
                        sha256=digest, actor=actor or default_actor(), staged_s=staged - started,
                        merged_s=time.perf_counter() - staged)


def _good_rows(checked: Iterator[tuple[int, tuple | None, list[Issue]]], found: list[Issue],
               counter: dict[str, int], max_issues: int) -> Iterator[tuple]:
    for line, values, issues in checked:
        if issues:
            counter["issues"] += len(issues)
            if len(found) < max_issues:
                found.extend(issues[:max_issues - len(found)])
        elif not counter["issues"]:   # once the file is bad, copying more is wasted work
            yield (line, *values)


def _progress_bar(path: Path, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm
    total, unit = size_hint(path)
    return tqdm(total=total, unit=unit, unit_scale=unit == "B", desc=path.name, leave=False,
                disable=None)   # None: only on a terminal


def describe(result: ImportResult) -> str:
    return (f"imported {result.rows} rows of {result.kind} from source {result.source!r} "
            f"(import {result.import_id}, {result.replaced} earlier rows of the same period replaced, "
            f"sha256 {result.sha256[:12]}..., by {result.actor}; read, checked and staged in "
            f"{result.staged_s:.1f} s, merged and committed in {result.merged_s:.1f} s)")


def issue_lines(rejected: ImportRejected) -> Iterator[str]:
    yield from (str(issue) for issue in rejected.issues)
    if rejected.total > len(rejected.issues):
        yield f"... and {rejected.total - len(rejected.issues)} more"


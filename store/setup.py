"""Bringing a database to a usable state: reachable, migrated (tables and code), policy applied,
reference data."""

import logging
from dataclasses import dataclass
from pathlib import Path

import psycopg

from store.demo import Progress
from store.locations import DatabaseUrls, check_connects
from store.migrate import upgrade
from store.privacy import apply_policy, load_policy
from store.seed import has_reports, seed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SetupResult:
    migrations_applied: int
    demo_reports_added: int
    sql_files_applied: int = 0


def prepare_database(urls: DatabaseUrls, config_dir: Path, demo_on_first_start: int = 0,
                     progress: Progress | None = None, demo_bulk: bool = False) -> SetupResult:
    policy = load_policy(config_dir / "privacy.yml")  # a bad policy fails before anything runs
    check_connects(urls.admin, "owner")
    applied = upgrade(urls.admin)
    for migration in applied.migrations:
        log.info("applied migration %s", migration.label)
    if applied.sql_files:
        log.info("applied the database code: %s", ", ".join(f.name for f in applied.sql_files))
    with psycopg.connect(urls.app) as conn:
        apply_policy(conn, policy)
        first_start = not has_reports(conn)
        added = seed(conn, config_dir, demo_on_first_start if first_start else 0,
                     progress=progress or (lambda text: log.info("%s", text)),
                     demo_bulk=demo_bulk)
        conn.commit()
    if added:
        log.info("seeded %d demo reports", added)
    check_connects(urls.public, "public read-only")
    return SetupResult(len(applied.migrations), added, len(applied.sql_files))

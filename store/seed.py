"""`threatmap seed`: the catalogue, the workflow, areas and police units, and optional demo data."""

from pathlib import Path

import psycopg

from store.areas import seed_areas
from store.catalogue import load_catalogue, load_statistic_kinds, load_workflow, seed_catalogue
from store.demo import Progress, load_demo
from store.demo_bulk import load_demo_bulk
from store.police_stats import load_kinds, statistic_kind_rows

DEMO_SEED = 20261125


def seed(conn: psycopg.Connection, config_dir: Path, demo: int = 0, demo_seed: int = DEMO_SEED,
         progress: Progress | None = None, demo_bulk: bool = False) -> int:
    """Loads reference data (idempotent) and `demo` synthetic reports; returns reports added.
    `demo_bulk`: into an empty database, the set-based path of store/demo_bulk.py (big
    benchmark databases; other data than store/demo.py's for the same seed)."""
    seed_catalogue(conn, load_catalogue(config_dir), load_workflow(config_dir))
    seed_areas(conn, config_dir / "poland")
    load_kinds(conn, statistic_kind_rows(load_statistic_kinds(config_dir)))
    if demo <= 0:
        return 0
    if demo_bulk and not has_reports(conn):
        conn.commit()   # the reference data; the bulk load is a transaction of its own
        return load_demo_bulk(conn, demo, demo_seed, progress)
    return load_demo(conn, demo, demo_seed, config_dir / "poland", progress)


def has_reports(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT EXISTS (SELECT FROM core.reports)").fetchone()[0]

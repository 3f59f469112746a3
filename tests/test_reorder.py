"""The public layer's heap in spatial order (issue 16, point 5; store/reorder.py): the bulk load
and the full rebuild write open.reports, open.report_features and core.report_cells in PostGIS's
sort order of their points, and `threatmap db reorder` restores that order on a live database
without changing a public answer, or changes nothing when it cannot get its lock in time; both
ways, online (pg_repack, which .ci/run installs with PostGIS) and with CLUSTER; online, the
changes written while it copies are all in the new heap.

An INSERT in order is in order but for a few rows a thousand: when a row does not fit on the
current page, PostgreSQL asks the free space map, which may hand back an earlier page with room
for a shorter row. CLUSTER writes exactly in order."""

import random
import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from gateway.cli import main
from store import reorder
from store.locations import DatabaseUrls, ManagedDatabase
from tests.support import bulk_loaded_database, insert_report, rows_as_text

REPORTS = 3000
TABLES = ("open.reports", "open.report_features", "core.report_cells")


@pytest.fixture(scope="module")
def ordered_db(managed_db: ManagedDatabase, drop_db: Callable[[str], None]) -> Iterator[DatabaseUrls]:
    """A database of its own with REPORTS bulk-loaded demo reports."""
    with bulk_loaded_database(managed_db.cluster, drop_db, "reorder", REPORTS) as urls:
        yield urls


def _disorder(conn: psycopg.Connection, table: str) -> float:
    """The share of rows, in the heap's order (ctid), whose point sorts before the previous
    row's: 0 in PostGIS's sort order of points, about a half in a random order."""
    return conn.execute(f"""
        SELECT avg((prev > geom)::int)::float8
        FROM (SELECT geom, lag(geom) OVER (ORDER BY ctid) AS prev FROM {table}) AS t
        WHERE prev IS NOT NULL""").fetchone()[0]


def _physical(conn: psycopg.Connection, table: str) -> list[str]:
    return [r[0] for r in conn.execute(f"SELECT t::text FROM {table} AS t ORDER BY ctid")]


def _oid(conn: psycopg.Connection, table: str) -> tuple[int, list[str] | None]:
    return conn.execute("SELECT oid::int, reloptions FROM pg_class WHERE oid = %s::regclass",
                        [table]).fetchone()


def _indexes(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return conn.execute("SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) "
                        "FROM pg_index WHERE indrelid = ANY (%s::regclass[]) ORDER BY 1",
                        [list(TABLES)]).fetchall()


def _scramble(conn: psycopg.Connection) -> None:
    """The tables rewritten in a random order, their rows unchanged (triggers off: nothing
    the public layer holds changes, only where the rows lie)."""
    with conn.transaction():
        for table in TABLES:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            conn.execute(f"CREATE TEMP TABLE shuffled ON COMMIT DROP AS SELECT * FROM {table}")
            conn.execute(f"DELETE FROM {table}")
            conn.execute(f"INSERT INTO {table} SELECT * FROM shuffled ORDER BY random()")
            conn.execute("DROP TABLE shuffled")
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    for table in TABLES:
        assert _disorder(conn, table) > 0.3, f"{table} still in order: the check cannot fail"


@pytest.fixture
def scrambled(ordered_db: DatabaseUrls, monkeypatch: pytest.MonkeyPatch) -> Iterator[psycopg.Connection]:
    monkeypatch.setenv("THREATMAP_DATABASE_URL", ordered_db.admin)
    with psycopg.connect(ordered_db.app, autocommit=True) as conn:
        _scramble(conn)
        yield conn


def test_the_bulk_load_writes_the_tables_in_spatial_order(ordered_db: DatabaseUrls) -> None:
    with psycopg.connect(ordered_db.app) as conn:
        assert conn.execute("SELECT count(*) FROM open.reports").fetchone()[0] > REPORTS // 2
        for table in TABLES:
            assert _disorder(conn, table) < 0.01, table


def _rebuilt_as_they_were(conn: psycopg.Connection) -> None:
    """The public layer rebuilt from core.reports gives the very rows the tables hold."""
    before = {table: rows_as_text(conn, table) for table in TABLES}
    with conn.transaction():
        conn.execute("SET LOCAL threatmap.bulk = 'on'")
        conn.execute("SELECT core.rebuild_public_layer()")
    for table in TABLES:
        assert rows_as_text(conn, table) == before[table], table


def test_the_rebuild_of_the_public_layer_writes_in_spatial_order(scrambled: psycopg.Connection) -> None:
    _rebuilt_as_they_were(scrambled)
    for table in TABLES:
        assert _disorder(scrambled, table) < 0.01, table


@pytest.mark.parametrize("method", ["online", "cluster"])
def test_reorder_restores_the_order_and_changes_no_row(
        scrambled: psycopg.Connection, capsys: pytest.CaptureFixture[str], method: str) -> None:
    before = {table: rows_as_text(scrambled, table) for table in TABLES}
    indexes = _indexes(scrambled)
    oids = [_oid(scrambled, table) for table in TABLES]
    main(["db", "reorder", "--method", method])
    out = capsys.readouterr().out
    for table in TABLES:
        assert rows_as_text(scrambled, table) == before[table], table
        # CLUSTER: exactly in order; pg_repack's INSERT ... ORDER BY: but for a few rows in a
        # thousand (the module's docstring)
        assert _disorder(scrambled, table) <= (0.01 if method == "online" else 0), table
        assert f"{table}: rewritten in" in out
    assert ("readers held only for moments" in out) == (method == "online")
    assert "matches a heap block" in out
    assert out.splitlines()[-1].startswith("reordered in")
    # the same tables (their OIDs: views, triggers and grants stay theirs), the same settings
    assert [_oid(scrambled, table) for table in TABLES] == oids
    # every index as it was, the B-tree made for open.reports' CLUSTER gone again
    assert _indexes(scrambled) == indexes
    # CLUSTER leaves the visibility map empty; the command's VACUUM fills it (index-only scans)
    assert scrambled.execute("SELECT relallvisible = relpages FROM pg_class "
                             "WHERE oid = 'core.report_cells'::regclass").fetchone()[0]


@pytest.mark.parametrize(("method", "timeout", "said"), [("cluster", "0.3", "0.3"),
                                                        ("online", "0.3", "1")])
def test_reorder_gives_up_within_its_lock_timeout_and_changes_nothing(
        scrambled: psycopg.Connection, ordered_db: DatabaseUrls, method: str, timeout: str,
        said: str) -> None:
    """(pg_repack waits whole seconds, at least one.)"""
    physical = {table: _physical(scrambled, table) for table in TABLES}
    indexes = _indexes(scrambled)
    with psycopg.connect(ordered_db.public) as reader:
        reader.execute("SELECT id FROM open.reports LIMIT 1").fetchone()   # a read left open
        started = time.monotonic()
        with pytest.raises(SystemExit) as exited:
            main(["db", "reorder", "--lock-timeout-s", timeout, "--method", method])
        waited = time.monotonic() - started
        reader.rollback()
    message = str(exited.value.code)
    assert message.startswith("threatmap: open.reports is in use: its lock was not granted "
                              f"within {said} s"), message
    assert waited < float(said) + 5
    assert "nothing was changed" in message
    for table in TABLES:
        assert _physical(scrambled, table) == physical[table], table
    assert _indexes(scrambled) == indexes


@pytest.mark.parametrize("value", ["soon", "0", "-1"])
def test_reorder_refuses_a_lock_timeout_that_is_no_bound(
        value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """0 would be PostgreSQL's "wait for ever": refused before anything connects."""
    with pytest.raises(SystemExit) as exited:
        main(["db", "reorder", "--lock-timeout-s", value])
    assert exited.value.code == 2
    assert "--lock-timeout-s" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["online", "cluster"])
def test_a_status_change_after_reorder_keeps_the_row_on_its_page(
        scrambled: psycopg.Connection, method: str) -> None:
    """Migration 0025's fillfactor (and 0026's for the kept texts): a reorder leaves room on each
    page of open.reports and open.report_features, so a status change is a HOT update on the same
    page and the spatial order stays."""
    main(["db", "reorder", "--method", method])
    # One report a page of each table: the room a page keeps is for one new version, and a
    # second update on the same page fits only if the first one's old version was pruned, which
    # any snapshot open elsewhere in the cluster (a session app's job) prevents.
    pages: set[tuple[str, float]] = set()
    ids = []
    for report, reports_page, features_page in scrambled.execute(
            "SELECT r.id, (r.ctid::text::point)[0], (f.ctid::text::point)[0] FROM open.reports AS r "
            "JOIN open.report_features AS f USING (id) WHERE r.status = 'under_verification' "
            "ORDER BY r.id"):
        if ("r", reports_page) not in pages and ("f", features_page) not in pages:
            pages |= {("r", reports_page), ("f", features_page)}
            ids.append(report)
    ids = ids[:100]
    assert len(ids) >= 20
    blocks = "SELECT id, (ctid::text::point)[0] FROM {} WHERE id = ANY (%s)"
    tables = ("open.reports", "open.report_features")
    before = {t: dict(scrambled.execute(blocks.format(t), [ids]).fetchall()) for t in tables}
    for report in ids:
        scrambled.execute("UPDATE core.reports SET status = 'confirmed' WHERE id = %s", [report])
    assert scrambled.execute("SELECT count(*) FROM open.reports WHERE id = ANY (%s) "
                             "AND status = 'confirmed'", [ids]).fetchone()[0] == len(ids)
    assert scrambled.execute("SELECT count(*) FROM open.report_features WHERE id = ANY (%s) "
                             "AND feature LIKE '%%\"status\" : \"confirmed\"%%'",
                             [ids]).fetchone()[0] == len(ids)
    for table in tables:
        assert dict(scrambled.execute(blocks.format(table), [ids]).fetchall()) == before[table], table


def test_changes_written_during_an_online_reorder_are_all_kept(
        scrambled: psycopg.Connection, ordered_db: DatabaseUrls) -> None:
    """Reports published one by one (each adds a row to open.reports, its kept text and its
    cell) while pg_repack copies the tables: after it, the public layer is what a rebuild from
    core.reports makes of the same reports."""
    written: list[float] = []
    finished = threading.Event()
    rng = random.Random(29)

    def writer() -> None:
        with psycopg.connect(ordered_db.app, autocommit=True) as conn:
            while not finished.is_set() and len(written) < 2000:
                insert_report(conn, lon=rng.uniform(14.5, 23.5), lat=rng.uniform(49.5, 54.5),
                              published=True)
                written.append(time.monotonic())
                time.sleep(0.002)

    thread = threading.Thread(target=writer)
    thread.start()
    started = time.monotonic()
    try:
        main(["db", "reorder", "--method", "online", "--lock-timeout-s", "5"])
    finally:
        ended = time.monotonic()
        finished.set()
        thread.join()
    assert sum(started < t < ended for t in written) >= 10, "too few reports published meanwhile"
    _rebuilt_as_they_were(scrambled)


def test_an_online_reorder_pg_repack_refuses_says_why_and_changes_nothing(
        ordered_db: DatabaseUrls) -> None:
    """A table pg_repack cannot copy online (no key on NOT NULL columns, as core.report_cells
    before migration 0029): ReorderFailed with pg_repack's reason, not a lock said busy."""
    with psycopg.connect(ordered_db.admin, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.no_key AS SELECT geom FROM open.reports")
        try:
            physical = _physical(conn, "public.no_key")
            with pytest.raises(reorder.ReorderFailed, match="primary key"):
                reorder.reorder(ordered_db.admin, method=reorder.ONLINE,
                                tables=(reorder.Table("public.no_key", "geom", None),))
            assert _physical(conn, "public.no_key") == physical
        finally:
            conn.execute("DROP TABLE public.no_key")


def test_auto_falls_back_to_cluster_where_pg_repack_cannot_run(
        scrambled: psycopg.Connection, ordered_db: DatabaseUrls) -> None:
    """pg_repack needs a superuser: as the application role (the tables' owner), `auto` says why
    and rewrites with CLUSTER; `online` refuses and changes nothing."""
    physical = {table: _physical(scrambled, table) for table in TABLES}
    with pytest.raises(reorder.OnlineUnavailable, match="superuser"):
        reorder.reorder(ordered_db.app, method=reorder.ONLINE)
    for table in TABLES:
        assert _physical(scrambled, table) == physical[table], table
    said: list[str] = []
    done = reorder.reorder(ordered_db.app, method=reorder.AUTO, say=said.append)
    assert said[0].startswith("CLUSTER, not online: pg_repack needs a superuser"), said[0]
    assert [d.table for d in done] == list(TABLES)
    assert all(d.locked_s is not None for d in done)   # CLUSTER's lock, timed
    for table in TABLES:
        assert _disorder(scrambled, table) == 0, table

"""Existing data through migrations 0009-0010 (issue 13): a database built by the code before
them, with reports in the old workflow, is upgraded in place: reports never opened become `new`
(each move an event of its chain), verdicts get their time from the history, every history
verifies, and the public layer follows."""

import subprocess
from pathlib import Path

import psycopg

from store.audit import verify
from store.migrate import upgrade
from tests.test_migrations import Scratch, scratch  # noqa: F401  (the fixture)

BEFORE = "3c6c617"   # main before the tamper-evident history and the KMZB workflow
REPO = Path(__file__).resolve().parents[1]


def old_tree(target: Path, folder: str) -> None:
    """store/<folder> as it was at BEFORE."""
    target.mkdir(parents=True, exist_ok=True)
    names = subprocess.run(["git", "-C", str(REPO), "ls-tree", "--name-only", f"{BEFORE}:store/{folder}"],
                           capture_output=True, text=True, check=True).stdout.split()
    for name in names:
        text = subprocess.run(["git", "-C", str(REPO), "show", f"{BEFORE}:store/{folder}/{name}"],
                              capture_output=True, text=True, check=True).stdout
        (target / name).write_text(text)


def test_an_old_database_is_migrated_in_place(scratch: Scratch, tmp_path: Path) -> None:  # noqa: F811
    old_migrations, old_sql = tmp_path / "old" / "migrations", tmp_path / "old" / "sql"
    old_tree(old_migrations, "migrations")
    old_tree(old_sql, "sql")
    upgrade(scratch.url, old_migrations, old_sql)
    with psycopg.connect(scratch.url, autocommit=True) as conn:
        conn.execute("SET ROLE threatmap_app")
        conn.execute("INSERT INTO core.category_groups (id, name_pl, name_en) VALUES ('g', 'g', 'g')")
        conn.execute("INSERT INTO core.categories (id, group_id, name_pl, name_en, colour, icon) "
                     "VALUES ('vandalism', 'g', 'Akty wandalizmu', 'Vandalism', '#8e44ad', 'hammer')")
        conn.execute("INSERT INTO core.statuses (id, name_pl, name_en, is_initial) VALUES "
                     "('under_verification', 'weryfikowane', 'under verification', true), "
                     "('confirmed', 'potwierdzone', 'confirmed', false)")
        conn.execute("INSERT INTO core.status_transitions VALUES ('under_verification', 'confirmed')")
        waiting, confirmed = (conn.execute(
            "INSERT INTO core.reports (category_id, status, geom, occurred_at, created_at, published_at) "
            "VALUES ('vandalism', 'under_verification', 'SRID=4326;POINT(21.01 52.23)', "
            "now() - interval '3 days', now() - interval '2 days', now() - interval '1 day') "
            "RETURNING id").fetchone()[0] for _ in range(2))
        for report in (waiting, confirmed):
            conn.execute("INSERT INTO core.report_events (report_id, kind, actor, at) "
                         "VALUES (%s, 'created', 'citizen', now() - interval '2 days')", [report])
        conn.execute("UPDATE core.reports SET status = 'confirmed' WHERE id = %s", [confirmed])
        conn.execute("INSERT INTO core.report_events (report_id, kind, from_status, to_status, actor, at) "
                     "VALUES (%s, 'status_changed', 'under_verification', 'confirmed', 'officer:a@kpp-1', "
                     "now() - interval '1 day')", [confirmed])

    applied = scratch.upgrade()   # the current migrations and code
    labels = [m.label for m in applied.migrations]   # later migrations (0012, ...) may follow
    assert labels[labels.index("0009_report_event_chain"):][:2] == ["0009_report_event_chain",
                                                                    "0010_kmzb_workflow"], applied

    with psycopg.connect(scratch.url) as conn:
        rows = dict(conn.execute("SELECT id, status FROM core.reports").fetchall())
        assert rows == {waiting: "new", confirmed: "confirmed"}
        moved = conn.execute("SELECT seq, kind, from_status, to_status, actor FROM core.report_events "
                             "WHERE report_id = %s ORDER BY seq", [waiting]).fetchall()
        assert moved == [(1, "created", None, None, "citizen"),
                         (2, "status_changed", "under_verification", "new", "system:migration")]
        verified = conn.execute("SELECT r.verified_at = e.at, r.read_at = e.at FROM core.reports AS r "
                                "JOIN core.report_events AS e ON e.report_id = r.id "
                                "AND e.kind = 'status_changed' WHERE r.id = %s", [confirmed]).fetchone()
        assert verified == (True, True)
        result = verify(conn)
        assert (result.reports, result.events, result.first_break) == (2, 4, None)
        public = dict(conn.execute("SELECT id, status FROM open.reports").fetchall())
        assert public == {waiting: "new", confirmed: "confirmed"}

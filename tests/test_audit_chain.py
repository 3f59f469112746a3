"""The tamper-evident history (issue 13.5): every event chained to the one before it by SHA-256;
`threatmap audit verify` recomputes the chains and names the first break, whether an event was
altered, deleted, or the newest ones removed."""

import subprocess
import uuid
from datetime import UTC, datetime

import httpx
import psycopg
import pytest

from gateway.settings import Settings
from store.audit import event_hash, verify
from store.locations import DatabaseUrls
from tests.support import gql, token
from tests.test_graphql_workflow import STATUS, submit

OFFICER_UNIT = "kpp-1465"  # Warszawa, where report_input() puts the point


async def reported_and_worked(client: httpx.AsyncClient, settings: Settings) -> uuid.UUID:
    """A report through the real doors: submitted, confirmed (opened first), eliminated: five
    events (created, opened, new -> under verification -> confirmed -> eliminated)."""
    body = await submit(client, key=str(uuid.uuid4()))
    report = body["data"]["submitReport"]["report"]["id"]
    officer = token(settings, "officer", "kwp-14")
    for status in ("confirmed", "confirmed_eliminated"):
        changed = await gql(client, STATUS, {"id": report, "s": status, "c": f"checked: {status}"}, officer)
        assert changed["data"]["setReportStatus"]["status"] == status, changed
    return uuid.UUID(report)


def as_owner(urls: DatabaseUrls, statement: str, params: list) -> None:
    """What an intruder with the cluster's superuser rights could do: the guard triggers off."""
    with psycopg.connect(urls.admin, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(statement, params)


def test_the_python_hash_is_the_database_hash(app_conn: psycopg.Connection) -> None:
    at = datetime(2026, 3, 5, 14, 37, 12, 345678, tzinfo=UTC)
    report = uuid.uuid4()
    for previous in (None, b"\x01" * 32):
        for comment in (None, "", "zażółć | 12:x"):
            stored = app_conn.execute(
                "SELECT core.report_event_hash(%s, %s, 2, 'status_changed', 'confirmed', "
                "'confirmed_eliminated', 'officer:a@kpp-1', %s, %s)",
                [previous, report, at, comment]).fetchone()[0]
            assert bytes(stored) == event_hash(previous, report, 2, "status_changed", "confirmed",
                                               "confirmed_eliminated", "officer:a@kpp-1", at, comment)
            # the body forwarded to (0019): none hashes as the nine fields did; a body changes it
            for body in (None, "road-manager"):
                stored = app_conn.execute(
                    "SELECT core.report_event_hash(%s, %s, 2, 'status_changed', 'confirmed', "
                    "'confirmed_forwarded', 'officer:a@kpp-1', %s, %s, %s)",
                    [previous, report, at, comment, body]).fetchone()[0]
                assert bytes(stored) == event_hash(previous, report, 2, "status_changed", "confirmed",
                                                   "confirmed_forwarded", "officer:a@kpp-1", at,
                                                   comment, body)
            assert event_hash(previous, report, 2, "k", None, None, "a", at, comment, None) == \
                event_hash(previous, report, 2, "k", None, None, "a", at, comment)
            assert event_hash(previous, report, 2, "k", None, None, "a", at, comment, "x") != \
                event_hash(previous, report, 2, "k", None, None, "a", at, comment)


async def test_a_whole_history_verifies_and_is_chained(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    report = await reported_and_worked(graphql_client, settings)
    rows = app_conn.execute("SELECT seq, kind, previous_hash, hash FROM core.report_events "
                            "WHERE report_id = %s ORDER BY seq", [report]).fetchall()
    assert [(r[0], r[1]) for r in rows] == [(1, "created"), (2, "opened"), (3, "status_changed"),
                                            (4, "status_changed"), (5, "status_changed")]
    assert rows[0][2] is None and all(rows[i][2] == rows[i - 1][3] for i in range(1, 5))
    result = verify(app_conn, report_ids=[report])
    assert (result.reports, result.events, result.first_break) == (1, 5, None)


async def test_events_cannot_be_changed_or_deleted_through_the_application_role(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    report = await reported_and_worked(graphql_client, settings)
    for statement in ("UPDATE core.report_events SET comment = 'x' WHERE report_id = %s",
                      "DELETE FROM core.report_events WHERE report_id = %s"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="never"):
            app_conn.execute(statement, [report])
    # A report deleted as a whole still takes its history with it.
    app_conn.execute("DELETE FROM core.reports WHERE id = %s", [report])
    assert app_conn.execute("SELECT count(*) FROM core.report_events WHERE report_id = %s",
                            [report]).fetchone()[0] == 0


@pytest.mark.parametrize(("tamper", "reason"), [
    ("UPDATE core.report_events SET comment = 'nothing to see' WHERE report_id = %s AND seq = 2",
     "altered"),
    ("UPDATE core.report_events SET at = at - interval '1 day' WHERE report_id = %s AND seq = 1",
     "altered"),
    ("UPDATE core.report_events SET actor = 'officer:someone-else@kpp-1465' "
     "WHERE report_id = %s AND seq = 3", "altered"),
    ("DELETE FROM core.report_events WHERE report_id = %s AND seq = 2", "missing"),
    ("DELETE FROM core.report_events WHERE report_id = %s AND seq = 5", "newest events are missing"),
    ("DELETE FROM core.report_events WHERE report_id = %s AND seq = 1", "not 'created'"),
])
async def test_tampering_is_found_and_named(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        urls: DatabaseUrls, clean_reports: None, tamper: str, reason: str) -> None:
    intact = await reported_and_worked(graphql_client, settings)
    report = await reported_and_worked(graphql_client, settings)
    as_owner(urls, tamper, [report])
    result = verify(app_conn, report_ids=[intact, report])
    assert result.breaks == 1 and result.first_break is not None
    assert result.first_break.report_id == report
    assert reason in str(result.first_break)


async def test_the_cli_names_the_first_break(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        urls: DatabaseUrls, clean_reports: None) -> None:
    app_conn.execute("DELETE FROM core.reports")
    report = await reported_and_worked(graphql_client, settings)
    env = {"THREATMAP_DATABASE_URL": settings.database_url or "", "PATH": "/usr/bin:/bin"}
    cli = [".venv/bin/threatmap", "audit", "verify"]
    whole = subprocess.run(cli, capture_output=True, text=True, env=env, timeout=120)
    assert whole.returncode == 0, whole.stdout + whole.stderr
    assert "every history is whole: 1 reports, 5 events" in whole.stdout
    as_owner(urls, "UPDATE core.report_events SET to_status = 'confirmed' "
                       "WHERE report_id = %s AND seq = 5", [report])
    broken = subprocess.run(cli, capture_output=True, text=True, env=env, timeout=120)
    assert broken.returncode == 1
    assert f"report {report}" in broken.stdout and "place 5" in broken.stdout
    assert "altered" in broken.stdout

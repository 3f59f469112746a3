"""GET /staff/export.csv (issue 13, point 9): the work list as CSV with the filters of
`staffReports`, within the caller's scope, the contact for officers only, every export recorded."""

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest

from gateway.cli import main
from gateway.settings import Settings
from store.locations import DatabaseUrls
from tests.support import WARSAW, app_in_thread, insert_report, running_app, token

KRAKOW = (19.94, 50.06)            # county 1201 (powiat Kraków)
EXPORT = "/staff/export.csv"


def rows_of(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff"), "UTF-8 with a byte order mark (Excel)"
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


async def export(client: httpx.AsyncClient, bearer: str | None, params: object = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return await client.get(EXPORT, params=params, headers=headers)


@pytest.fixture
def world(app_conn: psycopg.Connection, clean_reports: None) -> dict[str, str]:
    """Reports in Warsaw (county 1405) and Kraków (1201); one Warsaw report three days old and
    unread (its read-by deadline missed: overdue)."""
    app_conn.execute("DELETE FROM core.staff_exports")
    fresh = {"created_at": datetime.now(UTC) - timedelta(hours=2)}
    return {
        "warsaw_new": str(insert_report(app_conn, description="Dziura w jezdni, głęboka",
                                        contact="jan@example.org", **fresh)),
        "warsaw_confirmed": str(insert_report(app_conn, lon=WARSAW[0] + 0.02, status="confirmed",
                                              category="speeding", published=True)),
        # published: the app's publication job has nothing to do with it (a job holding its row
        # while a test's clean-up deletes it would wait for each other)
        "warsaw_overdue": str(insert_report(app_conn, lon=WARSAW[0] + 0.01, published=True,
                                            created_at=datetime.now(UTC) - timedelta(days=3),
                                            occurred_at=datetime(2026, 6, 1, 10, 30, tzinfo=UTC))),
        "krakow_new": str(insert_report(app_conn, lon=KRAKOW[0], lat=KRAKOW[1],
                                        contact="krakow@example.org", **fresh)),
    }


async def test_officer_exports_only_the_unit_area_with_every_private_field(
        client: httpx.AsyncClient, settings: Settings, world: dict[str, str]) -> None:
    response = await export(client, token(settings, "officer", "kpp-1405"))
    rows = rows_of(response)
    assert {row["id"] for row in rows} == {world["warsaw_new"], world["warsaw_confirmed"],
                                           world["warsaw_overdue"]}
    assert "krakow@example.org" not in response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["cache-control"] == "private, no-store"
    day = datetime.now(ZoneInfo("Europe/Warsaw")).date()
    assert response.headers["content-disposition"] == f'attachment; filename="threatmap-reports-{day}.csv"'
    new = next(row for row in rows if row["id"] == world["warsaw_new"])
    assert new["description"] == "Dziura w jezdni, głęboka" and new["contact"] == "jan@example.org"
    assert (float(new["longitude"]), float(new["latitude"])) == WARSAW   # the exact point
    assert new["county_code"] == "1405" and new["status"] == "new" and new["source"]
    overdue = next(row for row in rows if row["id"] == world["warsaw_overdue"])
    assert overdue["occurred_at"] == "2026-06-01 12:30:00"   # local time, Europe/Warsaw (CEST)
    assert overdue["read_state"] == "overdue" and overdue["read_at"] == ""
    # Newest exact time first, as the work list.
    assert [row["occurred_at"] for row in rows] == sorted((row["occurred_at"] for row in rows), reverse=True)


async def test_an_officer_of_another_county_never_gets_them(
        client: httpx.AsyncClient, settings: Settings, world: dict[str, str]) -> None:
    rows = rows_of(await export(client, token(settings, "officer", "kpp-1201")))
    assert {row["id"] for row in rows} == {world["krakow_new"]}
    # A filter cannot widen the scope.
    rows = rows_of(await export(client, token(settings, "officer", "kpp-1201"), {"area": "1405"}))
    assert rows == []


async def test_analyst_exports_everything_but_never_the_contact(
        client: httpx.AsyncClient, settings: Settings, world: dict[str, str]) -> None:
    response = await export(client, token(settings, "analyst"))
    rows = rows_of(response)
    assert {row["id"] for row in rows} == set(world.values())
    assert all(row["contact"] == "" for row in rows)
    assert "@example.org" not in response.text
    assert any(row["description"] == "Dziura w jezdni, głęboka" for row in rows)


@pytest.mark.parametrize(("params", "expected"), [
    ({"status": "CONFIRMED"}, {"warsaw_confirmed"}),
    ({"status": ["new", "confirmed"]}, {"warsaw_new", "warsaw_confirmed", "warsaw_overdue", "krakow_new"}),
    ({"category": "speeding"}, {"warsaw_confirmed"}),
    ({"deadline": "OVERDUE"}, {"warsaw_overdue"}),
    ({"from": "2026-06-01", "to": "2026-06-01"}, {"warsaw_overdue"}),
    ({"area": "1201"}, {"krakow_new"}),
    ({"area": "12"}, {"krakow_new"}),
    ({"text": "dziura GŁĘBOKA"}, {"warsaw_new"}),
    ({"bbox": "19.93,50.05,19.95,50.07"}, {"krakow_new"}),
])
async def test_filters_apply(client: httpx.AsyncClient, settings: Settings, world: dict[str, str],
                             params: dict, expected: set[str]) -> None:
    rows = rows_of(await export(client, token(settings, "analyst"), params))
    assert {row["id"] for row in rows} == {world[name] for name in expected}


async def test_each_export_is_recorded(client: httpx.AsyncClient, settings: Settings,
                                       world: dict[str, str], app_conn: psycopg.Connection) -> None:
    rows_of(await export(client, token(settings, "officer", "kpp-1405"), {"status": "new", "text": "dziura"}))
    rows_of(await export(client, token(settings, "analyst")))
    records = app_conn.execute(
        "SELECT actor, role, police_unit_id, filters, row_count, private_fields "
        "FROM core.staff_exports ORDER BY id").fetchall()
    assert records[0] == ("officer:test-officer@kpp-1405", "officer", "kpp-1405",
                          {"status": ["new"], "text": ["dziura"]}, 1,
                          ["occurred_at", "longitude", "latitude", "description", "source", "contact"])
    assert records[1][:5] == ("analyst:test-analyst", "analyst", None, {}, 4)
    assert "contact" not in records[1][5]


@pytest.mark.parametrize(("params", "reason"), [
    ({"status": "closed-forever"}, "status: one of"),
    ({"category": "nope"}, "category: no category 'nope'"),
    ({"deadline": "LATE"}, "deadline: one of PENDING"),
    ({"from": "2026-13-01"}, "from: a date as YYYY-MM-DD"),
    ({"from": "1.6.2026"}, "from: a date as YYYY-MM-DD"),
    ({"from": "2026-06-02", "to": "2026-06-01"}, "from: after to"),
    ({"area": "9999"}, "area: the TERYT code"),
    ({"area": "x' OR 1=1"}, "area: the TERYT code"),
    ({"bbox": "1,2,3"}, "bbox: four numbers"),
    ({"bbox": "20,50,19,51"}, "bbox: finite minx < maxx"),
    ({"bbox": "nan,50,21,51"}, "bbox: finite"),
    ({"text": " "}, "text: 1 to 10 words"),
    ({"text": "a\x00b"}, "text:"),
    ({"statuses": "new"}, "unknown parameter 'statuses'"),
    ({"delimiter": "tab"}, "delimiter: comma or semicolon"),
    ({"area": ["1405", "1201"]}, "area: give it once"),
])
async def test_bad_filter_values_get_422_with_the_reason(
        client: httpx.AsyncClient, settings: Settings, params: dict, reason: str) -> None:
    response = await export(client, token(settings, "analyst"), params)
    assert response.status_code == 422, response.text
    assert reason in response.json()["error"]


async def test_who_may_not_export(client: httpx.AsyncClient, settings: Settings, world: dict[str, str],
                                  app_conn: psycopg.Connection) -> None:
    anonymous = await export(client, None)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    forged = await export(client, token(settings.model_copy(update={"jwt_secret": "x" * 40}), "analyst"))
    assert forged.status_code == 401 and "not valid" in forged.json()["error"]
    expired = await export(client, token(settings, "analyst", hours=-1))
    assert expired.status_code == 401
    assert (await export(client, token(settings, "admin"))).status_code == 403
    assert (await export(client, token(settings, "officer", "kpp-9999"))).status_code == 403
    assert app_conn.execute("SELECT count(*) FROM core.staff_exports").fetchone()[0] == 0


async def test_cells_a_spreadsheet_would_run_are_defused(
        client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    insert_report(app_conn, description='=HYPERLINK("http://evil.example","click")', contact="+48 600")
    rows = rows_of(await export(client, token(settings, "officer", "kpp-1405")))
    assert rows[0]["description"] == "'=HYPERLINK(\"http://evil.example\",\"click\")"
    assert rows[0]["contact"] == "'+48 600"


async def test_semicolons_for_excel_in_polish(client: httpx.AsyncClient, settings: Settings,
                                              world: dict[str, str]) -> None:
    response = await export(client, token(settings, "officer", "kpp-1201"), {"delimiter": "semicolon"})
    assert response.status_code == 200
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("id;status;category;occurred_at;") and len(lines) == 2


async def test_more_rows_than_the_maximum_is_422_and_not_recorded(
        settings: Settings, world: dict[str, str], app_conn: psycopg.Connection) -> None:
    async with running_app(settings.model_copy(update={"staff_export_max_rows": 2})) as (http, _):
        refused = await export(http, token(settings, "analyst"))
        assert refused.status_code == 422 and "More than 2 reports match" in refused.json()["error"]
        assert (await export(http, token(settings, "analyst"), {"area": "1405"})).status_code == 422
        narrowed = await export(http, token(settings, "analyst"), {"area": "1201"})
        assert len(rows_of(narrowed)) == 1
    assert app_conn.execute("SELECT row_count FROM core.staff_exports").fetchall() == [(1,)]


def test_admins_read_the_record_with_the_cli(urls: DatabaseUrls, app_conn: psycopg.Connection,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    app_conn.execute("DELETE FROM core.staff_exports")
    app_conn.execute("INSERT INTO core.staff_exports (actor, role, police_unit_id, filters, row_count, "
                     "private_fields) VALUES ('officer:jan@kpp-1405', 'officer', 'kpp-1405', "
                     "'{\"status\": [\"new\"]}', 12, '{description,contact}')")
    monkeypatch.setenv("THREATMAP_DATABASE_URL", urls.app)
    monkeypatch.setenv("THREATMAP_PUBLIC_DATABASE_URL", urls.public)
    main(["audit", "exports", "--limit", "5"])
    lines = capsys.readouterr().out.splitlines()
    record = json.loads(lines[-1])
    assert record["actor"] == "officer:jan@kpp-1405" and record["row_count"] == 12
    assert record["filters"] == {"status": ["new"]} and record["private_fields"] == ["description", "contact"]
    app_conn.execute("DELETE FROM core.staff_exports")


async def test_a_client_that_goes_away_leaves_no_connection_behind(
        settings: Settings, world: dict[str, str]) -> None:
    """With one connection in the pool, exports cut short (the client closes after the headers)
    would leave none for the next request if a stream kept its connection."""
    small = settings.model_copy(update={"pool_max_size": 1, "pool_timeout_s": 3})
    bearer = {"Authorization": f"Bearer {token(settings, 'analyst')}"}

    def cut_short_then_whole() -> tuple[list[int], int, int]:
        with app_in_thread(small) as base, httpx.Client(base_url=base, timeout=20) as http:
            statuses = []
            for _ in range(3):
                with http.stream("GET", EXPORT, headers=bearer) as response:
                    statuses.append(response.status_code)   # closed without reading the body
            head = http.head(EXPORT, headers=bearer).status_code
            whole = http.get(EXPORT, headers=bearer)
            return statuses, head, len(rows_of(whole))

    assert await asyncio.to_thread(cut_short_then_whole) == ([200, 200, 200], 405, 4)

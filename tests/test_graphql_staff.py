"""The police's work list through HTTP: `staffReports` shows officers the unpublished reports
they must verify, in their unit's area only; analysts see all; anonymous callers see nothing
of it, and `reports` stays the public layer for everyone."""

import json
from datetime import UTC, date, datetime, timedelta

import httpx
import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from gateway.settings import Settings
from store import staff
from store.reports import BBox, ReportFilter
from tests.support import WARSAW, CountingPool, codes, gql, insert_report, running_app, token

KRAKOW = (19.94, 50.06)            # county 1201 (powiat Kraków), voivodeship 12
RADOM_AREA = (21.15, 51.40)        # voivodeship 14 (Masovian), not county 1405
LIST = """query($f: ReportFilter, $first: Int, $after: String, $o: ReportOrder) {
  staffReports(filter: $f, first: $first, after: $after, orderBy: $o) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id status description occurredAt exactLocation { longitude latitude }
                   location { longitude latitude } areas { code } } } } }"""


def ids(body: dict) -> set[str]:
    assert "errors" not in body, body
    return {edge["node"]["id"] for edge in body["data"]["staffReports"]["edges"]}


@pytest.fixture
def world(app_conn: psycopg.Connection, clean_reports: None) -> dict[str, str]:
    """New and old reports in Warsaw, elsewhere in Masovia, and in Kraków."""
    fresh = {"created_at": datetime.now(UTC) - timedelta(hours=2)}
    return {
        "warsaw_new": str(insert_report(app_conn, **fresh)),
        "warsaw_old": str(insert_report(app_conn, lon=WARSAW[0] + 0.02, status="confirmed",
                                        published=True)),
        "masovia_new": str(insert_report(app_conn, lon=RADOM_AREA[0], lat=RADOM_AREA[1], **fresh)),
        "krakow_new": str(insert_report(app_conn, lon=KRAKOW[0], lat=KRAKOW[1], **fresh)),
        "krakow_old": str(insert_report(app_conn, lon=KRAKOW[0], lat=KRAKOW[1], published=True)),
    }


async def test_officer_lists_unpublished_reports_of_the_unit_area_with_private_fields(
        graphql_client: httpx.AsyncClient, settings: Settings, world: dict[str, str]) -> None:
    body = await gql(graphql_client, LIST, {"f": {"statuses": ["NEW"]}},
                     token(settings, "officer", "kpp-1405"))
    assert ids(body) == {world["warsaw_new"]}
    node = body["data"]["staffReports"]["edges"][0]["node"]
    assert node["status"] == "new" and node["description"] == "a private description"
    assert (node["exactLocation"]["longitude"], node["exactLocation"]["latitude"]) == WARSAW
    assert (node["location"]["longitude"], node["location"]["latitude"]) != WARSAW  # the cell centre
    assert {a["code"] for a in node["areas"]} == {"14", "1405"}
    assert body["data"]["staffReports"]["totalCount"] == 1
    every = await gql(graphql_client, LIST, {}, token(settings, "officer", "kpp-1405"))
    assert ids(every) == {world["warsaw_new"], world["warsaw_old"]}


async def test_each_unit_sees_only_its_own_area(
        graphql_client: httpx.AsyncClient, settings: Settings, world: dict[str, str]) -> None:
    expected = {
        "kpp-1405": {"warsaw_new", "warsaw_old"},
        "kwp-14": {"warsaw_new", "warsaw_old", "masovia_new"},
        "kpp-1201": {"krakow_new", "krakow_old"},
        "kwp-12": {"krakow_new", "krakow_old"},
        "kpp-0201": set(),
    }
    for unit, names in expected.items():
        body = await gql(graphql_client, LIST, {"first": 500}, token(settings, "officer", unit))
        assert ids(body) == {world[n] for n in names}, unit
        assert body["data"]["staffReports"]["totalCount"] == len(names)
    # A filter cannot widen the scope: asking for Kraków's county gives a Warsaw unit nothing.
    body = await gql(graphql_client, LIST, {"f": {"areaCode": "1201"}},
                     token(settings, "officer", "kpp-1405"))
    assert ids(body) == set() and "a private description" not in json.dumps(body)
    analyst = await gql(graphql_client, LIST, {"first": 500}, token(settings, "analyst"))
    assert ids(analyst) == set(world.values())


async def test_a_report_handed_to_a_unit_is_on_its_list(
        graphql_client: httpx.AsyncClient, settings: Settings, world: dict[str, str]) -> None:
    officer = token(settings, "officer", "kpp-1201")
    body = await gql(graphql_client, """mutation($id: ID!) { assignReport(id: $id,
        policeUnitId: "kpp-1405", comment: "tourist from Warsaw") { id } }""",
                     {"id": world["krakow_new"]}, officer)
    assert "errors" not in body, body
    body = await gql(graphql_client, LIST, {"f": {"statuses": ["new"]}},
                     token(settings, "officer", "kpp-1405"))
    assert ids(body) == {world["warsaw_new"], world["krakow_new"]}
    assert all(e["node"]["description"] for e in body["data"]["staffReports"]["edges"])


async def test_anonymous_and_admin_never_get_the_work_list(
        graphql_client: httpx.AsyncClient, settings: Settings, world: dict[str, str]) -> None:
    for who in (None, token(settings, "admin")):
        body = await gql(graphql_client, LIST, {"f": {"statuses": ["new"]}}, who)
        assert codes(body) == ["FORBIDDEN"] and body["data"] is None
        assert "a private description" not in json.dumps(body)
    # The public connection, for anyone, shows neither the unpublished reports nor exact points.
    public = await gql(graphql_client, """query($f: ReportFilter) { reports(filter: $f, first: 500) {
        totalCount edges { node { id status location { longitude latitude } } } } }""",
                       {"f": {"statuses": ["new"]}})
    nodes = [e["node"] for e in public["data"]["reports"]["edges"]]
    assert {n["id"] for n in nodes} == {world["krakow_old"]}
    assert all((n["location"]["longitude"], n["location"]["latitude"]) not in (WARSAW, KRAKOW)
               for n in nodes)
    # A staff cursor is not a public one: it opens nothing.
    officer = await gql(graphql_client, LIST, {"first": 1}, token(settings, "officer", "kwp-14"))
    cursor = officer["data"]["staffReports"]["pageInfo"]["endCursor"]
    body = await gql(graphql_client, "query($a: String) { reports(after: $a) { totalCount } }",
                     {"a": cursor})
    assert codes(body) == ["BAD_USER_INPUT"]


async def test_staff_pages_walk_every_report_once_in_both_orders(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    now = datetime.now(UTC)
    made = {}
    for i in range(9):  # two share an exact time: the id breaks the tie
        at = now - timedelta(hours=1 + min(i, 7))
        made[str(insert_report(app_conn, lon=WARSAW[0] + i * 0.001, occurred_at=at))] = at
    officer = token(settings, "officer", "kpp-1405")
    for order, newest_first in (("OCCURRED_ON_DESC", True), ("OCCURRED_ON_ASC", False)):
        seen, after = [], None
        while True:
            body = await gql(graphql_client, LIST, {"first": 4, "after": after, "o": order}, officer)
            page = body["data"]["staffReports"]
            assert page["totalCount"] == 9
            seen += [(e["node"]["id"], e["node"]["occurredAt"]) for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert sorted(i for i, _ in seen) == sorted(made)
        times = [datetime.fromisoformat(t) for _, t in seen]
        assert times == sorted(times, reverse=newest_first)
    body = await gql(graphql_client, LIST, {"after": after, "o": "OCCURRED_ON_DESC"}, officer)
    assert codes(body) == ["BAD_USER_INPUT"] and "cursor" in body["errors"][0]["message"]


async def test_staff_filters_use_the_exact_point_and_time(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    today = datetime.now(UTC)
    near = str(insert_report(app_conn, occurred_at=today - timedelta(days=3)))
    insert_report(app_conn, lon=WARSAW[0] + 0.05, category="poaching")
    analyst = token(settings, "analyst")
    tiny = {"west": WARSAW[0] - 1e-6, "south": WARSAW[1] - 1e-6,
            "east": WARSAW[0] + 1e-6, "north": WARSAW[1] + 1e-6}
    assert ids(await gql(graphql_client, LIST, {"f": {"bbox": tiny}}, analyst)) == {near}
    day = (today - timedelta(days=3)).astimezone().date()
    window = {"occurredFrom": str(day - timedelta(days=1)), "occurredTo": str(day + timedelta(days=1))}
    assert ids(await gql(graphql_client, LIST, {"f": window}, analyst)) == {near}
    assert len(ids(await gql(graphql_client, LIST, {"f": {"areaCode": "14", "source": "citizen"}},
                             analyst))) == 2
    assert ids(await gql(graphql_client, LIST, {"f": {"categories": ["poaching"],
                                                      "occurredTo": str(date(2000, 1, 1))}},
                         analyst)) == set()
    assert codes(await gql(graphql_client, LIST, {"f": {"source": "rumour"}}, analyst)) == [
        "BAD_USER_INPUT"]
    assert codes(await gql(graphql_client, LIST, {"first": 501}, analyst)) == ["BAD_USER_INPUT"]


async def test_a_staff_page_with_private_fields_is_one_statement(
        settings: Settings, app_conn: psycopg.Connection, clean_reports: None) -> None:
    for i in range(120):
        insert_report(app_conn, lon=WARSAW[0] + (i % 12) * 0.001, lat=WARSAW[1] + (i // 12) * 0.001,
                      category=("vandalism", "poaching", "speeding")[i % 3], published=i % 2 == 0)
    query = """query($n: Int!) { staffReports(first: $n) { totalCount edges { node { id
        category { id } areas { code } description contact occurredAt source
        exactLocation { longitude } location { longitude } } } } }"""
    officer = token(settings, "officer", "kpp-1405")
    async with running_app(settings) as (client, app):
        runtime = app.state.runtime
        counted = {}
        for size in (1, 10, 100):
            public, private = CountingPool(runtime.public_pool), CountingPool(runtime.app_pool)
            runtime.public_pool, runtime.app_pool = public, private
            try:
                body = await gql(client, query, {"n": size}, officer)
            finally:
                runtime.public_pool, runtime.app_pool = public.pool, private.pool
            assert "errors" not in body and len(body["data"]["staffReports"]["edges"]) == size
            counted[size] = (public.statements, private.statements)
    # app pool: the officer's unit, then the page (private fields included); public pool:
    # one batch each for categories and areas.
    assert counted[1] == counted[10] == counted[100] == (2, 2), counted


def test_a_work_list_page_with_a_bbox_takes_its_keys_from_the_index_alone(
        app_conn: psycopg.Connection, clean_reports: None) -> None:
    """A work-list page with a bbox (the workbench's map) can test each report's point in
    reports_worklist (migration 0031: the point beside the columns the scope and the filters
    read), newest first, without a heap visit per report it passes. PostgreSQL plans an
    index-only scan of an index whenever the index holds every column the scan reads, and
    reports_worklist is the one index in the page's order: with sequential and bitmap scans and
    sorts off, the keys are an index-only scan of it, and the page is the one the planner's own
    choice gives."""
    for i in range(60):
        insert_report(app_conn, lon=WARSAW[0] + (i % 10) * 0.003, lat=WARSAW[1] + (i // 10) * 0.003,
                      occurred_at=datetime.now(UTC) - timedelta(hours=i))
    unit = staff.OfficerUnit(**app_conn.cursor(row_factory=dict_row).execute(
        staff.OFFICER_UNIT_SQL, ["kpp-1405"]).fetchone())
    box = ReportFilter(bbox=BBox(west=WARSAW[0] - 0.001, south=WARSAW[1] - 0.001,
                                 east=WARSAW[0] + 0.0151, north=WARSAW[1] + 0.0061))
    statement, params = staff.page_statement(box, unit, True, 11, None, False)
    chosen = app_conn.execute(statement, params, prepare=False).fetchone()[1]   # (total, rows)
    with app_conn.transaction():
        # (not enable_indexscan: before PostgreSQL 17 it turns index-only scans off too)
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            app_conn.execute(f"SET LOCAL {setting} = off")
        plan = "\n".join(row[0] for row in app_conn.execute(sql.SQL("EXPLAIN ") + statement, params))
        assert "Index Only Scan Backward using reports_worklist on reports" in plan, plan
        assert app_conn.execute(statement, params, prepare=False).fetchone()[1] == chosen
    assert len(chosen) == 11

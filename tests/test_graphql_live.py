"""Against a real uvicorn: the subscription delivers an event caused by a mutation on another
connection, and a page of reports costs the same number of SQL statements whatever its size."""

import asyncio
import contextlib
import functools
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest
import websockets

from gateway.app import create_app
from gateway.graphql.precompleted import PrecompletingExecutor
from gateway.settings import Settings
from store.locations import DatabaseUrls, ManagedDatabase
from tests.support import (
    WARSAW,
    CountingPool,
    free_port,
    gql,
    graphql_shortcut,
    graphql_view,
    insert_report,
    next_message,
    running_app,
    served,
    token,
    ws_query,
)


@pytest.fixture(scope="module")
async def live(settings: Settings) -> AsyncIterator[tuple[str, Any]]:
    """A real uvicorn on a free port: its host:port, and the app (to look at its runtime)."""
    port = free_port()
    app = create_app(settings.model_copy(update={"port": port}))
    async with served(app, port, proxy_headers=False, lifespan="on"):
        yield f"127.0.0.1:{port}", app


@pytest.fixture(scope="module")
def live_url(live: tuple[str, Any]) -> str:
    return live[0]


SUBSCRIBE = """subscription($f: ReportEventFilter) { reportEvents(filter: $f) {
    kind reportId category status countyCode } }"""


async def subscribe(ws: Any, filter: dict[str, Any] | None = None) -> None:
    await ws.send(json.dumps({"type": "connection_init"}))
    assert (await next_message(ws))["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe",
                              "payload": {"query": SUBSCRIBE, "variables": {"f": filter}}}))


async def wait_until_subscribed(urls: DatabaseUrls, *sockets: Any) -> None:
    """Announces `refreshed` on the channel until every socket has received it: from then on
    each subscription is registered with the process's listener."""
    waiting = set(sockets)
    async with await psycopg.AsyncConnection.connect(urls.admin, autocommit=True) as conn:
        for _ in range(100):
            await conn.execute("SELECT pg_notify('threatmap_report_events', '{\"kind\": \"refreshed\"}')")
            for ws in list(waiting):
                with contextlib.suppress(TimeoutError):
                    message = json.loads(await asyncio.wait_for(ws.recv(), timeout=0.1))
                    assert message["payload"]["data"]["reportEvents"]["kind"] == "REFRESHED", message
                    waiting.discard(ws)
            if not waiting:
                break
        else:
            raise AssertionError("a subscription never received the listener's notices")
    for ws in sockets:  # what is still on its way from the loop above
        with contextlib.suppress(TimeoutError):
            while True:
                await asyncio.wait_for(ws.recv(), timeout=0.3)


async def next_event(ws: Any, timeout: float = 10) -> dict[str, Any]:
    """The next report event, past REFRESHED ones (left over from wait_until_subscribed)."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout=timeout))
        assert message["type"] == "next", message
        assert "description" not in json.dumps(message)
        event = message["payload"]["data"]["reportEvents"]
        if event["kind"] != "REFRESHED":
            return event


async def confirm(live_url: str, settings: Settings, *reports: str) -> None:
    officer = token(settings, "officer", "kpp-1405")
    async with httpx.AsyncClient(base_url=f"http://{live_url}") as http:
        for report in reports:
            body = await gql(http, """mutation($id: ID!) { setReportStatus(id: $id,
                status: "confirmed") { status } }""", {"id": report}, officer)
            assert "errors" not in body, body


async def listening_backends(urls: DatabaseUrls) -> int:
    async with await psycopg.AsyncConnection.connect(urls.admin, autocommit=True) as conn:
        cur = await conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%%' "
                                 "AND datname = current_database()")
        return (await cur.fetchone())[0]


async def test_subscription_delivers_an_event_from_another_connection(
        live_url: str, settings: Settings, urls: DatabaseUrls, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    report = str(insert_report(app_conn))
    other = str(insert_report(app_conn, category="poaching"))
    async with websockets.connect(f"ws://{live_url}/graphql",
                                  subprotocols=["graphql-transport-ws"]) as ws:
        await subscribe(ws, {"categories": ["vandalism"]})
        await wait_until_subscribed(urls, ws)
        await confirm(live_url, settings, other, report)
        event = await next_event(ws)
    assert event == {"kind": "ADDED", "reportId": report, "category": "vandalism",
                     "status": "confirmed", "countyCode": "1405"}


async def test_anonymous_websocket_gets_no_field_suggestions(live_url: str) -> None:
    """The WebSocket door answers validation errors itself (not through the HTTP result hook):
    its "Did you mean" would name private fields, e.g. through a fragment on Report."""
    document = ("subscription { reportEvents { kind ...f } } "
                "fragment f on Report { descriptio }")
    async with websockets.connect(f"ws://{live_url}/graphql",
                                  subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert (await next_message(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": document}}))
        message = await next_message(ws)
    assert message["type"] == "error" and message["payload"], message
    assert "Did you mean" not in json.dumps(message)


async def test_two_subscribers_share_one_listening_connection(
        live: tuple[str, Any], settings: Settings, urls: DatabaseUrls, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    live_url, app = live
    listener = app.state.runtime.report_events
    vandalism = str(insert_report(app_conn))
    poaching = str(insert_report(app_conn, category="poaching"))
    before = await listening_backends(urls)
    connect = functools.partial(websockets.connect, f"ws://{live_url}/graphql",
                                subprotocols=["graphql-transport-ws"])
    async with connect() as only_vandalism, connect() as everything:
        await asyncio.gather(subscribe(only_vandalism, {"categories": ["vandalism"]}),
                             subscribe(everything))
        await wait_until_subscribed(urls, only_vandalism, everything)
        assert listener.subscribers == 2
        assert await listening_backends(urls) == before   # no connection per subscriber
        await confirm(live_url, settings, poaching, vandalism)
        assert [(await next_event(everything))["reportId"] for _ in range(2)] == [poaching, vandalism]
        assert (await next_event(only_vandalism))["reportId"] == vandalism
    for _ in range(100):
        if listener.subscribers == 0:
            break
        await asyncio.sleep(0.05)
    assert listener.subscribers == 0 and listener.listening.is_set()


async def test_listener_reconnects_after_a_database_restart(
        live: tuple[str, Any], settings: Settings, urls: DatabaseUrls, managed_db: ManagedDatabase,
        clean_reports: None) -> None:
    live_url, app = live
    listener = app.state.runtime.report_events
    async with websockets.connect(f"ws://{live_url}/graphql",
                                  subprotocols=["graphql-transport-ws"]) as ws:
        await subscribe(ws)
        await wait_until_subscribed(urls, ws)
        connections = listener.connections
        await asyncio.to_thread(managed_db.cluster.stop)
        await asyncio.to_thread(managed_db.cluster.start)
        for _ in range(300):
            if listener.connections > connections and listener.listening.is_set():
                break
            await asyncio.sleep(0.1)
        assert listener.connections == connections + 1, "the listener did not reconnect"
        gap = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        assert gap["payload"]["data"]["reportEvents"]["kind"] == "REFRESHED"   # reload: may have missed some
        with psycopg.connect(urls.app, autocommit=True) as conn:
            report = str(insert_report(conn))
        await confirm(live_url, settings, report)
        assert (await next_event(ws))["reportId"] == report


async def test_a_page_costs_a_constant_number_of_statements(
        settings: Settings, app_conn: psycopg.Connection, clean_reports: None) -> None:
    for i in range(120):
        insert_report(app_conn, lon=WARSAW[0] + (i % 12) * 0.05, lat=WARSAW[1] + (i // 12) * 0.05,
                      category=("vandalism", "poaching", "speeding")[i % 3], published=True)
    query = """query($n: Int!) { reports(first: $n) { totalCount pageInfo { endCursor }
        edges { node { id category { id nameEn } areas { code name } policeUnit { id }
                       location { longitude latitude } } } } }"""
    async with running_app(settings) as (client, app):
        runtime = app.state.runtime
        counted = {}
        for size in (1, 10, 100):
            public, private = CountingPool(runtime.public_pool), CountingPool(runtime.app_pool)
            runtime.public_pool, runtime.app_pool = public, private
            try:
                body = await gql(client, query, {"n": size})
            finally:
                runtime.public_pool, runtime.app_pool = public.pool, private.pool
            assert "errors" not in body and len(body["data"]["reports"]["edges"]) == size
            counted[size] = (public.statements, private.statements)
    # The page, then one batch each for categories, areas and police units (none here).
    assert counted[1] == counted[10] == counted[100] == (3, 0), counted


@pytest.mark.parametrize("sql_page", [False, True], ids=["precompleted", "written by PostgreSQL"])
async def test_a_page_fetches_only_the_related_data_asked_for(
        settings: Settings, app_conn: psycopg.Connection, clean_reports: None, sql_page: bool) -> None:
    """A page fetches its nodes' category and areas once for all of them (gateway/graphql/
    reports.py, prefetch_related), and only those asked for: through fragments, not when skipped.
    The anonymous page written by PostgreSQL (gateway.graphql.sql_page) is one statement
    whatever it selects, but for the police units (a loader of its own: the ordinary path)."""
    for i in range(30):
        insert_report(app_conn, lon=WARSAW[0] + (i % 6) * 0.05, lat=WARSAW[1] + (i // 6) * 0.05,
                      category=("vandalism", "poaching", "speeding")[i % 3], published=True)
    queries = {   # name: (query, statements precompleted, statements written by PostgreSQL)
        "fragment": ("""query { reports(first: 30) { edges { ...E } } }
            fragment E on ReportEdge { node { id ... on Report { category { id } } } }""", 2, 1),
        "skipped": ("""query($no: Boolean!) { reports(first: 30) { edges { node { id
            category @skip(if: $no) { id } areas @include(if: false) { code } } } } }""", 1, 1),
        "areas": ("""query($no: Boolean!) { reports(first: 30) { edges { node { id
            category @skip(if: $no) { id } areas { code level } } } } }""", 2, 1),
        "skipped fragment": ("""query($no: Boolean!) { reports(first: 30) { edges { node { id
            ...C @skip(if: $no) ... on Report @include(if: false) { areas { code } } } } } }
            fragment C on Report { category { id } }""", 1, 1),
        "units": ("""query { reports(first: 30) { edges { node { id
            category { id } policeUnit { id name } } } } }""", 3, 3),
    }
    app_conn.execute("UPDATE core.reports SET police_unit_id = 'kpp-1405'")  # public unit: per county
    async with running_app(settings) as (client, app):
        runtime = app.state.runtime
        graphql = graphql_view(app)
        if not sql_page:   # the shortcut in front of the view would write the page too
            graphql.schema.execution_context_class = PrecompletingExecutor
            graphql_shortcut(app).enabled = False
        for name, (query, precompleted, written) in queries.items():
            public = CountingPool(runtime.public_pool)
            runtime.public_pool = public
            try:
                body = await gql(client, query, {"no": True} if "$no" in query else None)
            finally:
                runtime.public_pool = public.pool
            assert "errors" not in body, body
            nodes = [edge["node"] for edge in body["data"]["reports"]["edges"]]
            assert len(nodes) == 30, name
            assert public.statements == (written if sql_page else precompleted), (name, public.statements)
            if name == "fragment":
                assert {n["category"]["id"] for n in nodes} == {"vandalism", "poaching", "speeding"}
            if name == "units":
                assert all(n["policeUnit"]["id"].startswith(("kpp-", "kwp-")) for n in nodes)
            if name == "areas":
                assert all("category" not in n for n in nodes)
                assert all({a["level"] for a in n["areas"]} == {"VOIVODESHIP", "COUNTY"} for n in nodes)


KRAKOW = (19.94, 50.06)   # county 1201, unit kpp-1201 (not kpp-1405)
PRIVATE = 'query($id: ID!) { report(id: $id) { id description } }'


async def test_a_websocket_connection_rechecks_access_for_each_operation(
        live_url: str, settings: Settings, app_conn: psycopg.Connection, clean_reports: None) -> None:
    """One WebSocket connection may carry many operations: what the first one loaded (the
    report's unit, the officer's unit) and the token's validity must not carry over to the next."""
    report = insert_report(app_conn, lon=KRAKOW[0], lat=KRAKOW[1])
    app_conn.execute("UPDATE core.reports SET police_unit_id = 'kpp-1405' WHERE id = %s", [report])
    officer = token(settings, "officer", "kpp-1405", hours=3 / 3600)
    async with websockets.connect(f"ws://{live_url}/graphql", subprotocols=["graphql-transport-ws"],
                                  additional_headers={"Authorization": f"Bearer {officer}"}) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert (await next_message(ws))["type"] == "connection_ack"
        first = await ws_query(ws, "1", PRIVATE, {"id": str(report)})
        assert first["payload"]["data"]["report"]["description"] == "a private description", first

        # handed to the Kraków unit: no longer this officer's report
        app_conn.execute("UPDATE core.reports SET police_unit_id = 'kpp-1201' WHERE id = %s", [report])
        second = await ws_query(ws, "2", PRIVATE, {"id": str(report)})
        errors = second["payload"].get("errors") or []
        assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"], second
        assert "a private description" not in json.dumps(second)

        app_conn.execute("UPDATE core.reports SET police_unit_id = 'kpp-1405' WHERE id = %s", [report])
        await asyncio.sleep(3.2)   # the token has expired meanwhile
        third = await ws_query(ws, "3", PRIVATE, {"id": str(report)})
        errors = third["payload"].get("errors") or (third["payload"] if third["type"] == "error" else [])
        assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"], third
        assert "a private description" not in json.dumps(third)


@pytest.mark.parametrize("payload, code", [
    ({"Authorization": "Bearer {officer}"}, None), ({"authorization": "Bearer {officer}"}, None),
    ({"Authorization": "Bearer not-a-token"}, "UNAUTHENTICATED"), ({"Authorization": 42}, "UNAUTHENTICATED"),
    ({}, "FORBIDDEN")])
async def test_a_browser_websocket_authenticates_in_connection_init(
        live_url: str, settings: Settings, app_conn: psycopg.Connection, clean_reports: None,
        payload: dict[str, Any], code: str | None) -> None:
    """Browsers cannot set headers on a WebSocket: the token may come in connection_init."""
    report = insert_report(app_conn, published=True, status="confirmed")
    officer = token(settings, "officer", "kpp-1405")
    sent = {k: v.format(officer=officer) if isinstance(v, str) else v for k, v in payload.items()}
    async with websockets.connect(f"ws://{live_url}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": sent}))
        assert (await next_message(ws))["type"] == "connection_ack"
        answer = await ws_query(ws, "1", PRIVATE, {"id": str(report)})
    errors = answer["payload"].get("errors") or (answer["payload"] if answer["type"] == "error" else [])
    if code is None:
        assert not errors and answer["payload"]["data"]["report"]["description"] == "a private description"
    else:
        assert code in {e["extensions"]["code"] for e in errors}, answer
        assert "a private description" not in json.dumps(answer)


async def test_the_public_page_over_a_websocket_is_the_page_over_http(
        live_url: str, app_conn: psycopg.Connection, clean_reports: None) -> None:
    """The page PostgreSQL writes as text (gateway.graphql.sql_page) goes into a WebSocket
    message as into an HTTP answer: the same value, Polish names and all."""
    for i in range(3):
        insert_report(app_conn, published=True, status="confirmed", lon=WARSAW[0] + i * 0.01)
    query = """{ reports(first: 3) { totalCount edges { cursor node { id occurredOn
        category { namePl } areas { name } location { longitude latitude geojson } } } } }"""
    async with httpx.AsyncClient(base_url=f"http://{live_url}") as http:
        over_http = (await http.post("/graphql", json={"query": query})).json()
    async with websockets.connect(f"ws://{live_url}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert (await next_message(ws))["type"] == "connection_ack"
        answer = await ws_query(ws, "1", query, {})
    assert answer["type"] == "next" and "errors" not in over_http
    assert answer["payload"]["data"] == over_http["data"]
    assert len(over_http["data"]["reports"]["edges"]) == 3

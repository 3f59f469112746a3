"""WebSocket limits and fairness (issue 10, points 3 and 5), against a real uvicorn and a
websockets client: the size limit holds for every WebSocket message (the app's own check, and
uvicorn's `ws_max_size` as `threatmap serve` configures it), the depth, alias and token limits
answer over WebSocket as over HTTP, every list argument is bounded over both, and large documents
are parsed on a worker thread, a bounded number at a time per client."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
import websockets

from gateway.app import create_app
from gateway.cli import server_options
from gateway.settings import Settings
from tests.support import WARSAW, codes, free_port, gql, next_message, running_app, served, ws_query

PROTOCOL = ["graphql-transport-ws"]
MAX_DEPTH = 4
SUBMIT = """mutation($input: SubmitReportInput!, $key: String) {
    submitReport(input: $input, idempotencyKey: $key) { trackingToken } }"""
REPORTS = "query($c: [String!]) { reports(filter: {categories: $c}, first: 1) { edges { cursor } } }"
EVENTS = "subscription($f: ReportEventFilter) { reportEvents(filter: $f) { kind } }"


def submission(key: str, **extra: Any) -> dict[str, Any]:
    occurred = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return {"key": key, "input": {"categoryId": "illegal-dumping", "longitude": WARSAW[0],
                                  "latitude": WARSAW[1], "occurredAt": occurred}, **extra}


def stored(conn: psycopg.Connection, key: str) -> int:
    return conn.execute("SELECT count(*) FROM core.reports WHERE idempotency_key = %s",
                        [key]).fetchone()[0]


@pytest.fixture(scope="module")
async def live(settings: Settings) -> AsyncIterator[str]:
    """The app under a real uvicorn with uvicorn's own defaults (16 MiB WebSocket messages): what
    is refused here, the app refused itself."""
    port = free_port()
    app = create_app(settings.model_copy(update={"port": port, "graphql_max_depth": MAX_DEPTH,
                                                 "submit_rate_limit": "1000/hour"}))
    async with served(app, port, lifespan="on"):
        yield f"127.0.0.1:{port}"


async def connected(url: str, **options: Any) -> Any:
    ws = await websockets.connect(f"ws://{url}/graphql", subprotocols=PROTOCOL, **options)
    await ws.send(json.dumps({"type": "connection_init"}))
    assert (await next_message(ws))["type"] == "connection_ack"
    return ws


async def closed_with(ws: Any) -> int:
    """The close code of a connection the server closes (fails if an answer comes instead)."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        message = await next_message(ws)
        raise AssertionError(f"answered instead of closed: {str(message)[:300]}")
    return closed.value.rcvd.code if closed.value.rcvd else -1


def errors_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The errors of a graphql-transport-ws answer: an `error` message or a `next` with errors."""
    if message["type"] == "error":
        return message["payload"]
    return message["payload"].get("errors") or []


# --- 3. The size limit on every WebSocket message -------------------------------------------
@pytest.mark.parametrize("padding", ["text", "list"])
async def test_an_oversized_websocket_message_closes_the_connection_and_runs_nothing(
        live: str, settings: Settings, app_conn: psycopg.Connection, clean_reports: None,
        padding: str) -> None:
    """A submitReport padded past the limit (an unused variable, or a list of 200,000 items):
    the connection is closed with 1009 and no report is stored. The same mutation within the
    limit is run."""
    key = f"ws-oversized-{uuid.uuid4()}"
    big = ("x" * (settings.graphql_max_body_bytes + 1) if padding == "text"
           else list(range(200_000)))
    ws = await connected(live)
    try:
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": SUBMIT, "variables": submission(key, padding=big)}}))
        assert await closed_with(ws) == 1009
    finally:
        await ws.close()
    await asyncio.sleep(0.5)   # an operation started despite the close would have stored by now
    assert stored(app_conn, key) == 0

    ws = await connected(live)
    try:
        answer = await ws_query(ws, "1", SUBMIT, submission(key))
    finally:
        await ws.close()
    assert not errors_of(answer), answer
    assert stored(app_conn, key) == 1


async def test_threatmap_serve_gives_uvicorn_the_same_message_limit(
        settings: Settings, app_conn: psycopg.Connection, clean_reports: None) -> None:
    """uvicorn configured as `threatmap serve` configures it refuses the oversized frame itself."""
    options = server_options(settings)
    assert options["ws_max_size"] == settings.graphql_max_body_bytes
    port = free_port()
    app = create_app(settings.model_copy(update={"port": port}))
    key = f"ws-serve-{uuid.uuid4()}"
    async with served(app, port, lifespan="on", **options):
        ws = await connected(f"127.0.0.1:{port}")
        try:
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": SUBMIT, "variables": submission(key, padding="x" * 10 * 2**20)}}))
            assert await closed_with(ws) == 1009
        finally:
            await ws.close()
    assert stored(app_conn, key) == 0


# --- 3. Depth, aliases and tokens over WebSocket ------------------------------------------
async def test_depth_alias_and_token_limits_refuse_over_websocket(live: str, settings: Settings) -> None:
    deep = "{ reports { edges { node { policeUnit { area { code } } } } } }"
    aliased = "{ " + " ".join(f"x{n}: statuses {{ id }}"
                              for n in range(settings.graphql_max_aliases + 5)) + " }"
    ws = await connected(live)
    try:
        for op, query, word in (("deep", deep, "depth"), ("aliases", aliased, "aliases")):
            answer = await ws_query(ws, op, query, {})
            assert answer["type"] == "error" and word in answer["payload"][0]["message"], answer
            # with the code HTTP clients get
            assert answer["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT", answer
        # a document within the limits still runs on the same connection
        answer = await ws_query(ws, "fine", "{ statuses { id } }", {})
        assert answer["type"] == "next" and answer["payload"]["data"]["statuses"], answer
        # past the token limit the document cannot be parsed: graphql-transport-ws closes the
        # connection with 4400 and the parser's message (not a silent `complete`)
        await ws.send(json.dumps({"id": "tokens", "type": "subscribe", "payload": {
            "query": "{ statuses { id " + "id " * (settings.graphql_max_tokens + 10) + "} }"}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            raise AssertionError(f"answered instead of closed: {await next_message(ws)}")
        assert closed.value.rcvd.code == 4400 and "token" in closed.value.rcvd.reason.lower()
    finally:
        await ws.close()


# --- 3. Every list argument is bounded -----------------------------------------------------
def too_many(settings: Settings) -> list[str]:
    return [f"category-{n}" for n in range(settings.graphql_max_list_items + 1)]


async def test_a_list_variable_over_the_bound_is_bad_user_input_over_http(
        graphql_client: httpx.AsyncClient, settings: Settings) -> None:
    body = await gql(graphql_client, REPORTS, {"c": too_many(settings)})
    assert codes(body) == ["BAD_USER_INPUT"] and body.get("data") is None, body
    message = body["errors"][0]["message"]
    assert "$c" in message and str(settings.graphql_max_list_items) in message, message
    within = await gql(graphql_client, REPORTS, {"c": too_many(settings)[:-1]})
    assert "errors" not in within, within
    nested = await gql(graphql_client, "query($f: ReportFilter) { reports(filter: $f, first: 1) { "
                       "edges { cursor } } }", {"f": {"statuses": ["confirmed"] * 1000}})
    assert codes(nested) == ["BAD_USER_INPUT"] and "$f.statuses" in nested["errors"][0]["message"]


async def test_a_list_written_in_the_document_over_the_bound_is_bad_user_input(
        graphql_client: httpx.AsyncClient, settings: Settings) -> None:
    literal = json.dumps(too_many(settings))
    body = await gql(graphql_client,
                     f"{{ reports(filter: {{categories: {literal}}}) {{ edges {{ cursor }} }} }}")
    assert codes(body) == ["BAD_USER_INPUT"] and "list" in body["errors"][0]["message"], body
    body = await gql(graphql_client, "{ stats(groupBy: [" + ", ".join(
        ["CATEGORY"] * (settings.graphql_max_list_items + 1)) + "]) { count } }")
    assert codes(body) == ["BAD_USER_INPUT"], body


async def test_a_list_over_the_bound_is_bad_user_input_over_websocket(live: str, settings: Settings) -> None:
    ws = await connected(live)
    try:
        answer = await ws_query(ws, "q", REPORTS, {"c": too_many(settings)})
        assert [e["extensions"]["code"] for e in errors_of(answer)] == ["BAD_USER_INPUT"], answer
        await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": {
            "query": EVENTS, "variables": {"f": {"statuses": too_many(settings)}}}}))
        answer = await next_message(ws)
        assert [e["extensions"]["code"] for e in errors_of(answer)] == ["BAD_USER_INPUT"], answer
        # the connection still serves
        answer = await ws_query(ws, "fine", REPORTS, {"c": too_many(settings)[:3]})
        assert answer["type"] == "next" and not errors_of(answer), answer
    finally:
        await ws.close()


# --- 5. Fairness: large documents off the event loop, a bounded number per client ----------
def large_document(n: int, size: int = 60_000) -> str:
    """A distinct document of about `size` bytes that is costly to read: a valid query, then a
    long comment (the lexer reads it character by character)."""
    return "{ statuses { id } }\n# " + f"{n} " + "x" * size


async def test_one_client_flooding_large_documents_is_rate_limited_and_others_are_not(
        settings: Settings) -> None:
    """One client sends 40 large documents at once: one is parsed at a time, 16 more wait
    their turn and the others are refused with RATE_LIMITED at once; another client's large
    document meanwhile is parsed, and /health answers."""
    bounded = settings.model_copy(update={"graphql_large_documents_per_client": 1})
    async with running_app(bounded, peer=("10.1.1.1", 40000)) as (flooder, app):
        other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("10.2.2.2", 40000)),
                                  base_url="http://testserver")
        async with other:
            flood = [gql(flooder, large_document(n)) for n in range(40)]
            answers = await asyncio.gather(*flood, gql(other, large_document(1000)),
                                           other.get("/health"))
    *flooded, others, health = answers
    assert health.status_code == 200
    assert "errors" not in others and others["data"]["statuses"], others
    refused = [body for body in flooded if codes(body) == ["RATE_LIMITED"]]
    served_ = [body for body in flooded if "errors" not in body and body["data"]["statuses"]]
    assert refused and len(served_) >= 17 and len(refused) + len(served_) == 40, flooded


async def test_large_documents_with_errors_are_answered_like_small_ones(
        graphql_client: httpx.AsyncClient, live: str) -> None:
    """A large document is parsed on the worker thread; its syntax or validation errors reach
    the client as they would for a small one."""
    body = await gql(graphql_client, "{ statuses { id \n# " + "x" * 20_000)
    assert codes(body) == ["BAD_USER_INPUT"] and "Syntax Error" in body["errors"][0]["message"], body
    body = await gql(graphql_client, "{ statusez { id } }\n# " + "x" * 20_000)
    assert codes(body) == ["BAD_USER_INPUT"] and "statusez" in body["errors"][0]["message"], body
    ws = await connected(live)
    try:
        answer = await ws_query(ws, "large", large_document(7), {})
        assert answer["type"] == "next" and answer["payload"]["data"]["statuses"], answer
    finally:
        await ws.close()

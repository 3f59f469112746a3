"""Idempotency and rate limits of the citizen's calls (issue 10, point 9), through HTTP.

A retry of an acknowledged submitReport is answered as the first time (same report, same
tracking token) and never counted; a replay cannot take the citizen's tracking over; calls with
a tracking token are rate limited per client; the default submission limit is KMZB's rule, one
report per address a day.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from pydantic import ValidationError

from gateway.graphql.tracking import derived_token, tracking_key
from gateway.settings import Settings
from tests.support import WARSAW, codes, gql, running_app

pytestmark = pytest.mark.usefixtures("clean_reports")

SUBMIT = """mutation($input: SubmitReportInput!, $key: String) {
    submitReport(input: $input, idempotencyKey: $key) { trackingToken report { id } } }"""
BY_TOKEN = "query($t: String!) { reportByToken(token: $t) { id status } }"
ADD = "mutation($t: String!, $x: String!) { addReportInformation(token: $t, text: $x) { id } }"
PROXY = ("10.1.2.3", 4000)   # a trusted proxy: X-Forwarded-For names the client
DEFAULT_SUBMIT_LIMIT = Settings.model_fields["submit_rate_limit"].default


def report_input(**changes: Any) -> dict[str, Any]:
    occurred = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0).isoformat()
    return {"categoryId": "illegal-dumping", "longitude": WARSAW[0], "latitude": WARSAW[1],
            "occurredAt": occurred, "description": "Rubbish dumped by the river",
            "contact": "citizen@example.org"} | changes


def behind_proxy(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(update={"trusted_proxies": ["10.0.0.0/8"]} | changes)


async def submit(client: httpx.AsyncClient, report: dict[str, Any], key: str | None,
                 address: str = "198.51.100.1") -> dict[str, Any]:
    return await gql(client, SUBMIT, {"input": report, "key": key},
                     headers={"X-Forwarded-For": address})


# -- (d) one report per address a day, by default -------------------------------------------------

def test_the_default_submission_limit_is_one_report_per_address_a_day() -> None:
    assert Settings().submit_rate_limit == DEFAULT_SUBMIT_LIMIT == "1/day"


async def test_a_second_report_from_one_address_in_a_day_is_rate_limited(
        settings: Settings) -> None:
    defaults = behind_proxy(settings, submit_rate_limit=DEFAULT_SUBMIT_LIMIT)
    async with running_app(defaults, peer=PROXY) as (client, _):
        assert "errors" not in await submit(client, report_input(), "day-1")
        second = await submit(client, report_input(description="Another heap"), "day-2")
        assert codes(second) == ["RATE_LIMITED"]
        assert "errors" not in await submit(client, report_input(), "day-3", address="198.51.100.2")


# -- (a) a retry of an acknowledged submission is never rate limited ------------------------------

async def test_a_retry_of_an_acknowledged_submission_is_not_counted(
        settings: Settings, app_conn: psycopg.Connection) -> None:
    one_a_day = behind_proxy(settings, submit_rate_limit="1/day")
    report = report_input()
    async with running_app(one_a_day, peer=PROXY) as (client, _):
        first = await submit(client, report, "retry-1")
        assert "errors" not in first, first
        for _ in range(3):   # the answer was lost, the app retries: the same answer each time
            again = await submit(client, report, "retry-1")
            assert "errors" not in again, again
            assert again["data"] == first["data"]
        assert codes(await submit(client, report_input(description="new"), "retry-2")) == [
            "RATE_LIMITED"]
        # the same key with another payload is a conflict, not a retry
        assert codes(await submit(client, report_input(description="other"), "retry-1")) == [
            "CONFLICT"]
    assert app_conn.execute("SELECT count(*) FROM core.reports").fetchone()[0] == 1


# -- (b) a replay does not take the citizen's tracking over ---------------------------------------

async def test_a_replay_returns_the_same_token_and_the_citizens_keeps_working(
        graphql_client: httpx.AsyncClient, app_conn: psycopg.Connection) -> None:
    report = report_input()
    first = (await gql(graphql_client, SUBMIT, {"input": report, "key": "replay-1"}))["data"]
    replay = (await gql(graphql_client, SUBMIT, {"input": report, "key": "replay-1"}))["data"]
    token = first["submitReport"]["trackingToken"]
    assert replay["submitReport"]["trackingToken"] == token
    found = await gql(graphql_client, BY_TOKEN, {"t": token})
    assert found["data"]["reportByToken"]["id"] == first["submitReport"]["report"]["id"]
    # only its hash is stored
    stored = app_conn.execute("SELECT tracking_token_hash FROM core.reports WHERE id = %s",
                              [first["submitReport"]["report"]["id"]]).fetchone()[0]
    assert token.encode() not in bytes(stored) and len(stored) == 32
    # without a key every submission is a new report with a token of its own
    tokens = {(await gql(graphql_client, SUBMIT, {"input": report}))["data"]["submitReport"][
        "trackingToken"] for _ in range(2)}
    assert len(tokens) == 2 and token not in tokens


async def test_a_replay_on_a_server_with_another_secret_never_replaces_the_token(
        settings: Settings) -> None:
    """The token comes from the key and a server secret: without the secret it cannot be
    computed, and a server that derives another one refuses the replay rather than handing out
    a token of its own, which would kill the citizen's."""
    report = report_input()
    first_secret = settings.model_copy(update={"tracking_secret": "a" * 32})
    async with running_app(first_secret) as (client, _):
        first = (await gql(client, SUBMIT, {"input": report, "key": "secret-1"}))["data"]
    token = first["submitReport"]["trackingToken"]
    other_secret = settings.model_copy(update={"tracking_secret": "b" * 32})
    async with running_app(other_secret) as (client, _):
        replay = await gql(client, SUBMIT, {"input": report, "key": "secret-1"})
        assert codes(replay) == ["CONFLICT"]
        found = await gql(client, BY_TOKEN, {"t": token})
        assert found["data"]["reportByToken"]["id"] == first["submitReport"]["report"]["id"]


def test_the_token_depends_on_the_secret_the_key_and_the_payload() -> None:
    key_a, key_b = tracking_key("a" * 32), tracking_key("b" * 32)
    token = derived_token(key_a, "k", "p" * 64)
    assert token == derived_token(key_a, "k", "p" * 64)
    assert len({token, derived_token(key_b, "k", "p" * 64), derived_token(key_a, "l", "p" * 64),
                derived_token(key_a, "k", "q" * 64)}) == 4
    assert len(token) == 43


# -- (c) calls with a tracking token are rate limited per client ----------------------------------

async def test_tracking_token_calls_are_rate_limited_per_client(settings: Settings) -> None:
    limited = behind_proxy(settings, tracking_rate_limit="3/minute")
    async with running_app(limited, peer=PROXY) as (client, _):
        token = (await submit(client, report_input(), "track-1"))["data"]["submitReport"][
            "trackingToken"]
        guesser = {"X-Forwarded-For": "198.51.100.66"}
        for guess in ("a", "b", "c"):
            body = await gql(client, BY_TOKEN, {"t": guess}, headers=guesser)
            assert body["data"]["reportByToken"] is None, body
        assert codes(await gql(client, BY_TOKEN, {"t": token}, headers=guesser)) == ["RATE_LIMITED"]
        assert codes(await gql(client, ADD, {"t": token, "x": "hi"}, headers=guesser)) == [
            "RATE_LIMITED"]
        citizen = {"X-Forwarded-For": "198.51.100.1"}
        found = await gql(client, BY_TOKEN, {"t": token}, headers=citizen)
        assert found["data"]["reportByToken"]["status"] == "new"


# -- the settings, checked at start-up -------------------------------------------------------------

@pytest.mark.parametrize(("variable", "value"), [("THREATMAP_TRACKING_RATE_LIMIT", "lots"),
                                                 ("THREATMAP_SUBMIT_RATE_LIMIT", "1/fortnight"),
                                                 ("THREATMAP_TRACKING_SECRET", "short")])
def test_a_bad_limit_or_secret_is_refused_naming_the_variable(
        monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=variable):
        Settings()

"""GraphQL over HTTP (issue 11, point 8): application/graphql-response+json for clients that ask
for it, with the spec's status codes; application/json as before; no `data` on request errors."""

from typing import Any

import httpx
import pytest

from tests.support import codes

GRAPHQL_RESPONSE = "application/graphql-response+json"
ASKS = {"Accept": f"{GRAPHQL_RESPONSE}, application/json;q=0.9"}


async def post(client: httpx.AsyncClient, query: str, headers: dict[str, str] | None = None,
               variables: dict[str, Any] | None = None) -> httpx.Response:
    return await client.post("/graphql", json={"query": query, "variables": variables or {}},
                             headers=headers or {})


async def test_a_client_that_asks_gets_graphql_response_json(client: httpx.AsyncClient) -> None:
    response = await post(client, "{ statuses { id } }", ASKS)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json()["data"]["statuses"]


@pytest.mark.parametrize("accept", [None, "*/*", "application/json",
                                    f"application/json, {GRAPHQL_RESPONSE};q=0.5"])
async def test_other_clients_keep_application_json(client: httpx.AsyncClient,
                                                   accept: str | None) -> None:
    response = await post(client, "{ statuses { id } }", {"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize("query", ["{ statuses { id ", "{ noSuchField }",
                                   "query($n: Int!) { reports(first: $n) { edges { cursor } } }"])
async def test_a_request_error_is_a_400_without_data(client: httpx.AsyncClient, query: str) -> None:
    response = await post(client, query, ASKS)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    body = response.json()
    assert "data" not in body and codes(body) == ["BAD_USER_INPUT"], body


@pytest.mark.parametrize("query", ["{ statuses { id ", "{ noSuchField }"])
async def test_with_application_json_a_request_error_stays_a_200_without_data(
        client: httpx.AsyncClient, query: str) -> None:
    response = await post(client, query)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert "data" not in body and codes(body) == ["BAD_USER_INPUT"], body


async def test_a_refused_token_is_a_401(client: httpx.AsyncClient) -> None:
    response = await post(client, "{ statuses { id } }",
                          {**ASKS, "Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    body = response.json()
    assert "data" not in body and codes(body) == ["UNAUTHENTICATED"]


async def test_an_executed_request_with_errors_is_a_200_with_its_data(
        client: httpx.AsyncClient) -> None:
    # `reports` is non-null: its error nulls the whole data, which is still there (executed).
    response = await post(client, '{ reports(after: "garbage") { edges { cursor } } }', ASKS)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "data" in body and body["data"] is None and codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["path"] == ["reports"]


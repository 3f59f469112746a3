"""Automatic persisted queries (issue 11, point 8; Apollo's APQ protocol): a hash the server does
not know asks for the query; the query with its hash is kept (bounded, in memory); then a GET by
hash runs it. Mutations by GET stay refused and a kept query passes every limit."""

import hashlib
import json
from typing import Any

import httpx
import pytest

from gateway.settings import Settings
from tests.support import codes, running_app

QUERY = "query Statuses($first: Int!) { statuses { id } reports(first: $first) { edges { cursor } } }"


def sha(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


def persisted(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def post(client: httpx.AsyncClient, digest: str, query: str | None = None,
               variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"extensions": persisted(digest), "variables": variables or {}}
    if query is not None:
        body["query"] = query
    response = await client.post("/graphql", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def get(client: httpx.AsyncClient, digest: str, variables: dict[str, Any] | None = None,
              headers: dict[str, str] | None = None) -> httpx.Response:
    params = {"extensions": json.dumps(persisted(digest))}
    if variables is not None:
        params["variables"] = json.dumps(variables)
    return await client.get("/graphql", params=params, headers=headers or {})


def unique(query: str, tag: str) -> str:
    """The same query with another text (so another hash): each test starts from an unknown one."""
    return f"{query} # {tag}"


async def test_an_unknown_hash_asks_for_the_query(client: httpx.AsyncClient) -> None:
    body = await post(client, sha(unique(QUERY, "unknown")))
    assert codes(body) == ["PERSISTED_QUERY_NOT_FOUND"], body
    assert body["errors"][0]["message"] == "PersistedQueryNotFound" and "data" not in body


async def test_with_graphql_response_json_an_unknown_hash_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"extensions": persisted(sha("{ x }"))},
                                 headers={"Accept": "application/graphql-response+json"})
    assert response.status_code == 404 and codes(response.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_a_kept_query_runs_by_hash_over_get(client: httpx.AsyncClient) -> None:
    query = unique(QUERY, "kept")
    digest = sha(query)
    first = await post(client, digest, query, {"first": 1})
    assert "errors" not in first and first["data"]["statuses"], first
    # httpx sends Accept: */*, which without a query would otherwise be a visit to GraphiQL
    response = await get(client, digest, {"first": 1})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == first
    assert (await post(client, digest, variables={"first": 1})) == first


async def test_a_hash_that_is_not_the_querys_is_refused(client: httpx.AsyncClient) -> None:
    query = unique(QUERY, "mismatch")
    body = await post(client, sha(query + " "), query, {"first": 1})
    assert codes(body) == ["BAD_USER_INPUT"] and "data" not in body
    # and nothing was kept under that hash
    assert codes(await post(client, sha(query + " "))) == ["PERSISTED_QUERY_NOT_FOUND"]


@pytest.mark.parametrize("extension", [{"version": 2, "sha256Hash": "a" * 64},
                                       {"version": 1, "sha256Hash": "not-a-hash"},
                                       {"version": 1}, "text"])
async def test_a_malformed_extension_is_refused(client: httpx.AsyncClient, extension: Any) -> None:
    response = await client.post("/graphql", json={"query": "{ statuses { id } }",
                                                   "extensions": {"persistedQuery": extension}})
    body = response.json()
    assert codes(body) == ["BAD_USER_INPUT"] and "persistedQuery" in body["errors"][0]["message"]


async def test_a_mutation_kept_by_hash_is_still_refused_over_get(client: httpx.AsyncClient) -> None:
    mutation = unique('mutation { addReportInformation(token: "no-such", text: "") { id } }', "m")
    kept = await post(client, sha(mutation), mutation)
    assert codes(kept) == ["BAD_USER_INPUT"] and "data" in kept   # executed, so kept
    response = await get(client, sha(mutation))
    assert response.status_code in (400, 405) and "mutation" in response.text.lower()


async def test_a_query_past_a_limit_is_not_kept(client: httpx.AsyncClient,
                                                settings: Settings) -> None:
    aliases = " ".join(f"a{i}: __typename" for i in range(settings.graphql_max_aliases + 1))
    query = f"{{ {aliases} }}"
    assert codes(await post(client, sha(query), query)) == ["BAD_USER_INPUT"]
    assert codes(await post(client, sha(query))) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_the_store_keeps_the_most_recently_used(settings: Settings) -> None:
    queries = [unique("{ statuses { id } }", str(n)) for n in range(3)]
    async with running_app(settings.model_copy(update={"graphql_persisted_queries": 2})) as (http, _):
        for query in queries:
            assert "errors" not in await post(http, sha(query), query)
        assert codes(await post(http, sha(queries[0]))) == ["PERSISTED_QUERY_NOT_FOUND"]
        assert "errors" not in await post(http, sha(queries[2]))


async def test_size_zero_turns_apq_off(settings: Settings) -> None:
    async with running_app(settings.model_copy(update={"graphql_persisted_queries": 0})) as (http, _):
        query = "{ statuses { id } }"
        assert codes(await post(http, sha(query), query)) == ["PERSISTED_QUERY_NOT_SUPPORTED"]


def test_the_size_setting_is_checked() -> None:
    with pytest.raises(ValueError):
        Settings(graphql_persisted_queries=-1)

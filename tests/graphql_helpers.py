"""Helpers for the GraphQL tests: a query over HTTP, tokens, and error codes."""

from typing import Any

import httpx

from gateway.graphql.auth import Role, mint_token
from gateway.settings import Settings


async def gql(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None,
              token: str | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}},
                                 headers=sent)
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json()


def token(settings: Settings, role: str, unit: str | None = None, hours: float = 1) -> str:
    return mint_token(settings.jwt_secret, Role(role), f"test-{role}", unit, hours)


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]

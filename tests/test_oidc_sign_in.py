"""Sign-in through an OpenID Connect provider (issue 13.6): a provider run by the test publishes
its discovery document and JWKS and signs real RS256 and ES256 tokens with generated keys; the
app accepts them for the role and unit their claims name, and refuses every kind of forgery."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.oidc import KEY_REFRESH_COOLDOWN_S
from gateway.settings import Settings
from tests.support import codes, free_port, gql, running_app, served

CLIENT_ID = "threatmap-staff"
WHO = "{ staffReports(first: 1) { totalCount } }"


@dataclass
class Provider:
    """A tiny OpenID provider: discovery, JWKS (requests counted), and token signing."""
    issuer: str
    keys: dict[str, Any] = field(default_factory=dict)   # kid -> private key
    jwks_requests: int = 0

    def add_key(self, kid: str, kind: str = "RSA") -> None:
        self.keys[kid] = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "RSA"
                          else ec.generate_private_key(ec.SECP256R1()))

    def jwks(self) -> dict[str, Any]:
        found = []
        for kid, key in self.keys.items():
            algorithm = jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) \
                else jwt.algorithms.ECAlgorithm
            jwk = json.loads(algorithm.to_jwk(key.public_key()))
            found.append(jwk | {"kid": kid, "use": "sig",
                                "alg": "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"})
        return {"keys": found}

    def token(self, kid: str = "k1", **changes: Any) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "sub": "a1b2c3", "iat": now, "exp": now + 600,
                  "preferred_username": "jan.kowalski", "threatmap_role": ["officer"],
                  "threatmap_unit": "kpp-1405"} | changes
        claims = {k: v for k, v in claims.items() if v is not None}
        key = self.keys[kid]
        algorithm = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})

    def app(self) -> Starlette:
        async def discovery(request: Request) -> JSONResponse:
            return JSONResponse({"issuer": self.issuer, "jwks_uri": f"{self.issuer}/jwks",
                                 "authorization_endpoint": f"{self.issuer}/authorize",
                                 "token_endpoint": f"{self.issuer}/token",
                                 "id_token_signing_alg_values_supported": ["RS256", "ES256"]})

        async def jwks(request: Request) -> JSONResponse:
            self.jwks_requests += 1
            return JSONResponse(self.jwks())

        return Starlette(routes=[Route("/.well-known/openid-configuration", discovery),
                                 Route("/jwks", jwks)])


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    port = free_port()
    found = Provider(issuer=f"http://127.0.0.1:{port}")
    found.add_key("k1")
    async with served(found.app(), port):
        yield found


@pytest.fixture
async def app_with_provider(settings: Settings, provider: Provider) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings.model_copy(update={
        "oidc_discovery_url": f"{provider.issuer}/.well-known/openid-configuration",
        "oidc_client_id": CLIENT_ID}).checked()
    async with running_app(configured) as (http, _):
        yield http


async def test_a_providers_officer_token_signs_in_with_its_role_and_unit(
        app_with_provider: httpx.AsyncClient, provider: Provider) -> None:
    body = await gql(app_with_provider, WHO, None, provider.token())
    assert "errors" not in body, body
    analyst = await gql(app_with_provider, WHO, None, provider.token(threatmap_role="analyst",
                                                                      threatmap_unit=None))
    assert "errors" not in analyst, analyst
    # A list of roles: the first threatmap role counts.
    ids = await gql(app_with_provider, "{ staffReports(first: 1) { totalCount } }", None,
                    provider.token(threatmap_role=["someone", "admin"]))
    assert codes(ids) == ["FORBIDDEN"]   # an admin is signed in, and admins get no work list


async def test_es256_and_key_rotation(app_with_provider: httpx.AsyncClient, provider: Provider) -> None:
    assert "errors" not in await gql(app_with_provider, WHO, None, provider.token())
    fetched = provider.jwks_requests
    provider.add_key("k2", kind="EC")
    await asyncio.sleep(KEY_REFRESH_COOLDOWN_S + 0.5)   # the bound on fetching the keys again
    body = await gql(app_with_provider, WHO, None, provider.token(kid="k2"))
    assert "errors" not in body, body
    assert provider.jwks_requests == fetched + 1   # the new key id made it fetch the keys again


@pytest.mark.parametrize(("forgery", "reason"), [
    ({"aud": "someone-else"}, "audience"),
    ({"iss": "http://evil.example"}, "issuer"),
    ({"exp": int(time.time()) - 60}, "expired"),
    ({"threatmap_role": None}, "role"),
    ({"threatmap_role": "officer", "threatmap_unit": None}, "unit"),
])
async def test_forged_or_foreign_tokens_are_unauthenticated(
        app_with_provider: httpx.AsyncClient, provider: Provider, forgery: dict, reason: str) -> None:
    body = await gql(app_with_provider, WHO, None, provider.token(**forgery))
    assert codes(body) == ["UNAUTHENTICATED"], body
    assert reason in body["errors"][0]["message"].lower()


async def test_keys_the_provider_does_not_publish_and_algorithm_tricks_are_refused(
        app_with_provider: httpx.AsyncClient, provider: Provider) -> None:
    stranger = Provider(issuer=provider.issuer)
    stranger.add_key("k1")     # same kid, another key
    assert codes(await gql(app_with_provider, WHO, None, stranger.token())) == ["UNAUTHENTICATED"]
    stranger.add_key("unknown-kid")
    assert codes(await gql(app_with_provider, WHO, None, stranger.token(kid="unknown-kid"))) == [
        "UNAUTHENTICATED"]
    # HS256 signed with the provider's public key (the classic confusion) is checked as one of
    # our own tokens, with our secret, and fails.
    public_pem = provider.keys["k1"].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    now = int(time.time())
    confused = jwt.encode({"iss": provider.issuer, "aud": CLIENT_ID, "sub": "x", "iat": now,
                           "exp": now + 60, "role": "admin", "threatmap_role": "admin"},
                          public_pem.decode()[:64], algorithm="HS256")
    assert codes(await gql(app_with_provider, WHO, None, confused)) == ["UNAUTHENTICATED"]
    unsigned = jwt.encode({"iss": provider.issuer, "sub": "x", "exp": now + 60}, None, algorithm="none")
    assert codes(await gql(app_with_provider, WHO, None, unsigned)) == ["UNAUTHENTICATED"]


async def test_our_own_tokens_still_work_beside_the_provider(
        app_with_provider: httpx.AsyncClient, settings: Settings) -> None:
    from tests.support import token
    assert "errors" not in await gql(app_with_provider, WHO, None, token(settings, "analyst"))


def test_a_provider_without_a_client_id_is_refused_at_start(settings: Settings) -> None:
    with pytest.raises(ValueError, match="THREATMAP_OIDC_CLIENT_ID"):
        Settings(**settings.model_dump() | {"oidc_discovery_url": "https://idp.example/.well-known/x",
                                            "oidc_client_id": None})

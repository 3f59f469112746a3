"""Sign-in through the police identity provider (OpenID Connect): access or ID tokens signed
with RS256 or ES256, checked against the keys the provider publishes (its JWKS, through PyJWT's
PyJWKClient, which caches them and fetches again for a key id it has not seen: key rotation
needs no restart). The role and police unit come from claims whose names are settings.

The provider is found through its discovery document (`THREATMAP_OIDC_DISCOVERY_URL`, the
`.../.well-known/openid-configuration`), read once on first use; the token's `iss` must be the
issuer it names and its `aud` must contain our client id (`THREATMAP_OIDC_CLIENT_ID`).
Fetching happens in a worker thread: a slow provider never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import jwt

DISCOVERY_TIMEOUT_S = 5
# A token with a key id not seen yet makes the keys be fetched again (rotation), at most once per
# this many seconds whatever tokens are sent (a flood of made-up key ids costs the provider nothing).
KEY_REFRESH_COOLDOWN_S = 5.0
ALLOWED_ALGORITHMS = ("RS256", "ES256")


class OidcError(Exception):
    """The token is not one of the provider's, or the provider cannot be reached."""


@dataclass
class OidcVerifier:
    discovery_url: str
    client_id: str
    role_claim: str = "threatmap_role"
    unit_claim: str = "threatmap_unit"
    _issuer: str | None = field(default=None, repr=False)
    _document: dict[str, Any] | None = field(default=None, repr=False)
    _keys: jwt.PyJWKClient | None = field(default=None, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    async def _provider(self) -> tuple[str, jwt.PyJWKClient]:
        if self._keys is None or self._issuer is None:
            async with self._lock:
                if self._keys is None or self._issuer is None:
                    document = await asyncio.to_thread(self._discover)
                    self._document = document
                    issuer, jwks_uri = document.get("issuer"), document.get("jwks_uri")
                    if not isinstance(issuer, str) or not isinstance(jwks_uri, str):
                        raise OidcError("the provider's discovery document names no issuer or jwks_uri")
                    self._keys = jwt.PyJWKClient(jwks_uri, cache_keys=True, lifespan=3600,
                                                 timeout=DISCOVERY_TIMEOUT_S,
                                                 cooldown_duration=KEY_REFRESH_COOLDOWN_S)
                    self._issuer = issuer
        return self._issuer, self._keys

    async def document(self) -> dict[str, Any]:
        """The provider's discovery document (read once): its endpoints for the sign-in pages."""
        await self._provider()
        assert self._document is not None
        return self._document

    def _discover(self) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(self.discovery_url, timeout=DISCOVERY_TIMEOUT_S) as answer:
                return json.loads(answer.read(1_000_000))
        except (OSError, ValueError) as error:
            raise OidcError(f"the identity provider cannot be reached: {error}") from None

    async def claims(self, token: str) -> dict[str, Any]:
        """The token's claims once its signature, issuer, audience and expiry are checked."""
        issuer, keys = await self._provider()
        try:
            signing_key = await asyncio.to_thread(keys.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientConnectionError as error:
            raise OidcError(f"the identity provider's keys cannot be fetched: {error}") from None
        except jwt.PyJWKClientError as error:
            raise OidcError(f"no key of the identity provider signed it: {error}") from None
        try:
            return jwt.decode(token, signing_key.key, algorithms=list(ALLOWED_ALGORITHMS),
                              audience=self.client_id, issuer=issuer,
                              options={"require": ["exp", "iat", "sub", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise OidcError("it has expired: sign in again") from None
        except jwt.InvalidTokenError as error:
            raise OidcError(str(error)) from None

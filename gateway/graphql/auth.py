"""Who is calling: bearer JWTs for officers, analysts and admins (HS256 tokens this service
mints with the key from settings, or RS256/ES256 tokens of the police identity provider through
OpenID Connect: gateway/oidc.py), and the client's address for rate limits (X-Forwarded-For only
from configured proxies).

A token's own header says which kind it is; each kind is checked with its own key and algorithm
only (an HS256 token is never checked against the provider's public keys, nor the reverse)."""

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

from gateway.graphql.errors import Unauthenticated
from gateway.oidc import ALLOWED_ALGORITHMS, OidcError, OidcVerifier

ALGORITHM = "HS256"
ISSUER = "threatmap"


class Role(StrEnum):
    OFFICER = "officer"
    ANALYST = "analyst"
    ADMIN = "admin"


@dataclass(frozen=True)
class Viewer:
    """An authenticated caller; anonymous callers have no Viewer at all."""

    subject: str
    role: Role
    unit: str | None = None

    @property
    def actor(self) -> str:
        """How the audit trail names this caller."""
        return f"{self.role}:{self.subject}" + (f"@{self.unit}" if self.unit else "")


def mint_token(secret: str, role: Role, subject: str, unit: str | None = None,
               hours: float = 8) -> str:
    if role is Role.OFFICER and not unit:
        raise ValueError("an officer token needs a police unit")
    now = datetime.now(UTC)
    claims = {"iss": ISSUER, "sub": subject, "role": role.value, "iat": now,
              "exp": now + timedelta(hours=hours)}
    if unit:
        claims["unit"] = unit
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def viewer_from_header(secret: str, authorization: str | None) -> Viewer | None:
    """The caller a header names; no header is anonymous, a bad one is an error, never a downgrade."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
    try:
        claims = jwt.decode(token.strip(), secret, algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"require": ["exp", "sub", "role", "iss"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("The token has expired: ask for a new one.") from None
    except jwt.InvalidTokenError as error:
        raise Unauthenticated(f"The token is not valid: {error}.") from None
    try:
        role = Role(claims["role"])
    except ValueError:
        raise Unauthenticated(f"The token names an unknown role {claims['role']!r}.") from None
    unit = claims.get("unit")
    if role is Role.OFFICER and not isinstance(unit, str):
        raise Unauthenticated("An officer token must name a police unit.")
    return Viewer(subject=str(claims["sub"]), role=role, unit=unit if role is Role.OFFICER else None)


def _bearer(authorization: str) -> str:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
    return token.strip()


def _provider_role(value: object) -> Role:
    """The role a provider's claim names: a string, or a list of which the first known role."""
    for candidate in value if isinstance(value, list) else [value]:
        if isinstance(candidate, str) and candidate in Role._value2member_map_:
            return Role(candidate)
    raise Unauthenticated("The identity provider's token names no threatmap role.")


async def viewer_from_request(secret: str, authorization: str | None,
                              oidc: OidcVerifier | None) -> Viewer | None:
    """The caller a header names, with either kind of token."""
    if not authorization:
        return None
    token = _bearer(authorization)
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.InvalidTokenError as error:
        raise Unauthenticated(f"The token is not valid: {error}.") from None
    if algorithm == ALGORITHM or oidc is None:
        return viewer_from_header(secret, authorization)
    if algorithm not in ALLOWED_ALGORITHMS:
        raise Unauthenticated(f"The token is not valid: the algorithm {algorithm!r} is not accepted.")
    try:
        claims = await oidc.claims(token)
    except OidcError as error:
        raise Unauthenticated(f"The identity provider's token is not valid: {error}.") from None
    role = _provider_role(claims.get(oidc.role_claim))
    unit = claims.get(oidc.unit_claim)
    if role is Role.OFFICER and not isinstance(unit, str):
        raise Unauthenticated(f"An officer's token must name a police unit (claim {oidc.unit_claim!r}).")
    subject = claims.get("preferred_username") or claims["sub"]
    return Viewer(subject=str(subject), role=role, unit=unit if role is Role.OFFICER else None)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def proxy_networks(trusted_proxies: list[str]) -> tuple[Network, ...]:
    """The trusted proxies' addresses as networks, parsed once when the door is built (the
    settings have checked them: gateway.settings)."""
    return tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)


def client_address(peer: str | None, forwarded_for: str | None, networks: tuple[Network, ...]) -> str:
    """The address a rate limit counts: the socket peer, unless the peer is a trusted proxy,
    in which case the right-most X-Forwarded-For hop that is not itself a trusted proxy."""
    peer = peer or "unknown"

    def trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in networks)

    if not forwarded_for or not trusted(peer):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not trusted(hop):
            return hop
    return hops[0] if hops else peer

"""gateway.graphql.auth: bearer tokens to viewers, and the address a rate limit counts. A bad
token is an error, never a silent downgrade to anonymous. No database; the same rules through
HTTP are in test_graphql_reads.py and test_graphql_workflow.py."""

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from gateway.graphql.auth import (
    ALGORITHM,
    ISSUER,
    Role,
    Viewer,
    client_address,
    mint_token,
    proxy_networks,
    viewer_from_header,
)
from gateway.graphql.errors import Unauthenticated

SECRET = "a test secret, long enough for HS512 too: 64 bytes and more....."


def forged(secret: str = SECRET, algorithm: str = ALGORITHM, **overrides: Any) -> str:
    """A token with the claims mint_token would write, changed or dropped (None) as given."""
    now = datetime.now(UTC)
    claims = {"iss": ISSUER, "sub": "someone", "role": "analyst", "iat": now,
              "exp": now + timedelta(hours=1)}
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm=algorithm)


def refused(header: str) -> str:
    with pytest.raises(Unauthenticated) as caught:
        viewer_from_header(SECRET, header)
    assert caught.value.extensions["code"] == "UNAUTHENTICATED"
    return caught.value.message


# -- tokens ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("role, unit", [(Role.OFFICER, "kpp-1405"), (Role.ANALYST, None), (Role.ADMIN, None)])
def test_a_minted_token_names_its_viewer(role: Role, unit: str | None) -> None:
    viewer = viewer_from_header(SECRET, f"Bearer {mint_token(SECRET, role, 'jan', unit)}")
    assert viewer == Viewer(subject="jan", role=role, unit=unit)


def test_the_audit_trail_names_role_subject_and_unit() -> None:
    assert Viewer("jan", Role.OFFICER, "kpp-1405").actor == "officer:jan@kpp-1405"
    assert Viewer("ola", Role.ANALYST).actor == "analyst:ola"


def test_an_officer_token_cannot_be_minted_without_a_unit() -> None:
    with pytest.raises(ValueError, match="police unit"):
        mint_token(SECRET, Role.OFFICER, "jan")


def test_the_scheme_is_case_insensitive_and_the_token_may_have_spaces_around() -> None:
    token = mint_token(SECRET, Role.ADMIN, "root")
    assert viewer_from_header(SECRET, f"bearer   {token}  ").role is Role.ADMIN


@pytest.mark.parametrize("header", [None, ""])
def test_no_header_is_anonymous(header: str | None) -> None:
    assert viewer_from_header(SECRET, header) is None


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "Token abc", "abc"])
def test_a_header_that_is_not_a_bearer_token_is_refused(header: str) -> None:
    assert "Bearer <token>" in refused(header)


def test_an_expired_token_is_refused_as_expired() -> None:
    expired = forged(exp=datetime.now(UTC) - timedelta(seconds=5))
    assert "expired" in refused(f"Bearer {expired}")


@pytest.mark.parametrize("token", [
    forged(secret=SECRET[::-1]),                                 # signed by someone else
    forged(iss="someone-else"),
    forged(role=None), forged(sub=None), forged(exp=None), forged(iss=None),
    forged(algorithm="HS512"),                                   # only HS256 is taken
    jwt.encode({"iss": ISSUER, "sub": "x", "role": "admin", "exp": 9999999999}, None, algorithm="none"),
    "not.a.token",
])
def test_a_token_that_is_not_ours_or_misses_a_claim_is_refused(token: str) -> None:
    assert "not valid" in refused(f"Bearer {token}")


def test_an_unknown_role_is_refused_by_name() -> None:
    assert "'superuser'" in refused(f"Bearer {forged(role='superuser')}")


@pytest.mark.parametrize("unit", [None, 1405, ["kpp-1405"]])
def test_an_officer_token_must_name_a_unit(unit: Any) -> None:
    assert "police unit" in refused(f"Bearer {forged(role='officer', unit=unit)}")


def test_only_an_officer_keeps_a_unit() -> None:
    viewer = viewer_from_header(SECRET, f"Bearer {forged(role='analyst', unit='kpp-1405')}")
    assert viewer == Viewer("someone", Role.ANALYST, None)


# -- client address (rate limits) ------------------------------------------------------------------
PROXIES = proxy_networks(["10.0.0.0/8", "192.168.1.1", "fd00::/8"])


def test_without_trusted_proxies_the_socket_peer_counts_whatever_it_forwards() -> None:
    assert client_address("203.0.113.9", "198.51.100.1", ()) == "203.0.113.9"


def test_an_untrusted_peer_cannot_choose_its_address() -> None:
    assert client_address("203.0.113.9", "198.51.100.1", PROXIES) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_forwarded_client_counts() -> None:
    assert client_address("10.1.2.3", "198.51.100.1", PROXIES) == "198.51.100.1"
    assert client_address("192.168.1.1", "198.51.100.1", PROXIES) == "198.51.100.1"


def test_the_right_most_hop_that_is_not_a_trusted_proxy_counts() -> None:
    """Hops left of it were written by the client, who can write anything there."""
    forwarded = "1.1.1.1, 198.51.100.1, 10.0.0.7, 192.168.1.1"
    assert client_address("10.0.0.1", forwarded, PROXIES) == "198.51.100.1"


def test_ipv6_peers_and_hops() -> None:
    assert client_address("fd00::1", "2001:db8::5", PROXIES) == "2001:db8::5"
    assert client_address("2001:db8::9", "2001:db8::5", PROXIES) == "2001:db8::9"


def test_when_every_hop_is_a_trusted_proxy_the_left_most_counts() -> None:
    assert client_address("10.0.0.1", "10.0.0.9, 10.0.0.8", PROXIES) == "10.0.0.9"


@pytest.mark.parametrize("forwarded", [None, "", " , "])
def test_an_empty_forwarded_header_leaves_the_peer(forwarded: str | None) -> None:
    assert client_address("10.0.0.1", forwarded, PROXIES) == "10.0.0.1"


def test_a_hop_that_is_not_an_address_is_not_trusted() -> None:
    assert client_address("10.0.0.1", "198.51.100.1, unknown", PROXIES) == "unknown"


def test_an_unknown_peer_is_named_unknown() -> None:
    assert client_address(None, "198.51.100.1", PROXIES) == "unknown"


def test_a_proxy_network_may_be_written_with_host_bits() -> None:
    assert client_address("10.9.9.9", "198.51.100.1", proxy_networks(["10.1.2.3/8"])) == "198.51.100.1"

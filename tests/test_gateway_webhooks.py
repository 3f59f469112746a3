"""gateway/webhooks.py without a network: signatures, the replay window, URL rules, backoff."""

import asyncio

import pytest

from gateway.webhooks import (
    Backoff,
    UrlPolicy,
    UrlRefused,
    check_addresses,
    check_url,
    refused_address,
    signature,
    verify,
)

SECRET = "s" * 43


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac
    body = b'{"id":"e1"}'
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature(SECRET, 1700000000, body) == f"sha256={expected}"


def test_verify_refuses_a_wrong_secret_a_changed_body_and_an_old_timestamp() -> None:
    body = b'{"id":"e1"}'
    header = signature(SECRET, 1700000000, body)
    assert verify(SECRET, "1700000000", header, body, now=1700000100)
    assert not verify("t" * 43, "1700000000", header, body, now=1700000100)
    assert not verify(SECRET, "1700000000", header, body + b" ", now=1700000100)
    assert not verify(SECRET, "1700000001", header, body, now=1700000100)
    assert not verify(SECRET, "1700000000", header, body, now=1700000000 + 301)
    assert not verify(SECRET, "soon", header, body, now=1700000000)


def test_urls_must_be_https_unless_http_is_allowed() -> None:
    assert check_url("https://partner.example/hook", UrlPolicy()) == "partner.example"
    for url in ["http://partner.example/hook", "ftp://x/", "https:///nohost", "https://u:p@x.example/"]:
        with pytest.raises(UrlRefused):
            check_url(url, UrlPolicy())
    assert check_url("http://127.0.0.1:8080/", UrlPolicy(allow_http=True)) == "127.0.0.1"


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.0.1", "169.254.169.254",
                                     "::1", "fe80::1", "fc00::1", "0.0.0.0", "::ffff:127.0.0.1",
                                     "100.64.0.1", "224.0.0.1"])
def test_private_loopback_and_metadata_addresses_are_refused(address: str) -> None:
    assert refused_address(address)


def test_public_addresses_pass() -> None:
    assert not refused_address("8.8.8.8") and not refused_address("2001:4860:4860::8888")


def test_a_loopback_host_is_refused_unless_allowed() -> None:
    with pytest.raises(UrlRefused, match="loopback"):
        asyncio.run(check_addresses("localhost", 80, UrlPolicy()))
    asyncio.run(check_addresses("localhost", 80, UrlPolicy(allow_private=True)))


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(base_s=10, max_s=100)
    for attempts, full in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (40, 100)]:
        delays = [backoff.delay(attempts) for _ in range(50)]
        assert all(full / 2 <= d <= full for d in delays)
        assert len(set(delays)) > 1

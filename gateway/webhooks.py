"""Webhooks to partners (issue 15, point 8): signing, the URL rules, and the deliverer the
server runs in its maintenance loop (gateway/maintenance.py: webhooks_forever).

Each event of the outbox (store/webhooks.py) is POSTed as JSON with
- `X-Threatmap-Event-Id`: the event's UUID (the same on every retry: deduplicate by it),
- `X-Threatmap-Timestamp`: Unix seconds when this attempt was signed,
- `X-Threatmap-Signature`: `sha256=` and the hex HMAC-SHA256 of `<timestamp>.<body>` with the
  partner's secret.
A receiver recomputes the HMAC over the raw body, compares in constant time, and refuses a
timestamp more than REPLAY_WINDOW_S away from its clock (README "Webhooks": verify()).

A 2xx answer delivers the event; anything else (another status, a redirect, which is never
followed, a timeout, a refused address) is a failed attempt, retried after an exponential
backoff with jitter until the retry window (24 h by default) has passed, then marked failed.
"""

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import random
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from psycopg_pool import AsyncConnectionPool

from store import webhooks as store_webhooks

log = logging.getLogger(__name__)

REPLAY_WINDOW_S = 300
SIGNATURE_HEADER = "X-Threatmap-Signature"
TIMESTAMP_HEADER = "X-Threatmap-Timestamp"
EVENT_HEADER = "X-Threatmap-Event-Id"


def new_secret() -> str:
    """A webhook secret: 32 random bytes, URL-safe text (shown once by the CLI)."""
    return secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, signature_header: str, body: bytes,
           now: float | None = None, window_s: int = REPLAY_WINDOW_S) -> bool:
    """What a receiver does (README "Webhooks"): the signature matches and the timestamp is
    within the replay window."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - sent) > window_s:
        return False
    return hmac.compare_digest(signature(secret, sent, body), signature_header)


@dataclass(frozen=True)
class UrlPolicy:
    allow_http: bool = False      # http:// besides https:// (tests, a local receiver)
    allow_private: bool = False   # loopback, private, link-local... targets (tests)


class UrlRefused(ValueError):
    """A webhook URL the service will not call, and why."""


def check_url(url: str, policy: UrlPolicy) -> str:
    """The URL's host, if its form is acceptable (https, or http when allowed; a host; no
    credentials); UrlRefused otherwise. Addresses are checked by check_addresses."""
    parts = urlsplit(url)
    schemes = ("https", "http") if policy.allow_http else ("https",)
    if parts.scheme not in schemes:
        raise UrlRefused(f"A webhook URL must start with {' or '.join(s + '://' for s in schemes)}.")
    if not parts.hostname:
        raise UrlRefused("A webhook URL needs a host.")
    if parts.username or parts.password:
        raise UrlRefused("A webhook URL must not carry credentials; the signature authenticates.")
    if len(url) > 2000:
        raise UrlRefused("A webhook URL is at most 2000 characters long.")
    return parts.hostname


def refused_address(address: str) -> bool:
    """Whether an address is no public internet host (SSRF: the service's own network)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified or not ip.is_global)


async def check_addresses(host: str, port: int, policy: UrlPolicy) -> None:
    """Every address the host resolves to is public, unless private targets are allowed."""
    if policy.allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise UrlRefused(f"The host {host!r} does not resolve ({error.strerror}).") from None
    _refuse_private(host, infos)


def _refuse_private(host: str, infos: list[Any]) -> None:
    for info in infos:
        if refused_address(str(info[4][0])):
            raise UrlRefused(f"The host {host!r} resolves to {info[4][0]}, a private, loopback or "
                             "reserved address: refused (THREATMAP_WEBHOOK_ALLOW_PRIVATE).")


def checked_url(url: str, policy: UrlPolicy) -> str:
    """check_url and the address check, blocking (the CLI)."""
    host = check_url(url, policy)
    parts = urlsplit(url)
    if not policy.allow_private:
        try:
            infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80),
                                       type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise UrlRefused(f"The host {host!r} does not resolve ({error.strerror}).") from None
        _refuse_private(host, infos)
    return url


@dataclass(frozen=True)
class Backoff:
    base_s: float = 30.0
    max_s: float = 3600.0
    retry_s: float = 24 * 3600.0

    def delay(self, attempts: int) -> float:
        """The wait after the attempts-th failure: base * 2^(attempts-1), capped, with jitter
        (between half and all of it, so that many events failing at once spread out)."""
        full = min(self.max_s, self.base_s * 2 ** min(attempts - 1, 30))
        return full / 2 + random.uniform(0, full / 2)


class Deliverer:
    """Sends due outbox events: a batch claimed at a time, POSTed concurrently."""

    def __init__(self, pool: AsyncConnectionPool, policy: UrlPolicy, backoff: Backoff,
                 timeout_s: float = 5.0, batch: int = 50) -> None:
        self.pool = pool
        self.policy = policy
        self.backoff = backoff
        self.timeout_s = timeout_s
        self.batch = batch
        self.client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False,
                                        headers={"User-Agent": "threatmap-webhooks/1"})

    async def close(self) -> None:
        await self.client.aclose()

    async def deliver_due(self) -> int:
        """Sends the events due now (one batch); returns how many were tried."""
        # The lease outlasts an attempt (the address check and the POST), so no other process
        # takes an event while it is in flight.
        events = await store_webhooks.claim_due(self.pool, self.batch, 3 * self.timeout_s + 10)
        await asyncio.gather(*(self._deliver(event) for event in events))
        return len(events)

    async def _deliver(self, event: dict[str, Any]) -> None:
        body = json.dumps(event["payload"], separators=(",", ":"), ensure_ascii=False).encode()
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            host = check_url(event["url"], self.policy)
            parts = urlsplit(event["url"])
            await check_addresses(host, parts.port or (443 if parts.scheme == "https" else 80),
                                  self.policy)
            timestamp = int(time.time())
            answer = await self.client.post(event["url"], content=body, headers={
                "Content-Type": "application/json", EVENT_HEADER: str(event["event_id"]),
                TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: signature(event["secret"], timestamp, body)})
            status = answer.status_code
            if answer.is_redirect:
                error = "redirect not followed"
            elif not answer.is_success:
                error = f"HTTP {status}"
        except UrlRefused as refused:
            error = f"refused: {refused}"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
        duration_ms = int((time.monotonic() - started) * 1000)
        delivered = error is None
        state = await store_webhooks.record(
            self.pool, event["id"], event["url"], delivered, status, error, duration_ms,
            0 if delivered else self.backoff.delay(event["attempts"] + 1), self.backoff.retry_s)
        if state == "failed":
            log.warning("webhook event %s failed for good after %d attempts: %s",
                        event["event_id"], event["attempts"] + 1, error)
        elif error:
            log.info("webhook event %s: attempt %d failed (%s)", event["event_id"],
                     event["attempts"] + 1, error)

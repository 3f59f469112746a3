"""Partners and their API keys (issue 15, point 5): local governments, NGOs, municipal guards and
partner platforms that submit reports (Open311, the bulk ingest) and read back their own.

A key is `tm_` + 8 random characters (its prefix, kept in clear to show admins which key is
which and to find its row) + `_` + a random 32-byte token (43 URL-safe characters). Only the
SHA-256 of the whole key is stored. A slow password hash (bcrypt, argon2) exists to make guessing
a *low-entropy* secret from its hash expensive; a 256-bit random token cannot be guessed whatever
the hash costs, so one SHA-256 is enough, and it keeps the check cheap on every partner request.
The stored hash is compared with `hmac.compare_digest` (constant time), so the time of an answer
says nothing about how much of a guessed key was right.

The admin functions (the `threatmap partner` command) take a synchronous connection and commit
nothing themselves; `partner_for_key` takes an async one (the doors).
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row

KINDS = ("ngo", "local_government", "municipal_guard", "platform")
# A partner's reports carry its kind as their source (core.report_sources(), migration 0013):
# a platform's is the 'partner_platform' source that existed before partners did.
SOURCE_BY_KIND = {"ngo": "ngo", "local_government": "local_government",
                  "municipal_guard": "municipal_guard", "platform": "partner_platform"}
KEY_PREFIX = "tm_"
PREFIX_LENGTH = len(KEY_PREFIX) + 8


@dataclass(frozen=True)
class Partner:
    id: int
    name: str
    kind: str
    key_id: int | None = None   # the key the partner was found by (partner_for_key)

    @property
    def source(self) -> str:
        """The `source` of the partner's reports."""
        return SOURCE_BY_KIND[self.kind]


class PartnerError(ValueError):
    """A partner command that cannot be done (unknown kind, partner or key); the message says why."""


def new_key() -> str:
    """A fresh API key: `tm_<8 characters>_<43 characters>`."""
    prefix = secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")   # 8 characters
    return f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


def key_hash(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def key_prefix(key: str) -> str | None:
    """The displayed, looked-up part of a key; None when the text cannot be one of our keys."""
    if not key.startswith(KEY_PREFIX) or len(key) < PREFIX_LENGTH + 2 or key[PREFIX_LENGTH] != "_":
        return None
    return key[:PREFIX_LENGTH]


ADD_PARTNER_SQL = "INSERT INTO core.partners (name, kind) VALUES (%s, %s) RETURNING id"
ADD_KEY_SQL = """
INSERT INTO core.partner_keys (partner_id, hash, prefix) VALUES (%s, %s, %s) RETURNING id
"""
PARTNER_EXISTS_SQL = "SELECT active FROM core.partners WHERE id = %s"
REVOKE_KEY_SQL = """
UPDATE core.partner_keys SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL RETURNING id
"""
KEY_EXISTS_SQL = "SELECT 1 FROM core.partner_keys WHERE id = %s"
LIST_SQL = """
SELECT p.id, p.name, p.kind, p.active, p.created_at,
       coalesce(json_agg(json_build_object(
           'id', k.id, 'prefix', k.prefix, 'created_at', k.created_at, 'revoked_at', k.revoked_at,
           'last_used_at', k.last_used_at) ORDER BY k.id) FILTER (WHERE k.id IS NOT NULL), '[]')
           AS keys
FROM core.partners AS p LEFT JOIN core.partner_keys AS k ON k.partner_id = p.id
GROUP BY p.id ORDER BY p.id
"""
SET_ACTIVE_SQL = "UPDATE core.partners SET active = %s WHERE id = %s RETURNING id"
BY_PREFIX_SQL = """
SELECT k.id AS key_id, k.hash, p.id, p.name, p.kind
FROM core.partner_keys AS k JOIN core.partners AS p ON p.id = k.partner_id
WHERE k.prefix = %s AND k.revoked_at IS NULL AND p.active
"""
# Written at most once a minute per key: a partner's every request would otherwise be a write.
TOUCH_SQL = """
UPDATE core.partner_keys SET last_used_at = now()
WHERE id = %s AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
"""


def add_partner(conn: psycopg.Connection, name: str, kind: str) -> tuple[int, str]:
    """Registers a partner with its first key: (partner id, the key, to be shown once)."""
    name = name.strip()
    if kind not in KINDS:
        raise PartnerError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not 1 <= len(name) <= 200:
        raise PartnerError("a partner's name has 1 to 200 characters")
    row = conn.execute(ADD_PARTNER_SQL, [name, kind]).fetchone()
    assert row is not None
    return row[0], issue_key(conn, row[0])


def issue_key(conn: psycopg.Connection, partner_id: int) -> str:
    """A new key for the partner (its other keys stay valid); the key, to be shown once."""
    if conn.execute(PARTNER_EXISTS_SQL, [partner_id]).fetchone() is None:
        raise PartnerError(f"there is no partner {partner_id}")
    key = new_key()
    conn.execute(ADD_KEY_SQL, [partner_id, key_hash(key), key_prefix(key)])
    return key


def revoke_key(conn: psycopg.Connection, key_id: int) -> bool:
    """Revokes a key at once; False when it was revoked already."""
    if conn.execute(KEY_EXISTS_SQL, [key_id]).fetchone() is None:
        raise PartnerError(f"there is no key {key_id}")
    return conn.execute(REVOKE_KEY_SQL, [key_id]).fetchone() is not None


def set_active(conn: psycopg.Connection, partner_id: int, active: bool) -> None:
    """Suspends (or restores) a partner: none of its keys is accepted while it is inactive."""
    if conn.execute(SET_ACTIVE_SQL, [active, partner_id]).fetchone() is None:
        raise PartnerError(f"there is no partner {partner_id}")


def list_partners(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every partner with its keys (id, prefix, created_at, revoked_at, last_used_at); no hashes."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(LIST_SQL).fetchall()


async def partner_for_key(conn: AsyncConnection, key: str) -> Partner | None:
    """The active partner a valid, unrevoked key belongs to, or None.

    The row is found by the key's clear prefix; the hash is then compared in constant time
    (module docstring). Records when the key was last used (at most once a minute)."""
    prefix = key_prefix(key)
    if prefix is None or len(key) > 200:
        return None
    digest = key_hash(key)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(BY_PREFIX_SQL, [prefix])
        rows = await cur.fetchall()
    found = None
    for row in rows:   # almost always one; every row is compared, whichever matches
        if hmac.compare_digest(bytes(row["hash"]), digest):
            found = row
    if found is None:
        return None
    await conn.execute(TOUCH_SQL, [found["key_id"]])
    return Partner(id=found["id"], name=found["name"], kind=found["kind"], key_id=found["key_id"])


def describe(partner: dict[str, Any]) -> str:
    """One partner and its keys as lines of text (`threatmap partner list`)."""
    def when(value: Any) -> str:
        if value is None:
            return "-"
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        return moment.strftime("%Y-%m-%d %H:%M")

    state = "" if partner["active"] else " (inactive)"
    lines = [f"{partner['id']}\t{partner['kind']}\t{partner['name']}{state}"]
    for key in partner["keys"]:
        revoked = f", revoked {when(key['revoked_at'])}" if key["revoked_at"] else ""
        lines.append(f"\tkey {key['id']}\t{key['prefix']}…\tcreated {when(key['created_at'])}, "
                     f"last used {when(key['last_used_at'])}{revoked}")
    return "\n".join(lines)

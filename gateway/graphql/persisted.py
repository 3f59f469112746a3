"""Automatic persisted queries (Apollo's APQ protocol): a client sends the SHA-256 of its query
in `extensions.persistedQuery = {"version": 1, "sha256Hash": "..."}`; unknown, it gets
PERSISTED_QUERY_NOT_FOUND and sends the query with the hash once, after which a GET with the
hash alone (small, cacheable by a CDN) runs it.

The store is a bounded in-memory LRU of this process by default: with several processes each
keeps its own, and a client may be asked for the query once per process. With
THREATMAP_PERSISTED_QUERIES_URL (redis://...) every process shares one store in Redis
(`RedisPersistedQueries`), each text kept a while after its last use.
A stored text is only a query: it passes every limit (size, depth, tokens, text) on each use,
and a text is stored only once it has been parsed and validated. The hash is checked against
the text, so no client can store a text under another text's hash.
"""

import hashlib
import logging
import re
from collections import OrderedDict
from typing import Any

from gateway.graphql.errors import ApiError, BadInput

log = logging.getLogger(__name__)

HASH = re.compile(r"[0-9a-f]{64}")


class PersistedQueryNotFound(ApiError):
    code = "PERSISTED_QUERY_NOT_FOUND"

    def __init__(self) -> None:
        # The message is the protocol's: Apollo clients match it as well as the code.
        super().__init__("PersistedQueryNotFound")


class PersistedQueryNotSupported(ApiError):
    code = "PERSISTED_QUERY_NOT_SUPPORTED"

    def __init__(self) -> None:
        super().__init__("PersistedQueryNotSupported")


def persisted_hash(extensions: dict[str, Any] | None) -> str | None:
    """The hash a request names, None if it names none; BadInput if the extension is malformed."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise BadInput("extensions.persistedQuery must be {\"version\": 1, \"sha256Hash\": \"...\"}.")
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not HASH.fullmatch(digest):
        raise BadInput("extensions.persistedQuery.sha256Hash must be the query's SHA-256 as 64 "
                       "lowercase hexadecimal digits.")
    return digest


def sha256(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()


class PersistedQueries:
    """query texts by hash, at most `size` of them, the least recently used dropped first
    (this process's own)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._queries: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._queries)

    async def get(self, digest: str) -> str | None:
        query = self._queries.get(digest)
        if query is not None:
            self._queries.move_to_end(digest)
        return query

    async def put(self, digest: str, query: str) -> None:
        self._queries[digest] = query
        self._queries.move_to_end(digest)
        while len(self._queries) > self.size:
            self._queries.popitem(last=False)


class RedisPersistedQueries:
    """query texts by hash in Redis, shared by every process; each kept `ttl_s` after its last
    use (Redis's maxmemory policy bounds the total; `size` 0 still turns APQ off). A Redis that
    does not answer is a miss on get and nothing on put: the client sends its query again, as
    the protocol expects."""

    KEY_PREFIX = "threatmap:apq:"

    def __init__(self, url: str, size: int, ttl_s: int) -> None:
        import redis.asyncio

        self.size = size
        self.ttl_s = ttl_s
        self._redis = redis.asyncio.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0,
                                                   decode_responses=True)

    async def get(self, digest: str) -> str | None:
        import redis

        try:
            return await self._redis.getex(self.KEY_PREFIX + digest, ex=self.ttl_s)
        except redis.RedisError as error:
            log.warning("persisted queries: Redis does not answer (%s)", error)
            return None

    async def put(self, digest: str, query: str) -> None:
        import redis

        try:
            await self._redis.set(self.KEY_PREFIX + digest, query, ex=self.ttl_s)
        except redis.RedisError as error:
            log.warning("persisted queries: Redis does not answer (%s)", error)

    async def close(self) -> None:
        await self._redis.aclose()


def persisted_queries(size: int, url: str | None, ttl_s: int) -> "PersistedQueries | RedisPersistedQueries":
    """The store the settings name: Redis when a URL is given, else this process's LRU."""
    if url:
        return RedisPersistedQueries(url, size, ttl_s)
    return PersistedQueries(size)

"""The bridge between pygeoapi's synchronous providers and the app's asynchronous public pool.

pygeoapi builds a provider per request from its configuration dict and calls it in a worker
thread; it cannot be handed objects. So the `data` of each provider names a `PublicDatabase`
registered here by the OGC start-up, and the provider runs its query on the app's own event loop
and pool (role threatmap_public: SELECT on schema `open` only, read-only, statement timeout).
"""

import asyncio
import itertools
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql
from psycopg_pool import AsyncConnectionPool

# What a column's type is in JSON Schema (queryables, schema); anything else is a string.
JSON_TYPES = {
    "integer": ("integer", None), "bigint": ("integer", None), "smallint": ("integer", None),
    "double precision": ("number", None), "real": ("number", None), "numeric": ("number", None),
    "boolean": ("boolean", None), "date": ("string", "date"), "uuid": ("string", "uuid"),
    "timestamp with time zone": ("string", "date-time"),
}

COLUMNS_SQL = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute AS a
WHERE a.attrelid = to_regclass(%(relation)s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

_registry: dict[str, "PublicDatabase"] = {}
_keys = itertools.count(1)


@dataclass
class PublicDatabase:
    pool: AsyncConnectionPool
    loop: asyncio.AbstractEventLoop
    key: str = field(default_factory=lambda: f"threatmap-open-{next(_keys)}")
    columns: dict[str, dict[str, str]] = field(default_factory=dict)

    def run[T](self, work: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Runs a coroutine on the app's loop from a pygeoapi worker thread; past `timeout`
        it is cancelled (not left running on the loop) and TimeoutError raised."""
        future = asyncio.run_coroutine_threadsafe(work, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    async def load_columns(self, relations: list[str]) -> None:
        """Column names and types of each relation in schema `open`, read once at start-up."""
        async with self.pool.connection() as conn:
            for relation in relations:
                qualified = sql.Identifier("open", relation).as_string(conn)
                cursor = await conn.execute(COLUMNS_SQL, {"relation": qualified})
                rows = await cursor.fetchall()
                if not rows:
                    raise RuntimeError(f"OGC collection relation open.{relation} does not exist")
                self.columns[relation] = dict(rows)


def register(database: PublicDatabase) -> None:
    _registry[database.key] = database


def unregister(database: PublicDatabase) -> None:
    _registry.pop(database.key, None)


def lookup(key: str) -> PublicDatabase:
    try:
        return _registry[key]
    except KeyError:
        raise LookupError(f"no public database registered as {key!r}") from None

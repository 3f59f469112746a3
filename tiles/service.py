"""The tile engine: renders tiles in the database, caches them by data version, and follows
the public layer's changes over LISTEN so a cache hit needs no query at all."""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg_pool import AsyncConnectionPool

from store.catalogue import Catalogue, load_catalogue, load_workflow
from tiles.cache import TileBody, TileCache
from tiles.filters import TileFilters
from tiles.grid import TileAddress, density_level
from tiles.queries import tile_statement

log = logging.getLogger(__name__)

CHANNEL = "threatmap_open_changed"
READ_STATE = """
SELECT (SELECT version FROM open.data_version), (SELECT density_cell_m FROM open.privacy_policy)
"""
RECONNECT_S = (0.5, 1, 2, 5, 10)


@dataclass(frozen=True)
class TileConfig:
    cache_bytes: int = 64 * 2**20
    max_age_s: int = 60
    max_zoom: int = 16


class TileService:
    def __init__(self, config_dir: Path, config: TileConfig | None = None) -> None:
        self.config = config or TileConfig()
        self.catalogue: Catalogue = load_catalogue(config_dir)
        self.category_ids = frozenset(c.id for c in self.catalogue.categories)
        self.status_ids = frozenset(s.id for s in load_workflow(config_dir).statuses)
        self.cache = TileCache(self.config.cache_bytes)
        self.levels: list[int] = [1000, 2000, 4000, 8000, 16000, 32000, 64000]
        self._pool: AsyncConnectionPool | None = None
        self._listen_url: str | None = None
        self._version: int | None = None        # as last seen by the listener
        self._listening = asyncio.Event()
        self._listener: asyncio.Task | None = None
        self._inflight: dict[tuple, asyncio.Future] = {}

    # -- life cycle -------------------------------------------------------------------------
    async def start(self, pool: AsyncConnectionPool, listen_url: str) -> None:
        self._pool = pool
        self._listen_url = listen_url
        async with pool.connection() as conn:
            self._version, self.levels = await (await conn.execute(READ_STATE)).fetchone()
        self._listener = asyncio.create_task(self._listen_forever(), name="tiles-listen")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), 5)

    async def stop(self) -> None:
        if self._listener:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener

    async def _listen_forever(self) -> None:
        attempt = 0
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self._listen_url, autocommit=True, application_name="threatmap-tiles-listen")
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    # Read after LISTEN: no change can fall between the read and the first note.
                    self._apply(*await (await conn.execute(READ_STATE)).fetchone())
                    self._listening.set()
                    attempt = 0
                    async for note in conn.notifies():
                        if note.payload.isdigit():
                            self._apply(int(note.payload), None)
                            if self.cache.version is not None and self._version > self.cache.version:
                                self.cache.clear()
            except (psycopg.Error, OSError) as error:
                log.warning("tile change listener lost its connection (%s); reconnecting", error)
            self._listening.clear()
            await asyncio.sleep(RECONNECT_S[min(attempt, len(RECONNECT_S) - 1)])
            attempt += 1

    def _apply(self, version: int, levels: list[int] | None) -> None:
        if self._version is None or version > self._version:
            self._version = version
        if levels:
            self.levels = levels

    # -- reading ------------------------------------------------------------------------------
    async def version(self) -> int:
        """The public layer's current version: the listener's, or a query while it is down."""
        if self._listening.is_set() and self._version is not None:
            return self._version
        async with self._pool.connection() as conn:
            version, levels = await (await conn.execute(READ_STATE)).fetchone()
        self._apply(version, levels)
        return version

    async def tile(self, address: TileAddress, filters: TileFilters) -> TileBody:
        key = (address.z, address.x, address.y, filters.key)
        version = await self.version()
        cached = self.cache.get(key, version)
        if cached is not None:
            return cached
        if not address.touches_data():
            return TileBody(version, b"")
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            body = await self._render(address, filters)
            future.set_result(body)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waits
            raise
        finally:
            del self._inflight[key]
        self.cache.put(key, body)
        return body

    def note_gzipped(self, address: TileAddress, filters: TileFilters) -> None:
        self.cache.resize((address.z, address.x, address.y, filters.key))

    async def _render(self, address: TileAddress, filters: TileFilters) -> TileBody:
        statement, params = tile_statement(address, filters, density_level(address.z, self.levels))
        async with self._pool.connection() as conn, conn.transaction():
            # JIT compiles for 100+ ms when a plan looks big; a tile query never gains from it.
            await conn.execute("SET LOCAL jit = off")
            version, data = await (await conn.execute(statement, params)).fetchone()
        self._apply(version, None)
        return TileBody(version, bytes(data))

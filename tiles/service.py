"""The tile engine: renders tiles in the database, caches them, and follows the public layer's
changes over LISTEN, so a cache hit needs no query at all and a change evicts only the tiles
it touches (tiles.changes).

Correctness of the cache rests on three rules:
- a change note evicts every cached tile it touches, all zooms, all filter variants; a bare
  version with no note (categories, privacy policy, truncation) or a note naming an unknown
  area evicts everything;
- a tile rendered from a snapshot older than the changes already applied is cached only if
  none of the changes since its snapshot touches it (a short log of recent changes says so);
- while the listener is down nothing is read from or written to the cache, and it is emptied
  when the listener is back (changes may have been missed meanwhile).

The listener is store.notify's (connect timeout, idle check, backoff); it calls this service in
its own task, in order: on each (re)connection before it counts as listening, on each notice.
"""

import asyncio
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg_pool import AsyncConnectionPool

from store.catalogue import Catalogue, load_catalogue, load_statistic_kinds, load_workflow
from store.channels import OPEN_CHANGED, OPEN_TILES
from store.notify import ChannelListener
from store.privacy import DENSITY_CELLS_M
from tiles.addresses import TileAddress, density_level
from tiles.cache import CacheKey, TileBody, TileCache
from tiles.changes import Box, Change, ChangeGeometry, parse_note
from tiles.filters import TileFilters
from tiles.queries import tile_statement

LISTENER_NAME = "threatmap-tiles-listen"   # its application_name in pg_stat_activity
READ_STATE = """
SELECT (SELECT version FROM open.data_version), (SELECT density_cell_m FROM open.privacy_policy)
"""
READ_AREAS = """
SELECT code, level, ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)
FROM (SELECT code, level, Box2D(geom_3857) AS b FROM open.areas) AS boxes
"""
CHANGE_LOG = 512   # recent changes kept to judge tiles rendered from slightly older snapshots


@dataclass(frozen=True)
class TileConfig:
    cache_bytes: int = 64 * 2**20
    max_age_s: int = 60
    max_zoom: int = 16
    listen_retry_s: tuple[float, float] = (0.5, 10.0)   # the listener's first and longest pause


class TileService:
    def __init__(self, config_dir: Path, config: TileConfig | None = None) -> None:
        self.config = config or TileConfig()
        self.catalogue: Catalogue = load_catalogue(config_dir)
        self.category_ids = frozenset(c.id for c in self.catalogue.categories)
        self.status_ids = frozenset(s.id for s in load_workflow(config_dir).statuses)
        # the kinds of police statistics a tile's stat= may name
        self.kind_ids = frozenset(k["id"] for k in load_statistic_kinds(config_dir))
        self.cache = TileCache(self.config.cache_bytes)
        self.levels: list[int] = list(DENSITY_CELLS_M)
        self.geometry = ChangeGeometry(self.levels, {}, self.config.max_zoom)
        self.renders = 0                          # tiles made in the database
        self._pool: AsyncConnectionPool | None = None
        self.listener: ChannelListener | None = None   # follows the changes of `open` once started
        self._version: int | None = None          # the newest version whose change is applied
        self._log: deque[Change] = deque(maxlen=CHANGE_LOG)
        self._since = 0                           # the version the listener (re)started from
        self._placed: dict[int, Change] = {}      # notes waiting for their bare version
        self._inflight: dict[CacheKey, asyncio.Future] = {}

    # -- life cycle -------------------------------------------------------------------------
    async def start(self, pool: AsyncConnectionPool, listen_url: str) -> None:
        self._pool = pool
        async with pool.connection() as conn:
            self._version, levels = await (await conn.execute(READ_STATE)).fetchone()
            rows = await (await conn.execute(READ_AREAS)).fetchall()
        boxes: dict[str, tuple[str, Box]] = {code: (level, (x0, y0, x1, y1))
                                            for code, level, x0, y0, x1, y1 in rows}
        self._set_geometry(levels, boxes)
        self.listener = ChannelListener(
            listen_url, (OPEN_TILES, OPEN_CHANGED), application_name=LISTENER_NAME,
            retry_s=self.config.listen_retry_s, on_connect=self._connected, on_notice=self.receive)
        await self.listener.start(timeout=5)

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.stop()   # no longer following changes: the cache is not trusted

    def _set_geometry(self, levels: list[int] | None, boxes: dict[str, tuple[str, Box]] | None
                      ) -> None:
        if levels:
            self.levels = levels
        self.geometry = ChangeGeometry(self.levels, self.geometry.area_boxes if boxes is None else boxes,
                                       self.config.max_zoom)

    async def _connected(self, conn: psycopg.AsyncConnection) -> None:
        """(Re)connected, LISTEN done: read the state now, so no change can fall between the
        read and the first note."""
        version, levels = await (await conn.execute(READ_STATE)).fetchone()
        self.resync(version, levels)

    # The listener's steps, public so that the cache's rules can be driven and checked without
    # a database (tests/test_tiles_service.py).
    def resync(self, version: int, levels: list[int] | None) -> None:
        """(Re)connected at `version`: changes may have been missed, so nothing cached is
        trusted."""
        self.cache.clear()
        self._log.clear()
        self._placed.clear()
        self._version = version
        self._since = version
        if levels and levels != self.levels:
            self._set_geometry(levels, None)

    def receive(self, channel: str, payload: str) -> None:
        """One notification: a change note (OPEN_TILES) is kept until its bare version
        (OPEN_CHANGED) arrives, which applies it."""
        if channel == OPEN_TILES:
            change = parse_note(payload)
            if change is not None:
                self._placed[change.version] = change
        elif channel == OPEN_CHANGED and payload.isdigit():
            self._apply(int(payload))

    def _apply(self, version: int) -> None:
        change = self._placed.pop(version, None) or Change(version, everything=True)
        if change.everything or not self.geometry.knows_all_areas(change):
            self.cache.clear()
            change = Change(version, everything=True)
        else:
            self.cache.evict(self.geometry.ranges(change))
        self._log.append(change)
        if self._version is None or version > self._version:
            self._version = version

    def cacheable(self, key: CacheKey, body: TileBody) -> bool:
        """May a tile made from snapshot body.version be cached, given the changes applied?"""
        if self._version is None or body.version >= self._version:
            return True   # changes newer than the snapshot evict it when their notes arrive
        if body.version < self._since:
            return False  # from before the listener (re)connected: changes may be unknown
        since = [c for c in self._log if c.version > body.version]
        if {c.version for c in since} != set(range(body.version + 1, self._version + 1)):
            return False  # the log does not hold every change since the snapshot
        z, x, y, _ = key
        return not any(self.geometry.touches(c, z, x, y) for c in since)

    # -- reading ------------------------------------------------------------------------------
    @property
    def version(self) -> int | None:
        """The newest data version whose change the cache has applied (None before start)."""
        return self._version

    @property
    def synced(self) -> bool:
        """Whether the cache can be trusted: the listener is up and has read the state."""
        return (self.listener is not None and self.listener.listening.is_set()
                and self._version is not None)

    def cached(self, address: TileAddress, filters: TileFilters) -> TileBody | None:
        """The cached tile, if there is one that can be trusted now."""
        if not self.synced:
            return None
        return self.cache.get((address.z, address.x, address.y, filters.key))

    async def tile(self, address: TileAddress, filters: TileFilters) -> TileBody:
        cached = self.cached(address, filters)
        if cached is not None:
            return cached
        key = (address.z, address.x, address.y, filters.key)
        if not address.touches_data():
            return TileBody(self._version or 0, b"")
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
        if self.synced and self.cacheable(key, body):
            self.cache.put(key, body)
        return body

    def note_gzipped(self, address: TileAddress, filters: TileFilters) -> None:
        self.cache.resize((address.z, address.x, address.y, filters.key))

    async def _render(self, address: TileAddress, filters: TileFilters) -> TileBody:
        statement, params = tile_statement(address, filters, density_level(address.z, self.levels))
        self.renders += 1
        async with self._pool.connection() as conn, conn.transaction():
            # JIT compiles for 100+ ms when a plan looks big; a tile query never gains from it.
            await conn.execute("SET LOCAL jit = off")
            version, data = await (await conn.execute(statement, params)).fetchone()
        return TileBody(version, bytes(data))

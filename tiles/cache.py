"""A least-recently-used cache of tiles, bounded in bytes, evicted tile by tile as the public
layer changes (tiles.changes says which tiles a change touches)."""

import gzip
import hashlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from tiles.changes import TileRange

ENTRY_OVERHEAD = 200  # bytes of bookkeeping counted per entry, so empty tiles are not free

CacheKey = tuple[int, int, int, str]   # z, x, y, the filters' canonical key


@dataclass
class TileBody:
    version: int          # the data version of the snapshot the tile was made from
    raw: bytes
    etag: str = field(init=False)
    _gzip: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # The validator is the content itself: equal bytes, equal tag; whatever kept or
        # evicted the tile, a 304 can only confirm the bytes the client already holds.
        self.etag = hashlib.blake2b(self.raw, digest_size=8).hexdigest()

    @property
    def has_gzip(self) -> bool:
        return self._gzip is not None

    @property
    def gzipped(self) -> bytes:
        if self._gzip is None:
            self._gzip = gzip.compress(self.raw, compresslevel=6, mtime=0)
        return self._gzip

    @property
    def size(self) -> int:
        return ENTRY_OVERHEAD + len(self.raw) + (len(self._gzip) if self._gzip else 0)


class TileCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[CacheKey, TileBody] = OrderedDict()
        self._sizes: dict[CacheKey, int] = {}
        # zoom -> (x, y) -> filter keys cached there: evicting a tile finds all its variants
        self._tiles: dict[int, dict[tuple[int, int], set[str]]] = {}
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self.evicted = 0      # entries dropped because the data under them changed
        self.pushed_out = 0   # entries dropped for room (least recently used first)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: CacheKey) -> bool:
        return key in self._entries

    def get(self, key: CacheKey) -> TileBody | None:
        body = self._entries.get(key)
        if body is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return body

    def put(self, key: CacheKey, body: TileBody) -> None:
        if self.max_bytes <= 0:
            return
        self._discard(key)
        self._entries[key] = body
        self._sizes[key] = body.size
        self._tiles.setdefault(key[0], {}).setdefault((key[1], key[2]), set()).add(key[3])
        self.bytes += body.size
        self._evict()

    def resize(self, key: CacheKey) -> None:
        """Accounts for a body that grew (its gzip form was made after it was cached)."""
        body = self._entries.get(key)
        if body is not None:
            self.bytes += body.size - self._sizes[key]
            self._sizes[key] = body.size
            self._evict()

    def evict(self, ranges: Iterable[TileRange]) -> int:
        """Drops every cached variant of every tile in the ranges; returns how many."""
        dropped = 0
        for r in ranges:
            at_zoom = self._tiles.get(r.z)
            if not at_zoom:
                continue
            if len(r) <= len(at_zoom):
                hit = [(x, y) for x in r.xs for y in r.ys if (x, y) in at_zoom]
            else:
                hit = [xy for xy in at_zoom if xy in r]
            for x, y in hit:
                for filters in list(at_zoom.get((x, y), ())):
                    self._discard((r.z, x, y, filters))
                    dropped += 1
        self.evicted += dropped
        return dropped

    def clear(self) -> None:
        self.evicted += len(self._entries)
        self._entries.clear()
        self._sizes.clear()
        self._tiles.clear()
        self.bytes = 0

    def _discard(self, key: CacheKey) -> None:
        if key in self._entries:
            del self._entries[key]
            self.bytes -= self._sizes.pop(key)
            self._unindex(key)

    def _unindex(self, key: CacheKey) -> None:
        z, x, y, filters = key
        at_zoom = self._tiles[z]
        variants = at_zoom[(x, y)]
        variants.discard(filters)
        if not variants:
            del at_zoom[(x, y)]
            if not at_zoom:
                del self._tiles[z]

    def _evict(self) -> None:
        while self.bytes > self.max_bytes and self._entries:
            key, _ = self._entries.popitem(last=False)
            self.pushed_out += 1
            self.bytes -= self._sizes.pop(key)
            self._unindex(key)

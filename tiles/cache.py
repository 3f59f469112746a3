"""A least-recently-used cache of tiles, bounded in bytes, for one data version at a time."""

import gzip
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field

ENTRY_OVERHEAD = 200  # bytes of bookkeeping counted per entry, so empty tiles are not free


@dataclass
class TileBody:
    version: int
    raw: bytes
    _gzip: bytes | None = field(default=None, repr=False)

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
        self.version: int | None = None
        self._entries: OrderedDict[Hashable, TileBody] = OrderedDict()
        self._sizes: dict[Hashable, int] = {}
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, version: int) -> TileBody | None:
        if version != self.version:
            self.misses += 1
            return None
        body = self._entries.get(key)
        if body is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return body

    def put(self, key: Hashable, body: TileBody) -> None:
        if self.max_bytes <= 0:
            return
        if self.version is None or body.version > self.version:
            self.clear()
            self.version = body.version
        elif body.version < self.version:
            return  # rendered from an older snapshot than the cache holds: not worth keeping
        self._discard(key)
        self._entries[key] = body
        self._sizes[key] = body.size
        self.bytes += body.size
        self._evict()

    def resize(self, key: Hashable) -> None:
        """Accounts for a body that grew (its gzip form was made after it was cached)."""
        body = self._entries.get(key)
        if body is not None:
            self.bytes += body.size - self._sizes[key]
            self._sizes[key] = body.size
            self._evict()

    def clear(self) -> None:
        self._entries.clear()
        self._sizes.clear()
        self.bytes = 0

    def _discard(self, key: Hashable) -> None:
        if key in self._entries:
            del self._entries[key]
            self.bytes -= self._sizes.pop(key)

    def _evict(self) -> None:
        while self.bytes > self.max_bytes and self._entries:
            key, _ = self._entries.popitem(last=False)
            self.bytes -= self._sizes.pop(key)

"""tiles.cache: the tile bodies (ETag, gzip) and the least-recently-used cache bounded in bytes,
evicted tile by tile. No database."""

import gzip

from tiles.cache import ENTRY_OVERHEAD, TileBody, TileCache
from tiles.changes import TileRange


def body(size: int = 100, version: int = 1, fill: bytes = b"t") -> TileBody:
    return TileBody(version, fill * size)


# -- bodies -------------------------------------------------------------------------------------
def test_the_etag_is_the_content_whatever_the_version() -> None:
    assert TileBody(1, b"a").etag == TileBody(7, b"a").etag != TileBody(1, b"b").etag


def test_gzip_is_made_once_on_demand_and_is_deterministic() -> None:
    raw = b"a tile " * 200
    first, second = TileBody(1, raw), TileBody(1, raw)
    assert not first.has_gzip and first.size == ENTRY_OVERHEAD + len(raw)
    packed = first.gzipped
    assert first.has_gzip and gzip.decompress(packed) == raw
    assert first.gzipped is packed                       # kept, not made again
    assert second.gzipped == packed                      # no timestamp in the header
    assert first.size == ENTRY_OVERHEAD + len(raw) + len(packed)


def test_an_empty_tile_is_not_free() -> None:
    assert TileBody(1, b"").size == ENTRY_OVERHEAD > 0


# -- bounded, least recently used ---------------------------------------------------------------
def test_cache_is_bounded_in_bytes_and_evicts_tile_by_tile() -> None:
    cache = TileCache(max_bytes=10_000)
    for i in range(20):
        cache.put((16, i, 0, ""), TileBody(1, bytes(1000)))
    assert cache.bytes <= 10_000 and len(cache) < 20
    assert cache.get((16, 19, 0, "")) is not None and cache.get((16, 0, 0, "")) is None
    cache = TileCache(max_bytes=10**6)
    for z, x, y, filters in [(5, 17, 10, ""), (5, 17, 10, "categories=speeding"), (5, 18, 10, ""),
                             (6, 35, 21, "")]:
        cache.put((z, x, y, filters), TileBody(1, f"{z}/{x}/{y}?{filters}".encode()))
    assert cache.evict([TileRange(5, range(16, 18), range(9, 12))]) == 2  # both variants of 5/17/10
    assert (5, 17, 10, "") not in cache and (5, 17, 10, "categories=speeding") not in cache
    assert (5, 18, 10, "") in cache and (6, 35, 21, "") in cache
    assert cache.evict([TileRange(6, range(0, 64), range(0, 64))]) == 1  # a wide range, few entries
    assert len(cache) == 1
    assert TileBody(1, b"a").etag == TileBody(7, b"a").etag != TileBody(1, b"b").etag


def test_a_read_keeps_a_tile_in_and_the_least_recently_used_goes_first() -> None:
    one = body().size
    cache = TileCache(max_bytes=3 * one)
    for x in range(3):
        cache.put((14, x, 0, ""), body())
    assert cache.get((14, 0, 0, "")) is not None     # 0 is now the most recently used
    cache.put((14, 3, 0, ""), body())
    assert (14, 1, 0, "") not in cache               # the least recently used went
    assert all((14, x, 0, "") in cache for x in (0, 2, 3))
    assert cache.bytes == 3 * one


def test_hits_and_misses_are_counted() -> None:
    cache = TileCache(max_bytes=10**6)
    cache.put((3, 1, 1, ""), body())
    cache.get((3, 1, 1, ""))
    cache.get((3, 1, 1, ""))
    cache.get((3, 1, 2, ""))
    assert (cache.hits, cache.misses) == (2, 1)


def test_putting_a_key_again_replaces_it_and_counts_its_bytes_once() -> None:
    cache = TileCache(max_bytes=10**6)
    cache.put((3, 1, 1, ""), body(100))
    cache.put((3, 1, 1, ""), body(300, version=2))
    assert len(cache) == 1 and cache.bytes == body(300).size
    assert cache.get((3, 1, 1, "")).version == 2
    assert cache.evict([TileRange(3, range(1, 2), range(1, 2))]) == 1
    assert cache.bytes == 0 and len(cache) == 0


def test_a_cache_of_no_bytes_keeps_nothing() -> None:
    cache = TileCache(max_bytes=0)
    cache.put((3, 1, 1, ""), body())
    assert len(cache) == 0 and cache.bytes == 0 and cache.get((3, 1, 1, "")) is None


def test_a_tile_larger_than_the_cache_is_not_kept() -> None:
    cache = TileCache(max_bytes=500)
    cache.put((3, 1, 1, ""), body(1000))
    assert len(cache) == 0 and cache.bytes == 0


def test_resize_counts_a_gzip_made_after_caching_and_evicts_to_stay_within_bounds() -> None:
    raw = bytes(range(256)) * 8
    probe = TileBody(1, raw)
    probe.gzipped                                        # noqa: B018 (made on demand)
    grown, small = TileBody(1, raw), TileBody(1, b"x" * 100)
    cache = TileCache(max_bytes=probe.size + small.size - 1)   # both fit until the gzip is made
    cache.put((9, 0, 0, ""), small)
    cache.put((9, 1, 0, ""), grown)
    before = cache.bytes
    grown.gzipped                                        # noqa: B018 (made on demand)
    cache.resize((9, 1, 0, ""))
    assert (9, 0, 0, "") not in cache, "the oldest entry stays although the bytes exceed the bound"
    assert cache.bytes == grown.size > before - small.size
    cache.resize((9, 7, 7, ""))                          # not cached: nothing happens
    assert cache.bytes == grown.size


# -- eviction by tile ranges --------------------------------------------------------------------
def test_evict_drops_only_tiles_in_the_ranges_at_their_zoom() -> None:
    cache = TileCache(max_bytes=10**6)
    for key in [(10, 5, 5, ""), (10, 6, 5, ""), (11, 5, 5, ""), (10, 5, 5, "statuses=confirmed")]:
        cache.put(key, body())
    assert cache.evict([TileRange(10, range(5, 6), range(5, 6))]) == 2
    assert set(k for k in [(10, 6, 5, ""), (11, 5, 5, "")] if k in cache) == {(10, 6, 5, ""), (11, 5, 5, "")}
    assert cache.evicted == 2
    assert cache.evict([TileRange(12, range(0, 4096), range(0, 4096))]) == 0   # nothing at z 12
    assert cache.evict([]) == 0


def test_evict_takes_several_ranges_and_counts_each_tile_once() -> None:
    cache = TileCache(max_bytes=10**6)
    for x in range(4):
        cache.put((8, x, 0, ""), body())
    dropped = cache.evict([TileRange(8, range(0, 2), range(0, 1)), TileRange(8, range(1, 3), range(0, 1))])
    assert dropped == 3 and len(cache) == 1 and (8, 3, 0, "") in cache
    assert cache.bytes == body().size


def test_an_evicted_tile_can_be_cached_and_evicted_again() -> None:
    cache = TileCache(max_bytes=10**6)
    key, whole_zoom = (4, 2, 3, ""), TileRange(4, range(0, 16), range(0, 16))
    cache.put(key, body())
    assert cache.evict([whole_zoom]) == 1
    cache.put(key, body())
    assert key in cache and cache.evict([whole_zoom]) == 1 and key not in cache


def test_clear_drops_everything_and_counts_it_as_evicted() -> None:
    cache = TileCache(max_bytes=10**6)
    for x in range(3):
        cache.put((2, x, 0, ""), body())
    cache.clear()
    assert len(cache) == 0 and cache.bytes == 0 and cache.evicted == 3
    assert cache.evict([TileRange(2, range(0, 4), range(0, 4))]) == 0
    cache.put((2, 0, 0, ""), body())
    assert len(cache) == 1

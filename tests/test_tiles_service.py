"""tiles.service: the cache's rules, driven through the listener's steps (resync, receive) without
a database. The same rules against a real database and LISTEN are in test_tiles.py."""

import json

import mercantile

from store.channels import OPEN_CHANGED as CHANNEL
from store.channels import OPEN_TILES as PLACES
from tests.support import CONFIG_DIR, WARSAW
from tiles.addresses import TileAddress
from tiles.cache import TileBody
from tiles.changes import ChangeGeometry
from tiles.filters import TileFilters
from tiles.service import TileService

KRAKOW = (19.945, 50.065)


def tile_of(lon: float, lat: float, z: int) -> mercantile.Tile:
    return mercantile.tile(lon, lat, z)


def service_at(version: int) -> TileService:
    """A service as its listener leaves it on connecting at `version`, with no area boxes."""
    service = TileService(CONFIG_DIR)
    service.geometry = ChangeGeometry(service.levels, {}, 16)
    service.resync(version, None)
    return service


def note(version: int, *places: tuple[float, float], areas: tuple[str, ...] = ()) -> str:
    return json.dumps({"version": version, "points": [list(mercantile.xy(*p)) for p in places],
                       "areas": list(areas)})


def key(t: mercantile.Tile, filters: str = "") -> tuple[int, int, int, str]:
    return (t.z, t.x, t.y, filters)


def test_a_tile_from_an_older_snapshot_is_cached_only_if_no_later_change_touches_it() -> None:
    service = TileService(CONFIG_DIR)
    service.geometry = ChangeGeometry(service.levels, {}, 16)
    warsaw_x, warsaw_y = mercantile.xy(*WARSAW)
    warsaw, krakow = tile_of(*WARSAW, 14), tile_of(*KRAKOW, 14)
    service.resync(10, None)
    service.receive(PLACES, json.dumps({"version": 11, "points": [[warsaw_x, warsaw_y]], "areas": []}))
    service.receive(CHANNEL, "11")
    old = TileBody(10, b"rendered before version 11")
    assert not service.cacheable((14, warsaw.x, warsaw.y, ""), old)
    assert service.cacheable((14, krakow.x, krakow.y, ""), old)
    assert service.cacheable((14, warsaw.x, warsaw.y, ""), TileBody(11, b"after"))
    assert not service.cacheable((14, krakow.x, krakow.y, ""), TileBody(9, b"before the log"))
    service.receive(CHANNEL, "12")   # a bare version: everything
    assert not service.cacheable((14, krakow.x, krakow.y, ""), TileBody(11, b"x"))


def test_a_change_evicts_every_variant_of_the_tiles_it_touches_and_nothing_else() -> None:
    service = service_at(10)
    warsaw, krakow = tile_of(*WARSAW, 14), tile_of(*KRAKOW, 14)
    for k in (key(warsaw), key(warsaw, "categories=vandalism"), key(krakow)):
        service.cache.put(k, TileBody(10, b"tile"))
    service.receive(PLACES, note(11, WARSAW))
    assert len(service.cache) == 3 and service.version == 10, "a note alone applies nothing"
    service.receive(CHANNEL, "11")
    assert service.version == 11
    assert key(warsaw) not in service.cache and key(warsaw, "categories=vandalism") not in service.cache
    assert key(krakow) in service.cache


def test_a_bare_version_or_an_unknown_area_empties_the_cache() -> None:
    service = service_at(10)
    t = tile_of(*KRAKOW, 14)
    service.cache.put(key(t), TileBody(10, b"tile"))
    service.receive(CHANNEL, "11")                        # no note: what changed is unknown
    assert len(service.cache) == 0
    service.cache.put(key(t), TileBody(11, b"tile"))
    service.receive(PLACES, note(12, WARSAW, areas=("9999",)))
    service.receive(CHANNEL, "12")
    assert len(service.cache) == 0


def test_what_is_not_a_notification_is_ignored() -> None:
    service = service_at(10)
    t = tile_of(*KRAKOW, 14)
    service.cache.put(key(t), TileBody(10, b"tile"))
    for channel, payload in ((CHANNEL, "eleven"), (CHANNEL, ""), (PLACES, "{not json"),
                             ("another_channel", "11")):
        service.receive(channel, payload)
    assert service.version == 10 and key(t) in service.cache


def test_an_old_version_arriving_late_does_not_turn_the_clock_back() -> None:
    service = service_at(10)
    service.receive(CHANNEL, "9")
    assert service.version == 10


def test_a_snapshot_is_not_cacheable_when_a_change_since_it_is_missing() -> None:
    service = service_at(10)
    krakow = tile_of(*KRAKOW, 14)
    service.receive(PLACES, note(12, WARSAW))             # 11 never arrived
    service.receive(CHANNEL, "12")
    assert not service.cacheable(key(krakow), TileBody(10, b"x"))
    assert service.cacheable(key(krakow), TileBody(12, b"x"))


def test_resync_trusts_nothing_from_before() -> None:
    service = service_at(10)
    t = tile_of(*KRAKOW, 14)
    service.cache.put(key(t), TileBody(10, b"tile"))
    service.resync(15, None)
    assert len(service.cache) == 0 and service.version == 15
    assert not service.cacheable(key(t), TileBody(14, b"rendered while the listener was away"))
    assert service.cacheable(key(t), TileBody(15, b"x"))


def test_resync_takes_new_density_levels() -> None:
    service = service_at(10)
    service.resync(11, [500, 5000])
    assert service.levels == [500, 5000] and service.geometry.levels == [500, 5000]


def test_nothing_cached_is_served_while_the_listener_is_not_running() -> None:
    service = service_at(10)                              # resynced, but never started
    address = TileAddress(14, *tile_of(*KRAKOW, 14)[:2])
    service.cache.put((address.z, address.x, address.y, ""), TileBody(10, b"tile"))
    assert not service.synced
    assert service.cached(address, TileFilters()) is None

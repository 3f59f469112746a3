"""tiles.changes: which tiles a change of the public layer touches. The bounds may only err on
the wide side (a tile evicted for nothing costs a render; one kept wrongly is stale). No
database."""

import json

import mercantile
import pytest

from tests.support import WARSAW
from tiles.addresses import REPORTS_MIN_ZOOM
from tiles.changes import WORLD_HALF, Change, ChangeGeometry, TileRange, parse_note

KRAKOW = (19.945, 50.065)
LEVELS = [1000, 2000, 4000, 8000, 16000, 32000, 64000]


def tile_of(lon: float, lat: float, z: int) -> mercantile.Tile:
    return mercantile.tile(lon, lat, z)


def tiles_in(ranges) -> set[tuple[int, int, int]]:
    return {(r.z, x, y) for r in ranges for x in r.xs for y in r.ys}


def point_change(x: float, y: float) -> Change:
    return Change(1, ((x, y),))


# -- notes ---------------------------------------------------------------------------------------
def test_a_note_gives_its_version_places_and_areas() -> None:
    change = parse_note(json.dumps({"version": 42, "points": [[2339000, 6841000], [1, 2.5]],
                                    "areas": ["1465", 14]}))
    assert change == Change(42, ((2339000.0, 6841000.0), (1.0, 2.5)), ("1465", "14"))
    assert not change.everything


def test_a_note_saying_everything_is_everything() -> None:
    assert parse_note('{"version": "7", "everything": true}') == Change(7, everything=True)


def test_a_note_without_places_touches_no_place() -> None:
    assert parse_note('{"version": 3}') == Change(3)


@pytest.mark.parametrize("payload", [
    "", "12", "not json", "[]", '{"points": []}', '{"version": "x"}', '{"version": 1, "points": [[1]]}',
    '{"version": 1, "points": [["a", 2]]}', '{"version": 1, "points": 5}'])
def test_anything_else_is_not_a_note(payload: str) -> None:
    assert parse_note(payload) is None


# -- tile ranges ---------------------------------------------------------------------------------
def test_a_tile_range_holds_its_columns_and_rows() -> None:
    r = TileRange(5, range(16, 18), range(9, 12))
    assert len(r) == 6
    assert (16, 9) in r and (17, 11) in r
    assert (18, 9) not in r and (16, 12) not in r and (15, 10) not in r


# -- geometry ------------------------------------------------------------------------------------
def test_change_geometry_reaches_density_centres_and_areas() -> None:
    x, y = mercantile.xy(*WARSAW)
    geometry = ChangeGeometry([1000, 2000, 4000, 8000, 16000, 32000, 64000],
                              {"14": ("voivodeship", (x - 2e5, y - 2e5, x + 2e5, y + 2e5)),
                               "1465": ("county", (x - 1e4, y - 1e4, x + 1e4, y + 1e4))}, 16)
    change = Change(5, ((x, y),), ("14", "1465"))
    krakow = tile_of(*KRAKOW, 9)
    assert not geometry.touches(change, krakow.z, krakow.x, krakow.y)
    for z in range(17):
        home = tile_of(*WARSAW, z)
        assert geometry.touches(change, z, home.x, home.y)
    # a 64 km cell's centre may lie up to ~80 Mercator km from a place: z 5 neighbours within
    # that reach are evicted too, but no more than a 2 x 2 block
    z5 = tile_of(*WARSAW, 5)
    reach = next(iter(geometry.ranges(Change(5, ((x, y),)), range(5, 6))))
    assert (z5.x, z5.y) in reach and len(reach) <= 4
    assert geometry.touches(Change(6, areas=("unknown",)), 0, 0, 0)   # unknown area: everything


def test_a_place_in_the_middle_of_a_tile_touches_that_tile_alone_at_report_zooms() -> None:
    geometry = ChangeGeometry(LEVELS, {}, 16)
    for z in range(REPORTS_MIN_ZOOM, 17):
        t = tile_of(*WARSAW, z)
        b = mercantile.xy_bounds(t)
        centre = ((b.left + b.right) / 2, (b.bottom + b.top) / 2)
        assert tiles_in(geometry.ranges(point_change(*centre), range(z, z + 1))) == {(z, t.x, t.y)}


def test_a_place_within_the_buffer_of_a_border_touches_the_neighbour_too() -> None:
    """A tile draws its neighbours' points in its buffer (64 of 4096 px), so it shows them."""
    geometry = ChangeGeometry(LEVELS, {}, 16)
    z = 14
    t = tile_of(*WARSAW, z)
    b = mercantile.xy_bounds(t)
    pixel = (b.right - b.left) / 4096
    middle_y = (b.bottom + b.top) / 2
    near = geometry.ranges(point_change(b.right - 60 * pixel, middle_y), range(z, z + 1))
    assert tiles_in(near) == {(z, t.x, t.y), (z, t.x + 1, t.y)}
    far = geometry.ranges(point_change(b.right - 200 * pixel, middle_y), range(z, z + 1))
    assert tiles_in(far) == {(z, t.x, t.y)}
    assert not geometry.touches(point_change(b.right - 200 * pixel, middle_y), z, t.x + 1, t.y)


def test_below_the_switch_zoom_a_place_reaches_as_far_as_its_density_cell_centre() -> None:
    geometry = ChangeGeometry(LEVELS, {}, 16)
    for z in (REPORTS_MIN_ZOOM - 1, REPORTS_MIN_ZOOM):
        t = tile_of(*WARSAW, z)
        b = mercantile.xy_bounds(t)
        place = (b.right - 1000, (b.bottom + b.top) / 2)      # 1 km from the east border
        reached = tiles_in(geometry.ranges(point_change(*place), range(z, z + 1)))
        if z < REPORTS_MIN_ZOOM:     # a 1 km cell's centre may lie across the border
            assert (z, t.x + 1, t.y) in reached
        else:                        # points are drawn where they are
            assert reached == {(z, t.x, t.y)}


def test_ranges_stay_inside_the_world() -> None:
    geometry = ChangeGeometry(LEVELS, {}, 16)
    corners = Change(1, ((-WORLD_HALF, WORLD_HALF), (WORLD_HALF, -WORLD_HALF)))
    for r in geometry.ranges(corners):
        last = 2**r.z - 1
        assert r.xs.start >= 0 and r.ys.start >= 0 and r.xs.stop - 1 <= last and r.ys.stop - 1 <= last
        assert len(r) >= 1


def test_ranges_cover_every_zoom_up_to_the_maximum_unless_told_which() -> None:
    geometry = ChangeGeometry(LEVELS, {}, 14)
    change = point_change(*mercantile.xy(*WARSAW))
    assert [r.z for r in geometry.ranges(change)] == list(range(15))
    assert [r.z for r in geometry.ranges(change, range(3, 5))] == [3, 4]


def test_areas_count_at_their_own_zooms_only() -> None:
    x, y = mercantile.xy(*WARSAW)
    geometry = ChangeGeometry(LEVELS, {"14": ("voivodeship", (x - 1e5, y - 1e5, x + 1e5, y + 1e5)),
                                       "1465": ("county", (x - 1e4, y - 1e4, x + 1e4, y + 1e4))}, 16)
    county = {r.z for r in geometry.ranges(Change(1, areas=("1465",)))}
    voivodeship = {r.z for r in geometry.ranges(Change(1, areas=("14",)))}
    assert county == set(range(7, 12))           # counties from z 7 until the switch zoom
    assert voivodeship == set(range(0, 7))       # voivodeships below
    # the whole box is covered: a county tile far from the report's place is touched too
    corner = mercantile.tile(*mercantile.lnglat(x + 9e3, y + 9e3), 11)
    assert geometry.touches(Change(1, areas=("1465",)), 11, corner.x, corner.y)
    assert not geometry.touches(Change(1, areas=("1465",)), 12, corner.x * 2, corner.y * 2)


def test_everything_or_an_unknown_area_touches_every_tile() -> None:
    geometry = ChangeGeometry(LEVELS, {"14": ("voivodeship", (0, 0, 1, 1))}, 16)
    assert geometry.touches(Change(1, everything=True), 16, 0, 0)
    unknown = Change(2, areas=("14", "9999"))
    assert not geometry.knows_all_areas(unknown) and geometry.touches(unknown, 16, 0, 0)
    assert geometry.knows_all_areas(Change(3, areas=("14",)))
    assert not geometry.touches(Change(3, areas=("14",)), 16, 0, 0)

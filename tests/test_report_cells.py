"""The counts kept per public cell (issue 16, points 4 and 5; store/sql/27_cell_counts.sql,
store/report_cells.py) and the totals kept per area, category, status and period (issue 16,
point 4; store/sql/28_report_totals.sql, store/report_totals.py) and per coarse square and
month (store/sql/29_report_squares.sql, store/report_squares.py): the same numbers as counting
open.reports, for any public filter, after every path that changes the public layer, and no
more public than open.reports."""

import random
import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from store import report_squares, report_totals
from store.report_cells import count_statement
from store.reports import BBox, ReportFilter, public_conditions
from tests.support import WARSAW, gql, insert_report, insert_scattered_reports

STATUSES = ["new", "under_verification", "confirmed", "not_confirmed", "confirmed_eliminated"]
CATEGORIES = ["vandalism", "illegal-dumping", "homeless-person-in-need"]  # the last is sensitive
# Key and values of a cell row; the rows kept by the triggers must equal a recount.
CELL_COLUMNS = """geom, date_precision, county_code, voivodeship_code, n, categories, statuses,
                  days, counts, top_category, top_status, last_day"""
TOTAL_COLUMNS = "area_code, period, period_start, category_id, status, n"
SQUARE_COLUMNS = "size_m, sx, sy, west, south, east, north, n, categories, statuses, counts"
SQUARE_MONTH_COLUMNS = "size_m, sx, sy, month, n, categories, statuses, days, counts"
POLAND = BBox(14.0, 49.0, 24.2, 54.9)


def by_cells(conn: psycopg.Connection, f: ReportFilter | None) -> int:
    statement = count_statement(f)
    assert statement is not None
    return conn.execute(*statement).fetchone()[0]


def by_totals(conn: psycopg.Connection, f: ReportFilter | None) -> int:
    """The count as totalCount takes it: from the totals, or the cells for a small bbox."""
    statement = report_totals.count_statement(f)
    assert statement is not None
    return conn.execute(*statement).fetchone()[0]


def by_text(conn: psycopg.Connection, f: ReportFilter | None) -> int:
    """The count as the SQL page takes it: count_text, its text cached by the filter's shape."""
    kept = report_totals.count_text(f)
    assert kept is not None
    return conn.execute(kept[0], kept[1]).fetchone()[0]


def by_reports(conn: psycopg.Connection, f: ReportFilter | None) -> int:
    conditions, params = public_conditions(f)
    where = sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true")
    return conn.execute(sql.SQL("SELECT count(*) FROM open.reports AS r WHERE {}").format(where),
                        params).fetchone()[0]


def assert_kept_equals_recount(app_conn: psycopg.Connection, kept: str, recount: str,
                               columns: str) -> None:
    """The kept rows (emptied ones aside) are exactly the recount of open.reports."""
    for first, second in ((kept, recount), (recount, kept)):
        differing = app_conn.execute(
            f"SELECT count(*) FROM (SELECT {columns} FROM {first} WHERE n > 0 "
            f"EXCEPT ALL SELECT {columns} FROM {second} WHERE n > 0) AS d").fetchone()[0]
        assert differing == 0, f"{first} has rows {second} has not"
    assert app_conn.execute(f"SELECT count(*) FROM {kept} WHERE n < 0").fetchone()[0] == 0


def assert_cells_kept(app_conn: psycopg.Connection) -> None:
    """The cells and the totals are what a recount of open.reports gives."""
    assert_kept_equals_recount(app_conn, "core.report_cells", "core.report_cell_rows", CELL_COLUMNS)
    assert_kept_equals_recount(app_conn, "core.report_totals", "core.report_total_rows",
                               TOTAL_COLUMNS)
    assert_kept_equals_recount(app_conn, "core.report_squares", "core.report_square_rows",
                               SQUARE_COLUMNS)
    assert_kept_equals_recount(app_conn, "core.report_square_months",
                               "core.report_square_month_rows", SQUARE_MONTH_COLUMNS)
    # every public point (a cell centre of 250 or 1,000 m) in exactly one square of each size
    public = app_conn.execute("SELECT count(*) FROM open.reports").fetchone()[0]
    for size in report_squares.SIZES_M:
        for table in ("core.report_squares", "core.report_square_months"):
            assert app_conn.execute(f"SELECT coalesce(sum(n), 0) FROM {table} "
                                    "WHERE size_m = %s", [size]).fetchone()[0] == public, size
    # and a bbox with dates counted from the squares' months is the count over the reports
    for first, last in ((date(2026, 1, 15), None), (None, date(2026, 2, 10)),
                        (date(2025, 12, 31), date(2026, 3, 1)), (date(2026, 2, 1), date(2026, 2, 28))):
        f = ReportFilter(bbox=BBox(WARSAW[0] - 0.2, WARSAW[1] - 0.004, WARSAW[0] + 0.001,
                                   WARSAW[1] + 0.2), occurred_from=first, occurred_to=last)
        assert by_squares(app_conn, f) == by_reports(app_conn, f), f


def known(conn: psycopg.Connection, table: str, wanted: list[str]) -> list[str]:
    ids = {i for (i,) in conn.execute(f"SELECT id FROM core.{table}")}
    found = [w for w in wanted if w in ids]
    assert len(found) >= 2, table
    return found


@pytest.fixture
def scattered(app_conn: psycopg.Connection, clean_reports: None) -> list[uuid.UUID]:
    """240 public reports within about 1 km of central Warsaw (about 40 cells of 250 m, several
    reports in most), random categories and statuses: 200 on days of the first quarter of 2026,
    40 spread over 2024 and 2025 (whole years and months for the totals)."""
    rng = random.Random(16)
    categories = known(app_conn, "categories", CATEGORIES)
    statuses = known(app_conn, "statuses", STATUSES)
    ids = insert_scattered_reports(app_conn, rng, 200, dx=0.008, dy=0.005, categories=categories,
                                   statuses=statuses, start=datetime(2026, 1, 1, 12, tzinfo=UTC))
    older = random.Random(2016)
    for _ in range(40):
        occurred = datetime(2024, 1, 1, 12, tzinfo=UTC) + timedelta(days=older.randrange(731))
        ids.append(insert_report(app_conn, lon=WARSAW[0] + older.uniform(-0.008, 0.008),
                                 lat=WARSAW[1] + older.uniform(-0.005, 0.005),
                                 category=older.choice(categories), status=older.choice(statuses),
                                 occurred_at=occurred, created_at=occurred, published=True))
    return ids


def random_filter(rng: random.Random, centres: list[tuple[float, float]], days: list[Any],
                  areas: list[str], categories: list[str]) -> ReportFilter:
    """A filter of the public page: bboxes with edges on cell centres, tiny, random, around
    every centre (edges on the outermost ones: the totals answer it) or all of Poland."""
    bbox = None
    kind = rng.choice(["centres", "one centre", "tiny", "random", "around", "poland", "none"])
    # ("around" is under TOTALS_MIN_BBOX_DEG here: the cells; a test below takes the totals so)
    if kind == "centres":
        (x1, y1), (x2, y2) = rng.sample(centres, 2)
        if x1 != x2 and y1 != y2:
            bbox = BBox(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
    elif kind == "one centre":  # a centre on an edge or a corner, from either side
        x, y = rng.choice(centres)
        w, h = rng.uniform(1e-9, 0.01), rng.uniform(1e-9, 0.01)
        bbox = rng.choice([BBox(x, y, x + w, y + h), BBox(x - w, y - h, x, y),
                           BBox(x - w, y, x + w, y + h), BBox(x, y - h, x + w, y)])
    elif kind == "tiny":
        x, y = rng.choice(centres)
        e = rng.choice([1e-12, 1e-9, 1e-7, 1e-5])
        bbox = BBox(x - e, y - e, x + e, y + e)
    elif kind == "random":
        w, s = WARSAW[0] + rng.uniform(-0.012, 0.01), WARSAW[1] + rng.uniform(-0.008, 0.006)
        bbox = BBox(w, s, w + rng.uniform(1e-6, 0.02), s + rng.uniform(1e-6, 0.012))
    elif kind == "around":
        xs, ys = [x for x, _ in centres], [y for _, y in centres]
        bbox = BBox(min(xs), min(ys), max(xs), max(ys))
    elif kind == "poland":
        bbox = POLAND
    first, last = sorted(rng.sample(days, 2)) if len(days) > 1 else (days[0], days[0])
    return ReportFilter(
        bbox=bbox,
        categories=rng.sample(categories, rng.randint(1, 2)) if rng.random() < 0.3 else None,
        statuses=rng.sample(STATUSES, rng.randint(1, 3)) if rng.random() < 0.3 else None,
        occurred_from=first if rng.random() < 0.3 else None,
        occurred_to=rng.choice([first, last]) if rng.random() < 0.3 else None,
        area_code=rng.choice(areas) if rng.random() < 0.2 else None)


# -- the count ---------------------------------------------------------------------------------
def test_kept_counts_equal_counting_the_reports_for_many_random_filters(
        scattered: list[uuid.UUID], public_conn: psycopg.Connection) -> None:
    centres = public_conn.execute("SELECT DISTINCT ST_X(geom), ST_Y(geom) FROM open.reports "
                                  "WHERE id = ANY(%s)", [scattered]).fetchall()
    days = [d for (d,) in public_conn.execute(
        "SELECT DISTINCT occurred_on FROM open.reports WHERE id = ANY(%s) ORDER BY 1", [scattered])]
    # the ends of months and years, where the totals switch between year, month and day rows
    days += [date(2024, 1, 1), date(2024, 12, 31), date(2025, 1, 1), date(2025, 2, 28),
             date(2025, 12, 1), date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 31),
             date(2026, 2, 1), date(2026, 3, 31), date(2026, 12, 31)]
    areas = [a for (a,) in public_conn.execute(
        "SELECT DISTINCT unnest(ARRAY[county_code, voivodeship_code]) FROM open.reports "
        "WHERE id = ANY(%s)", [scattered]) if a] + ["00", report_totals.NATIONAL]
    categories = sorted({c for (c,) in public_conn.execute(
        "SELECT category_id FROM open.reports WHERE id = ANY(%s)", [scattered])})
    assert len(centres) >= 20 and len(days) >= 20  # several cells and days: a test that proves
    rng = random.Random(1616)
    nonzero = without_small_bbox = 0
    for _ in range(600):
        f = random_filter(rng, centres, days, areas, categories)
        expected = by_reports(public_conn, f)
        assert by_cells(public_conn, f) == expected, f
        assert by_totals(public_conn, f) == expected, f
        assert by_text(public_conn, f) == expected, f
        nonzero += expected > 0
        without_small_bbox += f.bbox is None or f.bbox == POLAND
    assert nonzero > 150 and without_small_bbox > 150
    assert by_cells(public_conn, None) == by_totals(public_conn, None) == by_reports(public_conn, None)


def test_totals_answer_all_of_poland_and_areas_over_whole_years_months_and_days(
        scattered: list[uuid.UUID], public_conn: psycopg.Connection) -> None:
    county, voivodeship = public_conn.execute(
        "SELECT county_code, voivodeship_code FROM open.reports WHERE id = ANY(%s) "
        "AND county_code IS NOT NULL LIMIT 1", [scattered]).fetchone()
    ranges = [(None, None), (date(2024, 1, 1), None), (None, date(2025, 12, 31)),
              (date(2024, 1, 1), date(2025, 12, 31)), (date(2024, 3, 15), date(2026, 2, 10)),
              (date(2025, 2, 1), date(2025, 2, 28)), (date(2025, 2, 2), date(2025, 2, 27)),
              (date(2026, 1, 31), date(2026, 2, 1)), (date(2026, 2, 1), date(2026, 1, 31))]
    for area in (None, county, voivodeship):
        for bbox in (None, POLAND):
            for first, last in ranges:
                f = ReportFilter(bbox=bbox, area_code=area, occurred_from=first, occurred_to=last)
                assert by_totals(public_conn, f) == by_reports(public_conn, f), f
    assert by_totals(public_conn, ReportFilter(area_code=county)) > 0


def test_a_bbox_with_every_public_point_on_its_edges_is_counted_from_the_totals(
        scattered: list[uuid.UUID], app_conn: psycopg.Connection,
        public_conn: psycopg.Connection) -> None:
    for dx, dy in ((-0.8, -0.6), (0.8, 0.6)):  # the extent over TOTALS_MIN_BBOX_DEG both ways
        insert_report(app_conn, lon=WARSAW[0] + dx, lat=WARSAW[1] + dy, published=True)
    west, south, east, north = public_conn.execute(
        "SELECT min(ST_X(geom)), min(ST_Y(geom)), max(ST_X(geom)), max(ST_Y(geom)) "
        "FROM open.report_cells").fetchone()
    everything = by_reports(public_conn, None)
    exact = BBox(west, south, east, north)
    assert min(east - west, north - south) >= report_totals.TOTALS_MIN_BBOX_DEG
    statement = report_totals.count_statement(ReportFilter(bbox=exact))
    assert statement is not None and "report_totals" in statement[0].as_string(public_conn)
    # edges on the outermost points: the totals; a hair inside one edge: the cells, one fewer
    for bbox in (exact, BBox(west + 1e-5, south, east, north), BBox(west, south, east, north - 1e-5)):
        for f in (ReportFilter(bbox=bbox), ReportFilter(bbox=bbox, statuses=["new"])):
            assert by_totals(public_conn, f) == by_reports(public_conn, f), f
    assert by_totals(public_conn, ReportFilter(bbox=exact)) == everything
    assert by_totals(public_conn, ReportFilter(bbox=BBox(west + 1e-5, south, east, north))) == everything - 1


async def test_graphql_total_count_is_exact_from_either_source(
        scattered: list[uuid.UUID], graphql_client: httpx.AsyncClient,
        public_conn: psycopg.Connection) -> None:
    county = public_conn.execute("SELECT county_code FROM open.reports WHERE id = ANY(%s) AND "
                                 "county_code IS NOT NULL LIMIT 1", [scattered]).fetchone()[0]
    poland = {"west": POLAND.west, "south": POLAND.south, "east": POLAND.east, "north": POLAND.north}
    city = {"west": WARSAW[0] - 0.004, "south": WARSAW[1] - 0.003, "east": WARSAW[0] + 0.004,
            "north": WARSAW[1] + 0.003}
    masovia = {"west": 19.25, "south": 51.0, "east": 23.15, "north": 53.5}
    edge = {"west": WARSAW[0] - 0.004, "south": WARSAW[1] - 0.003, "east": WARSAW[0] + 0.5,
            "north": WARSAW[1] + 0.4}
    query = "query($f: ReportFilter) { reports(filter: $f, first: 5) { totalCount } }"
    for variables, f in [
            (None, None),
            ({"bbox": poland}, ReportFilter(bbox=POLAND)),
            ({"bbox": poland, "statuses": ["new", "confirmed"], "occurredFrom": "2025-03-10"},
             ReportFilter(bbox=POLAND, statuses=["new", "confirmed"], occurred_from=date(2025, 3, 10))),
            ({"areaCode": county, "occurredTo": "2026-02-14"},
             ReportFilter(area_code=county, occurred_to=date(2026, 2, 14))),
            ({"bbox": city, "categories": CATEGORIES[:2]},
             ReportFilter(bbox=BBox(**city), categories=CATEGORIES[:2])),
            ({"bbox": masovia}, ReportFilter(bbox=BBox(**masovia))),   # holds every point: totals
            ({"bbox": masovia, "statuses": ["new", "confirmed"]},
             ReportFilter(bbox=BBox(**masovia), statuses=["new", "confirmed"])),
            ({"bbox": edge, "categories": CATEGORIES[:2]},   # the squares, edges across the points
             ReportFilter(bbox=BBox(**edge), categories=CATEGORIES[:2])),
            ({"bbox": edge, "occurredFrom": "2026-01-15"},   # the squares' months
             ReportFilter(bbox=BBox(**edge), occurred_from=date(2026, 1, 15))),
            ({"bbox": edge, "occurredFrom": "2024-06-02", "occurredTo": "2026-02-27"},
             ReportFilter(bbox=BBox(**edge), occurred_from=date(2024, 6, 2),
                          occurred_to=date(2026, 2, 27)))]:
        body = await gql(graphql_client, query, {"f": variables})
        assert "errors" not in body, body
        assert body["data"]["reports"]["totalCount"] == by_reports(public_conn, f) > 0, variables


WIDE_FIRST = datetime(2024, 11, 1, 12, tzinfo=UTC)
WIDE_DAYS = 500


@pytest.fixture
def wide(app_conn: psycopg.Connection, clean_reports: None) -> list[uuid.UUID]:
    """400 public reports over about 1.6 x 1 degrees around Warsaw (a Masovia-sized box holds
    whole squares of every size), a quarter of them in one 2 km spot (cells with several
    reports), random categories (one sensitive: the 1,000 m lattice) and statuses, on days from
    November 2024 to March 2026 (the squares' months, across a year's end)."""
    rng = random.Random(1621)
    categories = known(app_conn, "categories", CATEGORIES)
    statuses = known(app_conn, "statuses", STATUSES)
    ids = []
    for i in range(400):
        spot = i % 4 == 0
        occurred = WIDE_FIRST + timedelta(days=rng.randrange(WIDE_DAYS), hours=rng.uniform(-11, 11))
        ids.append(insert_report(
            app_conn, lon=WARSAW[0] + rng.uniform(*((-0.01, 0.01) if spot else (-0.8, 0.8))),
            lat=WARSAW[1] + rng.uniform(*((-0.01, 0.01) if spot else (-0.5, 0.5))),
            category=rng.choice(categories), status=rng.choice(statuses), occurred_at=occurred,
            created_at=occurred, published=True))
    return ids


def random_date_range(rng: random.Random) -> tuple[date | None, date | None]:
    """A range of the wide reports' days: both ends, open at either, one day, whole months,
    ends on the first and last days of months and years."""
    def day() -> date:
        d = WIDE_FIRST.date() + timedelta(days=rng.randrange(-20, WIDE_DAYS + 20))
        return rng.choice([d, d.replace(day=1), d.replace(day=1) - timedelta(days=1),
                           date(d.year, 1, 1), date(d.year, 12, 31)])
    first, last = sorted((day(), day()))
    kind = rng.choice(["both", "from", "to", "one day", "month", "inverted"])
    if kind == "from":
        return first, None
    if kind == "to":
        return None, last
    if kind == "one day":
        return first, first
    if kind == "month":  # one or more whole months
        end = (last.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        return first.replace(day=1), end
    if kind == "inverted":
        return last, first
    return first, last


def random_wide_bbox(rng: random.Random, kind: int, centres: list[tuple[float, float]],
                     corners: list[tuple[float, ...]]) -> BBox | None:
    """A box over the wide reports (None: an empty one): Masovia-sized and more (0), edges on
    public points (1), on the extents of squares (2), a city's box or bigger (3)."""
    if kind == 0:    # Masovia-sized and more, anywhere around
        w, s = WARSAW[0] + rng.uniform(-1.5, 0.5), WARSAW[1] + rng.uniform(-1, 0.3)
        bbox = BBox(w, s, w + rng.uniform(0.5, 4), s + rng.uniform(0.3, 2.5))
    elif kind == 1:  # edges on public points
        (x1, y1), (x2, y2) = rng.sample(centres, 2)
        bbox = BBox(min(x1, x2), min(y1, y2), max(x1, x2) + 1e-9, max(y1, y2) + 1e-9)
    elif kind == 2:  # edges on the extents of squares (exactly and a hair either side)
        a, b = rng.sample(corners, 2)
        e = rng.choice([0, 1e-9, -1e-9, 1e-4, -1e-4])
        bbox = BBox(min(a[0], b[0]) + e, min(a[1], b[1]) + e, max(a[2], b[2]) - e,
                    max(a[3], b[3]) - e)
    else:            # a city box or bigger, anywhere in the spread
        w, s = WARSAW[0] + rng.uniform(-0.9, 0.6), WARSAW[1] + rng.uniform(-0.6, 0.4)
        bbox = BBox(w, s, w + rng.uniform(0.1, 1.2), s + rng.uniform(0.1, 0.8))
    return None if bbox.east <= bbox.west or bbox.north <= bbox.south else bbox


def by_squares(conn: psycopg.Connection, f: ReportFilter) -> int:
    return conn.execute(*report_squares.count_statement(f)).fetchone()[0]


def ogc_by_squares(conn: psycopg.Connection, bbox: BBox, properties: list[tuple[str, str]]) -> int:
    statement = report_squares.ogc_count_statement([bbox.west, bbox.south, bbox.east, bbox.north],
                                                   properties)
    return conn.execute(*statement).fetchone()[0]


def ogc_by_reports(conn: psycopg.Connection, bbox: BBox, properties: list[tuple[str, str]]) -> int:
    where = ["ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))"]
    where += [f"{name}::text = %s" for name, _ in properties]
    return conn.execute(f"SELECT count(*) FROM open.ogc_reports WHERE {' AND '.join(where)}",
                        [bbox.west, bbox.south, bbox.east, bbox.north,
                         *(v for _, v in properties)]).fetchone()[0]


def test_squares_count_boxes_of_every_size_exactly(
        wide: list[uuid.UUID], public_conn: psycopg.Connection) -> None:
    """Random boxes from a city's to bigger than Masovia, edges on public points, on square
    corners' extents and anywhere (cutting squares of every size), with and without categories
    and statuses: the squares' count is count(*) over open.reports (GraphQL's `&&`) and over
    open.ogc_reports (OGC's ST_Intersects), and totalCount's choice too."""
    centres, corners, categories = wide_shapes(public_conn, wide)
    rng = random.Random(2116)
    held = {size: 0 for size in report_squares.SIZES_M}
    nonzero = 0
    for i in range(300):
        bbox = random_wide_bbox(rng, i % 4, centres, corners)
        if bbox is None:
            continue
        f = ReportFilter(
            bbox=bbox,
            categories=rng.sample(categories, rng.randint(1, 2)) if rng.random() < 0.3 else None,
            statuses=rng.sample(STATUSES, rng.randint(1, 3)) if rng.random() < 0.3 else None)
        expected = by_reports(public_conn, f)
        assert by_squares(public_conn, f) == expected, f
        assert by_totals(public_conn, f) == expected, f
        properties = [("category_id", c) for c in (f.categories or [])[:1]] + \
                     [("status", s) for s in (f.statuses or [])[:1]]
        assert ogc_by_squares(public_conn, bbox, properties) == \
            ogc_by_reports(public_conn, bbox, properties), (bbox, properties)
        nonzero += expected > 0
        for size in held:
            held[size] += public_conn.execute(
                "SELECT count(*) FROM open.report_squares WHERE size_m = %s AND west >= %s AND "
                "south >= %s AND east <= %s AND north <= %s",
                [size, bbox.west + report_squares.MARGIN_DEG, bbox.south + report_squares.MARGIN_DEG,
                 bbox.east - report_squares.MARGIN_DEG, bbox.north - report_squares.MARGIN_DEG]
            ).fetchone()[0] > 0
    assert nonzero > 150
    assert all(n > 10 for n in held.values()), held  # whole squares of every size were counted


def wide_shapes(conn: psycopg.Connection, ids: list[uuid.UUID]) -> tuple[list, list, list]:
    """The wide reports' public points, the extents of their squares above 1 km, their categories."""
    centres = conn.execute("SELECT DISTINCT ST_X(geom), ST_Y(geom) FROM open.reports "
                           "WHERE id = ANY(%s)", [ids]).fetchall()
    corners = conn.execute("SELECT DISTINCT west, south, east, north FROM open.report_squares "
                           "WHERE size_m > 1000").fetchall()
    categories = sorted({c for (c,) in conn.execute(
        "SELECT category_id FROM open.reports WHERE id = ANY(%s)", [ids])})
    return centres, corners, categories


def test_squares_count_boxes_with_date_ranges_exactly(
        wide: list[uuid.UUID], public_conn: psycopg.Connection) -> None:
    """Random boxes of every kind above x random date ranges (both ends, open at either end, one
    day, whole months, across months' and years' ends, inverted: empty), with and without
    categories and statuses: the count from the squares' months is count(*) over open.reports,
    and totalCount's choice (the squares for these) too."""
    centres, corners, categories = wide_shapes(public_conn, wide)
    rng = random.Random(2416)
    nonzero = partial = 0
    for i in range(300):
        bbox = random_wide_bbox(rng, i % 4, centres, corners)
        if bbox is None:
            continue
        first, last = random_date_range(rng)
        f = ReportFilter(
            bbox=bbox, occurred_from=first, occurred_to=last,
            categories=rng.sample(categories, rng.randint(1, 2)) if rng.random() < 0.3 else None,
            statuses=rng.sample(STATUSES, rng.randint(1, 3)) if rng.random() < 0.3 else None)
        expected = by_reports(public_conn, f)
        assert by_squares(public_conn, f) == expected, f
        assert by_totals(public_conn, f) == expected, f
        nonzero += expected > 0
        partial += 0 < expected < by_reports(public_conn, ReportFilter(bbox=bbox))
    assert nonzero > 100 and partial > 60  # the dates cut: a test that proves


def test_total_count_takes_the_squares_for_a_big_bbox_without_areas() -> None:
    big = BBox(19.25, 51.0, 23.15, 53.5)
    for f in (ReportFilter(bbox=big, categories=["vandalism"]),
              ReportFilter(bbox=big, occurred_from=date(2026, 1, 1)),
              ReportFilter(bbox=BBox(20.85, 52.10, 21.27, 52.37), occurred_to=date(2026, 1, 1))):
        chosen = report_totals.count_statement(f)
        assert chosen is not None and "report_squares" in repr(chosen[0]), f
    for f in (ReportFilter(bbox=big, area_code="14"),
              ReportFilter(bbox=BBox(21.0, 52.2, 21.05, 52.25))):
        assert not report_squares.answers(f) or f.bbox is None or \
            min(f.bbox.east - f.bbox.west, f.bbox.north - f.bbox.south) < report_totals.SQUARES_MIN_BBOX_DEG
        statement = report_totals.count_statement(f)
        assert statement is not None and "report_squares" not in repr(statement[0]), f


def test_the_count_text_kept_per_shape_is_the_statement_of_each_filter() -> None:
    """count_text builds a text once per shape of filter (report_totals._shape): for filters of
    every source, size and date range, in an order where each shape comes again with other
    values, its text is the one count_statement writes for that very filter, and its parameters
    hold every one that statement binds, with the same values."""
    report_totals._TEXTS.clear()
    rng = random.Random(16)
    days = [date(2024, 1, 1), date(2024, 3, 15), date(2024, 12, 31), date(2025, 1, 1),
            date(2025, 2, 28), date(2025, 12, 1), date(2026, 1, 31), date(2026, 2, 10), None]
    filters: list[ReportFilter | None] = [None]
    for _ in range(3000):
        w, s = rng.uniform(14, 23), rng.uniform(49, 54)
        side = rng.choice([1e-3, 0.05, 0.0999, 0.1, 0.5, 0.999, 1.0, 3.0, 10.0])
        first, last = rng.choice(days), rng.choice(days)
        filters.append(ReportFilter(
            bbox=BBox(w, s, w + side * rng.uniform(1, 2), s + side) if rng.random() < 0.7 else None,
            categories=rng.sample(CATEGORIES, rng.randint(1, 2)) if rng.random() < 0.4 else None,
            statuses=rng.sample(STATUSES, 1) if rng.random() < 0.4 else None,
            occurred_from=first, occurred_to=last,
            area_code=rng.choice([None, None, "14", "1465", report_totals.NATIONAL])))
    for f in filters:
        expected = report_totals.count_statement(f)
        assert expected is not None
        text, params = report_totals.count_text(f) or ("", {})
        assert text == expected[0].as_string(), f
        assert {name: params.get(name) for name in expected[1]} == expected[1], f
    assert 30 < len(report_totals._TEXTS) < len(filters) / 5   # shapes came again, ~7 times each
    assert report_totals.count_text(ReportFilter(source="partner")) is None


def test_the_totals_read_whole_years_then_months_then_days() -> None:
    assert report_totals.periods(None, None) == [("year", date.min, date(9999, 1, 1))]
    assert report_totals.periods(date(2024, 3, 15), date(2026, 2, 10)) == [
        ("year", date(2025, 1, 1), date(2026, 1, 1)),
        ("month", date(2024, 4, 1), date(2025, 1, 1)), ("day", date(2024, 3, 15), date(2024, 4, 1)),
        ("month", date(2026, 1, 1), date(2026, 2, 1)), ("day", date(2026, 2, 1), date(2026, 2, 11))]
    assert report_totals.periods(date(2025, 2, 1), date(2025, 2, 28)) == [
        ("month", date(2025, 2, 1), date(2025, 3, 1))]
    assert report_totals.periods(date(2026, 2, 1), date(2026, 1, 31)) == [
        ("day", date(2026, 2, 1), date(2026, 2, 1))]  # empty: no row


def test_a_bbox_edge_on_a_cell_centre_counts_the_cell_from_both_sides(
        scattered: list[uuid.UUID], public_conn: psycopg.Connection) -> None:
    x, y, n = public_conn.execute("SELECT ST_X(geom), ST_Y(geom), count(*) FROM open.reports "
                                  "WHERE id = ANY(%s) GROUP BY geom ORDER BY 3 DESC, 1, 2 LIMIT 1",
                                  [scattered]).fetchone()
    assert n >= 2
    for bbox in (BBox(x, y, x + 1e-3, y + 1e-3), BBox(x - 1e-3, y - 1e-3, x, y),
                 BBox(x - 1e-12, y - 1e-12, x + 1e-12, y + 1e-12)):
        f = ReportFilter(bbox=bbox)
        assert by_cells(public_conn, f) == by_reports(public_conn, f) >= n
    # `&&` compares boxes of single precision (about 2e-6 degrees here): a bbox that far beside
    # a centre still holds it, for the cells as for the reports
    near = ReportFilter(bbox=BBox(x + 1e-7, y + 1e-7, x + 1e-6, y + 1e-6))
    assert by_cells(public_conn, near) == by_reports(public_conn, near) >= n
    beside = ReportFilter(bbox=BBox(x + 1e-4, y + 1e-4, x + 1e-3, y + 1e-3))
    assert by_cells(public_conn, beside) == by_reports(public_conn, beside) == 0


def test_the_source_filter_is_left_to_counting_the_reports() -> None:
    assert count_statement(ReportFilter(source="partner")) is None
    assert report_totals.count_statement(ReportFilter(source="partner")) is None
    assert count_statement(None) is not None


# -- kept in step with open.reports ------------------------------------------------------------
def test_cells_and_totals_follow_every_path_that_changes_the_public_layer(
        scattered: list[uuid.UUID], app_conn: psycopg.Connection) -> None:
    assert_cells_kept(app_conn)  # and the totals (assert_totals_kept) after every step
    waiting = [insert_report(app_conn, lon=WARSAW[0] + 0.001 * i, lat=WARSAW[1], published=False)
               for i in range(3)]
    assert_cells_kept(app_conn)
    app_conn.execute("UPDATE core.reports SET published_at = now() WHERE id = %s",
                     [waiting[0]])                                           # a publication
    assert_cells_kept(app_conn)
    app_conn.execute("UPDATE core.reports SET created_at = now() - interval '3 days', "
                     "occurred_at = now() - interval '4 days' WHERE id = ANY(%s)", [waiting[1:]])
    app_conn.execute("SELECT core.publish_due_reports()")                    # publication job
    assert_cells_kept(app_conn)
    closed = app_conn.execute("UPDATE core.reports SET closed_at = created_at + interval '1 day' "
                              "WHERE id = ANY(%s) AND status IN ('not_confirmed', "
                              "'confirmed_eliminated')", [scattered[40:80]]).rowcount
    assert closed > 0 and app_conn.execute("SELECT core.purge_contacts()").fetchone()[0] > 0
    assert_cells_kept(app_conn)                                              # retention
    changed = app_conn.execute("UPDATE core.reports SET status = 'under_verification' "
                               "WHERE id = ANY(%s) AND status = 'new'", [scattered[:40]]).rowcount
    assert changed > 0                                                       # a status change
    assert_cells_kept(app_conn)
    app_conn.execute("UPDATE core.reports SET abusive = true WHERE id = ANY(%s)",
                     [scattered[10:20]])                                     # unpublished
    assert_cells_kept(app_conn)
    app_conn.execute("UPDATE core.reports SET geom = ST_Translate(geom, 0.003, 0) "
                     "WHERE id = ANY(%s)", [scattered[20:30]])               # moved to other cells
    assert_cells_kept(app_conn)
    app_conn.execute("DELETE FROM core.reports WHERE id = ANY(%s)", [scattered[30:40]])
    assert_cells_kept(app_conn)
    app_conn.execute("UPDATE core.categories SET sensitive = NOT sensitive WHERE id = 'vandalism'")
    try:                                                                     # re-projected
        assert_cells_kept(app_conn)
    finally:
        app_conn.execute("UPDATE core.categories SET sensitive = NOT sensitive "
                         "WHERE id = 'vandalism'")
    assert_cells_kept(app_conn)
    app_conn.execute("SELECT core.rebuild_public_layer()")                   # the bulk rebuild
    assert_cells_kept(app_conn)
    assert app_conn.execute("SELECT count(*) FROM core.report_cells WHERE n = 0").fetchone()[0] == 0
    assert app_conn.execute("SELECT count(*) FROM core.report_totals WHERE n = 0").fetchone()[0] == 0
    assert app_conn.execute("SELECT count(*) FROM core.report_squares WHERE n = 0").fetchone()[0] == 0
    assert app_conn.execute("SELECT count(*) FROM core.report_square_months WHERE n = 0").fetchone()[0] == 0


def test_concurrent_publications_in_one_cell_are_both_counted(
        urls: Any, app_conn: psycopg.Connection, clean_reports: None) -> None:
    place = (WARSAW[0] + 0.05, WARSAW[1] + 0.05)
    with psycopg.connect(urls.app) as first:
        insert_report(first, lon=place[0], lat=place[1], published=True)  # holds the cell's row
        second_done = threading.Event()

        def second() -> None:
            with psycopg.connect(urls.app, autocommit=True) as conn:
                insert_report(conn, lon=place[0] + 1e-5, lat=place[1], published=True)
            second_done.set()

        thread = threading.Thread(target=second)
        thread.start()
        assert not second_done.wait(1.0)  # waits for the cell's lock
        first.commit()
        thread.join(30)
        assert second_done.is_set()
    n = app_conn.execute("SELECT n FROM open.report_cells WHERE geom = (SELECT geom FROM "
                         "open.reports WHERE geom && ST_Expand(ST_SetSRID(ST_MakePoint(%s, %s), "
                         "4326), 0.003) LIMIT 1)", list(place)).fetchall()
    assert n == [(2,)]
    assert_cells_kept(app_conn)


# -- privacy -----------------------------------------------------------------------------------
def test_an_emptied_cell_is_not_public_and_the_kept_table_is_private(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection, clean_reports: None) -> None:
    place = (WARSAW[0] - 0.05, WARSAW[1] - 0.05)
    report = insert_report(app_conn, lon=place[0], lat=place[1], published=True)
    point = app_conn.execute("SELECT geom FROM open.reports WHERE id = %s", [report]).fetchone()[0]
    shown = "SELECT n FROM open.report_cells WHERE geom = %s::geometry"
    assert public_conn.execute(shown, [point]).fetchall() == [(1,)]
    app_conn.execute("UPDATE core.reports SET abusive = true WHERE id = %s", [report])
    # kept (n = 0) until a rebuild, but a reader cannot tell that a report was once there
    assert app_conn.execute("SELECT n FROM core.report_cells WHERE geom = %s::geometry",
                            [point]).fetchall() == [(0,)]
    assert public_conn.execute(shown, [point]).fetchall() == []
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        public_conn.execute("SELECT n FROM core.report_cells")
    with pytest.raises(psycopg.errors.UndefinedColumn):  # a view: no xmin to date a change by
        public_conn.execute("SELECT xmin FROM open.report_cells")


def test_an_emptied_total_is_not_public_and_the_kept_table_is_private(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection, clean_reports: None) -> None:
    day = datetime(2023, 6, 15, 12, tzinfo=UTC)  # a day no other report of the tests has
    report = insert_report(app_conn, lon=WARSAW[0] - 0.05, lat=WARSAW[1] - 0.05, occurred_at=day,
                           created_at=day, published=True)
    shown = ("SELECT period, n FROM open.report_totals WHERE area_code = 'PL' AND period_start "
             "IN ('2023-06-15', '2023-06-01', '2023-01-01') ORDER BY 1")
    assert public_conn.execute(shown).fetchall() == [("day", 1), ("month", 1), ("year", 1)]
    app_conn.execute("UPDATE core.reports SET abusive = true WHERE id = %s", [report])
    # kept (n = 0) until a rebuild, but a reader cannot tell that a report was once there
    assert app_conn.execute("SELECT count(*) FROM core.report_totals WHERE period_start = "
                            "'2023-06-15' AND n = 0").fetchone()[0] == 3  # Poland, county, voivodeship
    assert public_conn.execute(shown).fetchall() == []
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        public_conn.execute("SELECT n FROM core.report_totals")
    with pytest.raises(psycopg.errors.UndefinedColumn):
        public_conn.execute("SELECT xmin FROM open.report_totals")


def test_an_emptied_square_month_is_not_public_and_the_kept_table_is_private(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection, clean_reports: None) -> None:
    day = datetime(2023, 7, 15, 12, tzinfo=UTC)  # a month no other report of the tests has
    report = insert_report(app_conn, lon=WARSAW[0] - 0.05, lat=WARSAW[1] - 0.05, occurred_at=day,
                           created_at=day, published=True)
    shown = ("SELECT size_m, n, days FROM open.report_square_months WHERE month = '2023-07-01' "
             "ORDER BY 1")
    # the 16 and 64 km squares keep the (category, status) group (no day) and the day apart
    assert public_conn.execute(shown).fetchall() == [
        (size, 1, [date(2023, 7, 15)] if size < 16000 else [None, date(2023, 7, 15)])
        for size in report_squares.SIZES_M]
    app_conn.execute("UPDATE core.reports SET abusive = true WHERE id = %s", [report])
    # kept (n = 0) until a rebuild, but a reader cannot tell that a report was once there
    assert app_conn.execute("SELECT count(*) FROM core.report_square_months WHERE month = "
                            "'2023-07-01' AND n = 0 AND days = '{}'").fetchone()[0] == 4
    assert public_conn.execute(shown).fetchall() == []
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        public_conn.execute("SELECT n FROM core.report_square_months")
    with pytest.raises(psycopg.errors.UndefinedColumn):
        public_conn.execute("SELECT xmin FROM open.report_square_months")

"""Statistics that add up (issue 11, point 9), watched from outside.

Every total the public doors publish (GraphQL `stats` buckets and, with `totals: true`, the totals
over any subset of the grouped dimensions; the OGC `area-totals` collection) is the true number of
public reports it covers, counted from the unsuppressed counts, and is published only when that
number is at least k, like every cell. As in test_privacy.py, reports are written into core and
the public role (or an anonymous client) looks at `open`; the raw truth is read as the app role.
"""

import itertools
from collections import Counter
from datetime import UTC, date, datetime

import httpx
import psycopg
import pytest

from tests.support import PUBLISHED_KRAKOW, WARSAW, gql, insert_report

pytestmark = pytest.mark.usefixtures("clean_reports")

K = 3
DIMENSIONS = ("category_id", "status", "area_code", "month")
GRAPHQL_DIMENSION = {"category_id": "CATEGORY", "status": "STATUS", "area_code": "AREA", "month": "MONTH"}
CATEGORIES = ("vandalism", "speeding", "poaching", "illegal-dumping")
STATUSES = ("under_verification", "confirmed")
MONTHS = (datetime(2026, 3, 10, 12, tzinfo=UTC), datetime(2026, 4, 10, 12, tzinfo=UTC),
          datetime(2026, 5, 10, 12, tzinfo=UTC))


@pytest.fixture
def scattered(app_conn: psycopg.Connection) -> int:
    """Public reports spread thinly: almost every cell (area, category, status, month) holds 1 or
    2 reports, so the cells are suppressed, while the totals above them are well over k."""
    n = 0
    for i, (place, category, status, moment) in enumerate(
            itertools.product((WARSAW, PUBLISHED_KRAKOW), CATEGORIES, STATUSES, MONTHS)):
        for _ in range(1 + i % 2):
            insert_report(app_conn, lon=place[0], lat=place[1], category=category, status=status,
                          occurred_at=moment, created_at=moment, published=True)
            n += 1
    return n


def raw_sums(conn: psycopg.Connection, level: str, dims: tuple[str, ...]) -> Counter:
    """The true counts per value of `dims` at `level`, from the unsuppressed counts (app role)."""
    rows = conn.execute("""
        SELECT s.category_id, s.status, s.area_code, s.month, s.n FROM core.area_counts AS s
        JOIN core.areas AS a ON a.code = s.area_code WHERE a.level = %s""", [level]).fetchall()
    sums: Counter = Counter()
    for row in rows:
        values = dict(zip(DIMENSIONS, row[:4], strict=True))
        sums[tuple(values[d] for d in dims)] += row[4]
    return sums


def public_sums(conn: psycopg.Connection, level: str, dims: tuple[str, ...], totals: bool = False
                ) -> list[tuple]:
    return conn.execute("SELECT category_id, status, area_code, month, count, summed_over "
                        "FROM open.report_count_sums(%s, %s, %s)", [level, list(dims), totals]).fetchall()


def subsets(items: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [c for r in range(len(items) + 1) for c in itertools.combinations(items, r)]


# ---------------------------------------------------------------------------- the database

@pytest.mark.parametrize("level", ["voivodeship", "county"])
def test_every_published_sum_is_the_raw_count_and_at_least_k(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection, scattered: int, level: str) -> None:
    for dims in subsets(DIMENSIONS):
        truth = raw_sums(app_conn, level, dims)
        published = {tuple(dict(zip(DIMENSIONS, row[:4], strict=True))[d] for d in dims): row[4]
                     for row in public_sums(public_conn, level, dims)}
        assert published == {key: n for key, n in truth.items() if n >= K}, dims
        assert all(n >= K for n in published.values())


def test_a_total_is_not_a_sum_of_suppressed_cells(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection, scattered: int) -> None:
    """The issue's case: cells of 1 and 2 reports, all suppressed; the area's total is all of them."""
    cells = public_sums(public_conn, "voivodeship", DIMENSIONS)
    assert all(row[4] >= K for row in cells)
    cell_sum = sum(row[4] for row in cells)
    overall = public_sums(public_conn, "voivodeship", ())
    assert overall == [(None, None, None, None, scattered, [])]
    assert cell_sum < scattered
    assert public_conn.execute("SELECT count(*) FROM open.reports").fetchone()[0] == scattered


@pytest.mark.parametrize("level", ["voivodeship", "county"])
def test_totals_over_every_subset_are_raw_counts_at_least_k(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection, scattered: int, level: str) -> None:
    dims = ("category_id", "area_code", "month")
    rows = public_sums(public_conn, level, dims, totals=True)
    seen = set()
    for category, status, area, month, count, summed_over in rows:
        assert count >= K
        assert status is None
        values = {"category_id": category, "area_code": area, "month": month}
        kept = tuple(d for d in dims if d not in summed_over)
        assert all(values[d] is None for d in summed_over)
        assert count == raw_sums(app_conn, level, kept)[tuple(values[d] for d in kept)]
        seen.add(tuple(summed_over))
    assert seen >= {(), ("category_id",), ("category_id", "area_code", "month")}
    assert [row for row in rows if len(row[5]) == 3] == [(None, None, None, None, scattered, list(dims))]


def test_filters_apply_before_the_sum_and_k_after_it(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection, scattered: int) -> None:
    rows = public_conn.execute(
        "SELECT area_code, count FROM open.report_count_sums('county', ARRAY['area_code'], false, "
        "ARRAY['vandalism'], NULL, NULL, %s, %s)", [date(2026, 4, 1), date(2026, 5, 1)]).fetchall()
    truth = Counter()
    for (area, category, month), n in raw_sums(app_conn, "county",
                                               ("area_code", "category_id", "month")).items():
        if category == "vandalism" and date(2026, 4, 1) <= month <= date(2026, 5, 1):
            truth[area] += n
    assert dict(rows) == {area: n for area, n in truth.items() if n >= K} and rows


def test_the_sums_refuse_what_is_not_a_dimension(public_conn: psycopg.Connection) -> None:
    for bad in (["n"], ["geom"], ["category_id); SELECT 1; --"], [None]):
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="not a statistics dimension"):
            public_conn.execute("SELECT * FROM open.report_count_sums('county', %s::text[])", [bad])


def test_the_public_role_still_cannot_read_the_raw_counts(public_conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        public_conn.execute("SELECT * FROM core.area_counts LIMIT 1")


def test_ogc_area_totals_are_raw_counts_at_least_k(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection, scattered: int) -> None:
    rows = public_conn.execute("SELECT id, area_code, level, category_id, count "
                               "FROM open.ogc_area_totals").fetchall()
    per_area = {level: raw_sums(app_conn, level, ("area_code",)) for level in ("county", "voivodeship")}
    per_category = {level: raw_sums(app_conn, level, ("area_code", "category_id"))
                    for level in ("county", "voivodeship")}
    expected = set()
    for level in ("county", "voivodeship"):
        expected |= {(f"{a}:*", a, level, None, n) for (a,), n in per_area[level].items() if n >= K}
        expected |= {(f"{a}:{c}", a, level, c, n) for (a, c), n in per_category[level].items() if n >= K}
    assert set(rows) == expected and len(rows) == len(expected)
    assert all(count >= K for *_, count in rows)
    totals = [n for _, _, level, category, n in rows if level == "voivodeship" and category is None]
    assert sum(totals) == scattered


# ---------------------------------------------------------------------------- the doors

async def test_graphql_stats_counts_the_reports_and_gives_totals(
        graphql_client: httpx.AsyncClient, public_conn: psycopg.Connection, scattered: int) -> None:
    body = await gql(graphql_client, "{ stats(groupBy: [AREA]) { areaCode areaName count summedOver } }")
    assert sum(b["count"] for b in body["data"]["stats"]) == scattered
    assert all(b["summedOver"] == [] for b in body["data"]["stats"])
    body = await gql(graphql_client, """{ stats(groupBy: [AREA, CATEGORY], totals: true) {
        areaCode category count summedOver } }""")
    buckets = body["data"]["stats"]
    assert all(b["count"] >= K for b in buckets)
    overall = [b for b in buckets if b["summedOver"] == ["CATEGORY", "AREA"]]
    assert overall == [{"areaCode": None, "category": None, "count": scattered,
                        "summedOver": ["CATEGORY", "AREA"]}]
    per_area = {b["areaCode"]: b["count"] for b in buckets if b["summedOver"] == ["CATEGORY"]}
    assert sum(per_area.values()) == scattered and len(per_area) == 2
    per_category = {b["category"]: b["count"] for b in buckets if b["summedOver"] == ["AREA"]}
    assert set(per_category) == set(CATEGORIES) and sum(per_category.values()) == scattered


async def test_ogc_area_totals_collection(client: httpx.AsyncClient, scattered: int) -> None:
    response = await client.get("/ogc/collections/area-totals/items",
                                params={"f": "json", "limit": 1000, "level": "voivodeship"})
    assert response.status_code == 200, response.text
    features = response.json()["features"]
    overall = [f for f in features if f["properties"]["category_id"] is None]
    assert sum(f["properties"]["count"] for f in overall) == scattered and len(overall) == 2
    assert all(f["properties"]["count"] >= K for f in features)
    assert response.json()["numberMatched"] == len(features)
    item = await client.get(f"/ogc/collections/area-totals/items/{overall[0]['id']}", params={"f": "json"})
    assert item.status_code == 200 and item.json()["properties"] == overall[0]["properties"]
    assert overall[0]["id"].endswith(":*")

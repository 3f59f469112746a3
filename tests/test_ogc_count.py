"""numberMatched on every OGC items response (issue 11, point 2): exact, with every filter, so
QGIS shows the count and GDAL counts a collection without paging through it."""

import asyncio
import random
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.app import create_app
from gateway.settings import Settings
from store.locations import DatabaseUrls
from tests.support import PUBLISHED_KRAKOW, free_port, insert_report, insert_varied_reports, served

OGRINFO = shutil.which("ogrinfo")
KRAKOW_BOX = "19.8,49.95,20.1,50.15"
COUNTED = ["reports", "report-density", "area-statistics"]


@pytest.fixture
def more_reports(urls: DatabaseUrls, published: dict) -> Iterator[None]:
    """Beside `published` (5 vandalism in Kraków, 1 in Warsaw): 3 speeding in Kraków, so a bbox
    and a CQL2 filter each leave out some reports."""
    occurred = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)
    with psycopg.connect(urls.app, autocommit=True) as conn:
        ids = [insert_report(conn, lon=PUBLISHED_KRAKOW[0] + 0.01 + i * 1e-3, lat=PUBLISHED_KRAKOW[1],
                             category="speeding", occurred_at=occurred, created_at=occurred, published=True)
               for i in range(3)]
    yield
    with psycopg.connect(urls.app, autocommit=True) as conn:
        conn.execute("DELETE FROM core.reports WHERE id = ANY(%s)", [ids])


async def walk(client: httpx.AsyncClient, collection: str, **params: Any) -> tuple[list[dict], list[int]]:
    """Every feature of a request, page by page (offset), and each page's numberMatched."""
    features: list[dict] = []
    matched: list[int] = []
    while True:
        response = await client.get(f"/ogc/collections/{collection}/items",
                                    params={"f": "json", "limit": 2, "offset": len(features), **params})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["numberReturned"] == len(body["features"])
        matched.append(body["numberMatched"])
        features += body["features"]
        if not body["features"]:
            return features, matched


@pytest.mark.parametrize("collection", COUNTED)
async def test_every_page_carries_the_number_matched(client: httpx.AsyncClient, more_reports: None,
                                                     collection: str) -> None:
    features, matched = await walk(client, collection)
    assert len(features) >= 2, f"{collection}: too few features to page through"
    assert set(matched) == {len(features)}, matched  # the last, empty page too


async def test_number_matched_respects_bbox_cql2_and_datetime(client: httpx.AsyncClient,
                                                              more_reports: None) -> None:
    everything, _ = await walk(client, "reports")
    in_krakow, _ = await walk(client, "reports", bbox=KRAKOW_BOX)
    filtered, matched = await walk(client, "reports", bbox=KRAKOW_BOX, filter="category_id = 'vandalism'",
                                   **{"filter-lang": "cql2-text"})
    assert len(everything) > len(in_krakow) > len(filtered) > 0
    assert set(matched) == {len(filtered)} == {5}
    dated, matched = await walk(client, "reports", bbox=KRAKOW_BOX, datetime="2026-03-06/..")
    assert set(matched) == {len(dated)} == {3}
    by_property, matched = await walk(client, "reports", category_id="speeding")
    assert set(matched) == {len(by_property)} == {3}
    none, matched = await walk(client, "reports", filter="category_id = 'no-such-category'")
    assert none == [] and matched == [0]


async def test_hits_answers_the_count_alone(client: httpx.AsyncClient, more_reports: None) -> None:
    response = await client.get("/ogc/collections/reports/items",
                                params={"f": "json", "resulttype": "hits", "bbox": KRAKOW_BOX})
    assert response.status_code == 200, response.text
    assert response.json()["numberMatched"] == 8 and response.json()["features"] == []


class RequestLog:
    """The paths of the requests the server sees (an ASGI wrapper around the real app)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


@pytest.fixture
async def logged_server(settings: Settings) -> AsyncIterator[tuple[str, RequestLog]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = RequestLog(create_app(settings.model_copy(update={"port": port, "public_url": url})))
    async with served(log, port, startup_timeout=60):  # type: ignore[arg-type]
        yield url, log


@pytest.mark.skipif(OGRINFO is None, reason="GDAL's ogrinfo is not installed "
                    "(Debian: apt-get install gdal-bin; .ci/run installs it)")
async def test_ogrinfo_counts_a_collection_with_a_few_requests(
        logged_server: tuple[str, RequestLog], more_reports: None) -> None:
    """A page of 2 features: without numberMatched GDAL walks all 9 reports (5 pages)."""
    url, log = logged_server
    result = await asyncio.to_thread(
        subprocess.run, [OGRINFO, "-ro", "-so", "-oo", "PAGE_SIZE=2", f"OAPIF:{url}/ogc", "reports"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^Feature Count: 9$", result.stdout, flags=re.MULTILINE), result.stdout
    item_requests = [p for p in log.paths if p == "/ogc/collections/reports/items"]
    assert 1 <= len(item_requests) <= 2, log.paths



async def test_a_large_match_is_the_planners_estimate(client: httpx.AsyncClient, more_reports: None,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Above EXACT_BELOW expected matches numberMatched is the planner's estimate, never less than
    the features the client can already see plus one (a full page: more may follow); the last
    page's count stays exact."""
    from ogc import provider
    monkeypatch.setattr(provider, "EXACT_BELOW", 0)
    # a CQL2 filter: one the counts kept per cell do not answer (they would count exactly)
    first = (await client.get("/ogc/collections/reports/items",
                              params={"f": "json", "limit": 2, "filter": "category_id <> 'none'"})).json()
    assert first["numberReturned"] == 2 and isinstance(first["numberMatched"], int)
    assert first["numberMatched"] >= 3
    last = (await client.get("/ogc/collections/reports/items",
                             params={"f": "json", "limit": 2, "offset": 8})).json()
    assert (last["numberReturned"], last["numberMatched"]) == (1, 9)


# -- from the counts kept per cell (store/report_cells.py, `cell_counts` of `reports`) ---------

@pytest.fixture
def spread(urls: DatabaseUrls, published: dict) -> Iterator[list[tuple[float, float]]]:
    """Beside `published`: 60 reports around Kraków over categories, statuses and days, several
    to a cell; yields the public points of the reports collection (for boxes on their edges)."""
    yield from varied_points(urls, random.Random(1603), 60, 0.03, 0.02,
                             datetime(2026, 2, 1, 9, 0, tzinfo=UTC), 6)


def varied_points(urls: DatabaseUrls, rng: random.Random, count: int, dx: float, dy: float,
                  start: datetime, days: int) -> Iterator[list[tuple[float, float]]]:
    """insert_varied_reports around Kraków for as long as a fixture lasts; yields the public
    points of the reports collection (for boxes on their edges)."""
    with psycopg.connect(urls.app, autocommit=True) as conn:
        ids = insert_varied_reports(conn, rng, count, around=PUBLISHED_KRAKOW, dx=dx, dy=dy, start=start,
                                    days=days)
        points = conn.execute("SELECT DISTINCT ST_X(geom), ST_Y(geom) FROM open.ogc_reports").fetchall()
    yield points
    with psycopg.connect(urls.app, autocommit=True) as conn:
        conn.execute("DELETE FROM core.reports WHERE id = ANY(%s)", [ids])


def count_sql(bbox: tuple[float, ...], properties: dict[str, str]) -> tuple[str, list[Any]]:
    """count(*) of open.ogc_reports as the OGC page selects them."""
    where = ["ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))"]
    where += [f"{name}::text = %s" for name in properties]
    return f"SELECT count(*) FROM open.ogc_reports WHERE {' AND '.join(where)}", [*bbox, *properties.values()]


async def test_number_matched_from_the_cells_is_the_exact_count(client: httpx.AsyncClient, urls: DatabaseUrls,
                                                                spread: list[tuple[float, float]],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Random boxes (many with an edge exactly on a public point, where the cells' && would
    count differently from the page's ST_Intersects) and property filters: numberMatched of a
    first page, on the path before pygeoapi and on pygeoapi's (sortby), equals count(*)."""
    from ogc import provider
    monkeypatch.setattr(provider, "EXACT_BELOW", 0)   # without the cells: the planner's estimate
    rng = random.Random(16)
    values = {"category_id": ["vandalism", "speeding", "minors-at-risk"], "status": ["new", "confirmed"],
              "occurred_on": [f"2026-02-0{d}" for d in range(1, 7)]}
    counted = 0
    with psycopg.connect(urls.app) as conn:
        for _ in range(40):
            x0, y0 = rng.choice(spread)
            x1, y1 = rng.choice(spread) if rng.random() < 0.5 else (x0 + rng.uniform(0, 0.04),
                                                                     y0 + rng.uniform(0, 0.03))
            bbox = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
            if (bbox[2] - bbox[0]) * (bbox[3] - bbox[1]) > provider.CELLS_MAX_BBOX_DEG2:
                continue   # wider boxes get the planner's estimate, whatever ANALYZE last saw
            names = rng.sample(sorted(values), rng.randrange(3))
            properties = {name: rng.choice(values[name]) for name in names}
            expected = conn.execute(*count_sql(bbox, properties)).fetchone()[0]
            params = {"f": "json", "limit": 1, "bbox": ",".join(repr(v) for v in bbox), **properties}
            for extra in ({}, {"sortby": "id"}):
                body = (await client.get("/ogc/collections/reports/items", params=params | extra)).json()
                assert body["numberMatched"] == expected, (params, extra)
            counted += expected > 1   # a full first page: counted from the cells
    assert counted >= 10


async def test_number_matched_of_a_big_box_is_exact_from_the_squares(
        client: httpx.AsyncClient, urls: DatabaseUrls, spread: list[tuple[float, float]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A box wider than CELLS_MAX_BBOX_DEG2 (up to all of Poland), alone or with one category
    and one status: numberMatched from the squares kept per coarse square
    (store/report_squares.py), exact on both paths where the planner's estimate was before."""
    from ogc import provider
    monkeypatch.setattr(provider, "EXACT_BELOW", 0)   # without the squares: the estimate
    boxes = [(14.0, 49.0, 24.2, 54.9), (18.5, 49.2, 21.3, 51.1), (19.9, 49.9, 21.0, 51.0),
             (PUBLISHED_KRAKOW[0] - 0.02, 49.0, 21.5, PUBLISHED_KRAKOW[1] + 0.01)]
    with psycopg.connect(urls.app) as conn:
        for bbox in boxes:
            assert (bbox[2] - bbox[0]) * (bbox[3] - bbox[1]) > provider.CELLS_MAX_BBOX_DEG2
            for properties in ({}, {"category_id": "vandalism"}, {"status": "new"},
                               {"category_id": "speeding", "status": "confirmed"}):
                expected = conn.execute(*count_sql(bbox, properties)).fetchone()[0]
                params = {"f": "json", "limit": 1, "bbox": ",".join(repr(v) for v in bbox), **properties}
                for extra in ({}, {"sortby": "id"}):
                    body = (await client.get("/ogc/collections/reports/items", params=params | extra)).json()
                    assert body["numberMatched"] == expected, (params, extra)


@pytest.fixture
def seasons(urls: DatabaseUrls, published: dict) -> Iterator[list[tuple[float, float]]]:
    """Beside `published`: 90 reports around Kraków over 90 days from 2025-12-15 (three month
    ends, a year's), several to a cell; yields the public points of the reports collection."""
    yield from varied_points(urls, random.Random(1606), 90, 0.3, 0.2,
                             datetime(2025, 12, 15, 9, 0, tzinfo=UTC), 90)


def dated_count_sql(bbox: tuple[float, ...], properties: dict[str, str], datetime_: str
                    ) -> tuple[str, list[Any]]:
    """count(*) of open.ogc_reports as the OGC page selects them with a `datetime`: its days
    (a date-time's date), both ends included, ".." or "" open."""
    sql_text, params = count_sql(bbox, properties)
    ends = datetime_.split("/") if "/" in datetime_ else [datetime_, datetime_]
    for end, op in zip(ends, (">=", "<="), strict=True):
        if end not in ("", ".."):
            sql_text += f" AND occurred_on {op} %s::date"
            params.append(datetime.fromisoformat(end).date() if "T" in end else end)
    return sql_text, params


async def test_number_matched_of_a_box_and_a_datetime_is_exact_from_the_squares(
        client: httpx.AsyncClient, urls: DatabaseUrls, seasons: list[tuple[float, float]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A box not small (its shorter side at least SQUARES_MIN_BBOX_DEG, some with an edge on a
    public point) with a `datetime` (a day, a range within a month or across month and year
    ends, open at either end, date-times, an empty one), alone or with a category and a status:
    numberMatched from the squares' months (open.report_squares_count), exact on both paths,
    where the planner's estimate answered before (here made always wrong, so that none can pass
    for exact)."""
    from ogc import provider
    from store import report_totals
    monkeypatch.setattr(provider, "EXACT_BELOW", 0)
    monkeypatch.setattr(provider, "plan_rows", lambda row: 999_999)
    rng = random.Random(16)
    boxes = [(14.0, 49.0, 24.2, 54.9), (19.5, 49.8, 20.4, 50.3),
             (PUBLISHED_KRAKOW[0] - 0.05, PUBLISHED_KRAKOW[1] - 0.05, 20.1, 50.2)]
    while len(boxes) < 7:   # edges on public points
        (x0, y0), (x1, y1) = rng.sample(seasons, 2)
        box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        if min(box[2] - box[0], box[3] - box[1]) >= report_totals.SQUARES_MIN_BBOX_DEG:
            boxes.append(box)
    datetimes = ["2026-01-15", "2026-01-01/2026-01-31", "2026-01-10/2026-01-20",
                 "2025-12-20/2026-02-10", "2025-12-31/2026-01-01", "2026-02-28/2026-03-01",
                 "../2026-01-15", "2026-02-15/..", "2026-01-01/..", "../2025-12-31",
                 "2026-01-10T12:00:00Z/2026-03-01T00:00:00Z", "2026-03-01/2026-02-01"]
    properties_list = [{}, {"category_id": "vandalism"}, {"status": "new"},
                       {"category_id": "speeding", "status": "confirmed"}]
    counted = 0
    with psycopg.connect(urls.app) as conn:
        for bbox in boxes:
            for datetime_ in datetimes:
                properties = rng.choice(properties_list)
                expected = conn.execute(*dated_count_sql(bbox, properties, datetime_)).fetchone()[0]
                params = {"f": "json", "limit": 1, "bbox": ",".join(repr(v) for v in bbox),
                          "datetime": datetime_, **properties}
                for extra in ({}, {"sortby": "id"}):
                    body = (await client.get("/ogc/collections/reports/items", params=params | extra)).json()
                    assert body.get("numberMatched") == expected, (params, extra, body.get("code"))
                counted += expected > 1   # a full first page: counted from the squares
    assert counted >= 30


# -- without a bbox: the totals kept per area, a kept total, count(*) (issue 16 review) ---------

def unbounded_count_sql(view: str, properties: dict[str, str], months: tuple[str, str] | None = None
                        ) -> tuple[str, list[Any]]:
    """count(*) of an OGC view as its page selects it without a bbox (`months`: the datetime's
    first and last day, ".." for open)."""
    where = ["true", *(f"{name}::text = %s" for name in properties)]
    column = "month" if view == "ogc_report_density" else "occurred_on"
    bounds = [v for v in months or () if v != ".."]
    if months and months[0] != "..":
        where.append(f"{column} >= %s::date")
    if months and months[1] != "..":
        where.append(f"{column} <= %s::date")
    return f"SELECT count(*) FROM open.{view} WHERE {' AND '.join(where)}", [*properties.values(), *bounds]


async def test_number_matched_without_a_bbox_is_exact(client: httpx.AsyncClient, urls: DatabaseUrls,
                                                      spread: list[tuple[float, float]],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """No bbox: `reports` unfiltered and by category, status, day and datetime
    (open.report_totals), `report-density` by any property and datetime (count(*) of the
    published index): numberMatched of a first page equals count(*) on both paths, where the
    planner's estimate answered before (here made always wrong, so that none can pass for
    exact)."""
    from ogc import provider
    monkeypatch.setattr(provider, "EXACT_BELOW", 0)
    monkeypatch.setattr(provider, "plan_rows", lambda row: 999_999)
    reports = [{}, {"category_id": "vandalism"}, {"status": "new"}, {"occurred_on": "2026-02-03"},
               {"category_id": "speeding", "status": "confirmed"},
               {"category_id": "vandalism", "status": "new", "occurred_on": "2026-02-02"},
               {"category_id": "no-such-category"}]
    density = [{}, {"category_id": "vandalism"}, {"status": "new"}, {"month": "2026-02-01"},
               {"category_id": "speeding", "status": "confirmed"}, {"cell_m": "1000"}, {"count": "3"}]
    dated = [({}, ("2026-02-02", "2026-02-04")), ({"category_id": "vandalism"}, ("2026-02-03", "..")),
             ({"status": "new"}, ("..", "2026-02-02")), ({}, ("2026-02-05", "2026-02-05"))]
    cases = [("reports", "ogc_reports", p, None) for p in reports] \
        + [("reports", "ogc_reports", p, days) for p, days in dated] \
        + [("report-density", "ogc_report_density", p, None) for p in density] \
        + [("report-density", "ogc_report_density", {}, ("2026-02-01", "2026-02-28")),
           ("report-density", "ogc_report_density", {"status": "new"}, ("2026-01-01", "2026-03-31"))]
    counted = 0
    with psycopg.connect(urls.app) as conn:
        for collection, view, properties, months in cases:
            expected = conn.execute(*unbounded_count_sql(view, properties, months)).fetchone()[0]
            params = {"f": "json", "limit": 1, **properties}
            if months:
                params["datetime"] = months[0] if months[0] == months[1] else "/".join(months)
            for extra in ({}, {"sortby": "id"}):
                response = await client.get(f"/ogc/collections/{collection}/items", params=params | extra)
                body = response.json()
                assert body.get("numberMatched") == expected, (collection, params, extra, body.get("code"))
            counted += expected > 1   # a full first page: not the last page's free count
    assert counted >= 10

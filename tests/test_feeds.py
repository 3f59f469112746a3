"""Atom feeds of newly published reports per county (TERYT) and per category (issue 14,
point 4): valid Atom documents that a feed reader reads, public fields only, in the order of
publication, 404 for what does not exist, and an index page; tested as an attacker would."""

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import feedparser
import httpx
import psycopg
import pytest
from lxml import etree

from gateway.settings import Settings
from store.locations import DatabaseUrls
from tests.support import PUBLISHED_KRAKOW, insert_report, running_app

ATOM = "{http://www.w3.org/2005/Atom}"
GEORSS = "{http://www.georss.org/georss}"
PRIVATE = ("a private description", "private@example.org")


@pytest.fixture(scope="module")
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(settings) as (client, _):
        yield client


@pytest.fixture(scope="module")
def krakow_county(urls: DatabaseUrls, published: dict[str, uuid.UUID]) -> str:
    with psycopg.connect(urls.public) as conn:
        return conn.execute("SELECT county_code FROM open.reports WHERE id = %s",
                            [published["krakow-0"]]).fetchone()[0]


@pytest.fixture(scope="module")
def unpublished(urls: DatabaseUrls, published: dict[str, uuid.UUID]) -> Iterator[uuid.UUID]:
    """A report in the same place that is not public (yet)."""
    with psycopg.connect(urls.app, autocommit=True) as conn:
        report = insert_report(conn, lon=PUBLISHED_KRAKOW[0], lat=PUBLISHED_KRAKOW[1],
                               category="vandalism", published=False)
    yield report
    with psycopg.connect(urls.app, autocommit=True) as conn:
        conn.execute("DELETE FROM core.reports WHERE id = %s", [report])


def structure_problems(document: bytes) -> list[str]:
    """RFC 4287's rules for what a feed and an entry must hold (section 4.1)."""
    root = etree.fromstring(document)
    problems = []
    if root.tag != f"{ATOM}feed":
        return [f"root is {root.tag}"]
    for tag in ("id", "title", "updated"):
        if len(root.findall(f"{ATOM}{tag}")) != 1:
            problems.append(f"feed needs exactly one atom:{tag}")
    if not root.findall(f"{ATOM}author"):
        problems.append("feed without author (entries have none)")
    if not [link for link in root.findall(f"{ATOM}link") if link.get("rel") == "self"]:
        problems.append("feed without rel=self link")
    stamp = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})")
    for updated in root.iter(f"{ATOM}updated", f"{ATOM}published"):
        if not stamp.fullmatch(updated.text or ""):
            problems.append(f"not an RFC 3339 date: {updated.text}")
    for entry in root.findall(f"{ATOM}entry"):
        for tag in ("id", "title", "updated"):
            if len(entry.findall(f"{ATOM}{tag}")) != 1:
                problems.append(f"entry needs exactly one atom:{tag}")
        if not entry.findall(f"{ATOM}link[@rel='alternate']") and entry.find(f"{ATOM}content") is None:
            problems.append("entry without content or alternate link")
    return problems


async def test_county_feed_is_valid_atom_with_the_published_reports(
        http: httpx.AsyncClient, krakow_county: str, published: dict[str, uuid.UUID],
        public_conn: psycopg.Connection) -> None:
    answer = await http.get(f"/feeds/counties/{krakow_county}.atom")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    assert structure_problems(answer.content) == []
    parsed = feedparser.parse(answer.content)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.feed.title.startswith("threatmap: nowe zgłoszenia, powiat")
    ids = {entry.id for entry in parsed.entries}
    krakow = {f"urn:uuid:{v}" for k, v in published.items() if k.startswith("krakow")}
    assert krakow <= ids
    assert f"urn:uuid:{published['warsaw']}" not in ids
    # the point is the public cell centre, as open.reports has it
    root = etree.fromstring(answer.content)
    for entry in root.findall(f"{ATOM}entry"):
        report = entry.findtext(f"{ATOM}id").removeprefix("urn:uuid:")
        lat, lon = public_conn.execute("SELECT ST_Y(geom), ST_X(geom) FROM open.reports WHERE id = %s",
                                       [report]).fetchone()
        point = [float(v) for v in entry.findtext(f"{GEORSS}point").split()]
        assert point == pytest.approx([lat, lon], abs=1e-6)
        assert entry.find(f"{ATOM}category").get("term")


async def test_entries_carry_no_private_field_and_no_time_of_day(
        http: httpx.AsyncClient, krakow_county: str, unpublished: uuid.UUID,
        published: dict[str, uuid.UUID], urls: DatabaseUrls) -> None:
    answer = await http.get(f"/feeds/counties/{krakow_county}.atom", params={"lang": "en"})
    text = answer.text
    for secret in PRIVATE:
        assert secret not in text
    assert str(unpublished) not in text
    # every date is a day: midnight UTC, never the report's time of day
    for stamp in re.findall(r"<(?:updated|published)>([^<]+)<", text):
        assert stamp.endswith("T00:00:00Z"), stamp
    # the exact point appears nowhere
    with psycopg.connect(urls.app) as conn:
        lon, lat = conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM core.reports WHERE id = %s",
                                [published["krakow-1"]]).fetchone()
    assert f"{lat:.6f} {lon:.6f}" not in text
    # entry ids are the public ids, and nothing else identifies a report
    root = etree.fromstring(answer.content)
    public = {f"urn:uuid:{v}" for v in published.values()}
    for entry in root.findall(f"{ATOM}entry"):
        assert entry.findtext(f"{ATOM}id") in public
        links = [link.get("href") for link in entry.findall(f"{ATOM}link")]
        assert all(entry.findtext(f"{ATOM}id").removeprefix("urn:uuid:") in link for link in links)


async def test_category_feed_lists_the_category(http: httpx.AsyncClient,
                                                published: dict[str, uuid.UUID]) -> None:
    answer = await http.get("/feeds/categories/vandalism.atom", params={"lang": "en"})
    assert answer.status_code == 200
    parsed = feedparser.parse(answer.content)
    assert not parsed.bozo
    assert parsed.feed.title == "threatmap: new reports, category Vandalism"
    assert {f"urn:uuid:{v}" for v in published.values()} <= {e.id for e in parsed.entries}
    assert all(e.tags[0].term == "vandalism" for e in parsed.entries)


async def test_feed_is_ordered_by_publication_day(http: httpx.AsyncClient, urls: DatabaseUrls,
                                                  krakow_county: str,
                                                  published: dict[str, uuid.UUID]) -> None:
    """A report published days ago comes after those published today."""
    with psycopg.connect(urls.app, autocommit=True) as conn:
        old = insert_report(conn, lon=PUBLISHED_KRAKOW[0], lat=PUBLISHED_KRAKOW[1], published=True)
        conn.execute("UPDATE core.reports SET published_at = now() - interval '3 days' WHERE id = %s",
                     [old])
    try:
        parsed = feedparser.parse((await http.get(f"/feeds/counties/{krakow_county}.atom")).content)
        ids = [entry.id for entry in parsed.entries]
        assert ids[-1] == f"urn:uuid:{old}"
        days = [entry.updated for entry in parsed.entries]
        assert days == sorted(days, reverse=True)
        three_days_ago = (datetime.now(UTC) - timedelta(days=3)).date()
        assert abs((datetime.fromisoformat(days[-1].replace("Z", "+00:00")).date()
                    - three_days_ago).days) <= 1
    finally:
        with psycopg.connect(urls.app, autocommit=True) as conn:
            conn.execute("DELETE FROM core.reports WHERE id = %s", [old])


async def test_feed_changes_with_publication_and_revalidates(http: httpx.AsyncClient, urls: DatabaseUrls,
                                                             krakow_county: str) -> None:
    first = await http.get(f"/feeds/counties/{krakow_county}.atom")
    same = await http.get(f"/feeds/counties/{krakow_county}.atom",
                          headers={"If-None-Match": first.headers["etag"]})
    assert same.status_code == 304
    with psycopg.connect(urls.app, autocommit=True) as conn:
        new = insert_report(conn, lon=PUBLISHED_KRAKOW[0], lat=PUBLISHED_KRAKOW[1], published=True)
    try:
        changed = await http.get(f"/feeds/counties/{krakow_county}.atom",
                                 headers={"If-None-Match": first.headers["etag"]})
        assert changed.status_code == 200
        assert f"urn:uuid:{new}" in changed.text
    finally:
        with psycopg.connect(urls.app, autocommit=True) as conn:
            conn.execute("DELETE FROM core.reports WHERE id = %s", [new])


@pytest.mark.parametrize("path", [
    "/feeds/counties/9999.atom",            # no such county
    "/feeds/counties/14.atom",              # a voivodeship, not a county
    "/feeds/counties/1465%00.atom",
    "/feeds/counties/abcd.atom",
    "/feeds/counties/" + "1" * 300 + ".atom",
    "/feeds/categories/no-such-category.atom",
    "/feeds/categories/VANDALISM.atom",
    "/feeds/categories/%27%20OR%201=1.atom",
    "/feeds/categories/vandalism.rss",
])
async def test_unknown_feed_is_404(http: httpx.AsyncClient, path: str) -> None:
    answer = await http.get(path)
    assert answer.status_code == 404, (path, answer.status_code, answer.text[:200])


async def test_index_page_lists_the_feeds_in_polish_and_english(http: httpx.AsyncClient,
                                                                krakow_county: str) -> None:
    polish = await http.get("/feeds")
    english = await http.get("/feeds", params={"lang": "en"})
    assert polish.status_code == english.status_code == 200
    assert "Kanały Atom nowo opublikowanych zgłoszeń" in polish.text
    assert "Atom feeds of newly published reports" in english.text
    for page in (polish, english):
        assert f"/feeds/counties/{krakow_county}.atom" in page.text
        assert "/feeds/categories/vandalism.atom" in page.text
        assert "<script" not in page.text
    assert len(re.findall(r"/feeds/counties/\d{4}\.atom", polish.text)) > 300   # every county

"""What the open-data door costs on a large public layer: a county's and a category's Atom feed
(the query, then the whole HTTP answer, and side by side the county query as it was before the
publication day was stored), and the catalogue's own reads and graph.

    python -m bench.catalog_feeds [--database-url URL] [--reports N] [--samples 30]

Without --database-url it uses the benchmark database of bench/common.py (bench/.work, --reports
synthetic reports loaded on first use). It writes nothing.
"""

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import httpx
from asgi_lifespan import LifespanManager
from psycopg_pool import AsyncConnectionPool

from bench.common import database
from catalog.graph import CatalogInputs, Publisher, build_graph
from downloads.manifest import Manifest, ManifestFile
from gateway.app import create_app
from gateway.settings import Settings
from store import catalog, reference
from store.catalog import COUNTY_FEED_SQL
from store.rows import fetch

BIGGEST_COUNTY = """SELECT county_code, count(*) FROM open.reports GROUP BY 1 ORDER BY 2 DESC LIMIT 1"""
BIGGEST_CATEGORY = """SELECT category_id, count(*) FROM open.reports GROUP BY 1 ORDER BY 2 DESC LIMIT 1"""
# open.report_feed before migration 0017 (store/sql/88_catalog.sql until c94ef3d): the publication
# day computed through core.reports and the policy's time zone for every public report of the
# county before the newest could be picked. The "before" of bench/RESULTS.md "Feeds of a big
# county"; it reads core, so it runs on the application role.
FEED_BEFORE_0017 = """(
    SELECT o.id, o.category_id, o.status, o.occurred_on, o.date_precision, o.cell_m,
           o.voivodeship_code, o.county_code, o.geom,
           CASE WHEN o.date_precision = 'month'
                THEN date_trunc('month', r.published_at AT TIME ZONE p.timezone)::date
                ELSE (r.published_at AT TIME ZONE p.timezone)::date END AS published_on
    FROM open.reports AS o
    JOIN core.reports AS r ON r.id = o.id
    CROSS JOIN core.privacy_policy AS p
) AS f"""
COUNTY_FEED_BEFORE_0017_SQL = COUNTY_FEED_SQL.replace("open.report_feed AS f", FEED_BEFORE_0017)
assert COUNTY_FEED_BEFORE_0017_SQL != COUNTY_FEED_SQL


def summary(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    return (f"median {statistics.median(ms):.1f} ms, p95 {ms[round(0.95 * (len(ms) - 1))]:.1f} ms, "
            f"max {ms[-1]:.1f} ms (n={len(ms)})")


async def timed(call: Callable[[], Awaitable[object]], samples: int) -> list[float]:
    await call()                                   # warm: plans, caches
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        await call()
        times.append(time.perf_counter() - start)
    return times


def year_of_archives() -> Manifest:
    files = []
    for month in range(1, 13):
        for dataset in ("reports", "report-density", "area-statistics", "police-statistics"):
            for fmt in ("gpkg", "csv"):
                files.append(ManifestFile(
                    f"monthly/2025-{month:02d}/{dataset}.{fmt}", dataset, "monthly", f"2025-{month:02d}",
                    fmt, "text/csv", 1000, "ab" * 32, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z",
                    f"2025-{month:02d}-01", f"2025-{month:02d}-28", 1))
    return Manifest(None, files)


async def run(args: argparse.Namespace) -> None:
    with database(args.database_url, args.reports) as urls:
        async with (AsyncConnectionPool(urls.public, min_size=1, max_size=2, open=False) as pool,
                    AsyncConnectionPool(urls.app, min_size=1, max_size=1, open=False) as app_pool):
            await pool.wait()
            await app_pool.wait()
            async with pool.connection() as conn:
                public = (await (await conn.execute("SELECT count(*) FROM open.reports")).fetchone())[0]
                county, in_county = await (await conn.execute(BIGGEST_COUNTY)).fetchone()
                category, in_category = await (await conn.execute(BIGGEST_CATEGORY)).fetchone()
            print(f"{public} public reports; county {county}: {in_county}, category {category}: "
                  f"{in_category}")
            n = args.samples
            print("county feed query (50 newest):  ",
                  summary(await timed(lambda: catalog.county_feed(pool, county, 50), n)))
            print("  the same before 0017 (day through core):",
                  summary(await timed(lambda: fetch(app_pool, COUNTY_FEED_BEFORE_0017_SQL,
                                                    {"key": county, "limit": 50}, prepare=False), n)))
            print("category feed query (50 newest):",
                  summary(await timed(lambda: catalog.category_feed(pool, category, 50), n)))
            print("catalogue reads (extent, categories):",
                  summary(await timed(lambda: asyncio.gather(catalog.report_extent(pool),
                                                             reference.all_categories(pool)), n)))
            categories = await reference.all_categories(pool)
        inputs = CatalogInputs("http://bench", Publisher("bench", None, "a@b.pl"), year_of_archives(),
                               tuple(categories))
        start = time.perf_counter()
        graph = build_graph(inputs)
        built = time.perf_counter()
        body = graph.serialize(format="turtle")
        print(f"catalogue of 96 monthly files: {len(graph)} triples, build "
              f"{(built - start) * 1000:.0f} ms, Turtle {(time.perf_counter() - built) * 1000:.0f} ms, "
              f"{len(body)} bytes")
        settings = Settings(database_url=urls.app, public_database_url=urls.public,
                            allowed_hosts=["testserver"], maintenance_interval_s=3600)
        app = create_app(settings)
        async with LifespanManager(app, startup_timeout=120) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                path = f"/feeds/counties/{county}.atom"
                print(f"GET {path} (HTTP, in process):",
                      summary(await timed(lambda: http.get(path), n)))
                etag = (await http.get(path)).headers["etag"]
                print("  revalidated (304):            ",
                      summary(await timed(lambda: http.get(path, headers={"If-None-Match": etag}), n)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=30)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

"""`python -m bench.point_tiles DATABASE_URL`: what the point tiles at z 12-14 cost in the database
with one feature a report (as before issue 16.5), with the reports sharing cell, category, status
and date as one feature grouped from open.reports (the first step of 16.5), and with one feature
a cell read from the counts kept per cell (tiles/queries.py, open.report_cells), on the same tiles.

Tiles: points sampled from open.reports (deterministic, as the tiles suite), one zoom each from
12 to 14. Each statement is the full tile statement (tiles.queries.tile_statement, and the same
with the old reports layer), run by one client on the public role, twice over the list (the
first pass warms the cache); the second pass is measured: p50/p95/max ms, features and bytes.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import mercantile
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run by path: the project's packages

from store.locations import external_urls
from tiles import queries
from tiles.addresses import TileAddress
from tiles.filters import TileFilters

ZOOMS = (12, 13, 14)
SAMPLE = """
SELECT ST_X(geom), ST_Y(geom) FROM open.reports TABLESAMPLE BERNOULLI (%(percent)s) REPEATABLE (7)
ORDER BY id LIMIT %(count)s
"""
FEATURES = "SELECT count(*) FROM open.reports WHERE geom_3857 && ST_TileEnvelope(%(z)s, %(x)s, %(y)s)"


def one_a_report(address: TileAddress, filters: TileFilters, cell_m: int) -> tuple[sql.Composable, dict]:
    """The statement as before issue 16.5: one feature a report, no id below zoom 15."""
    _, params = queries.tile_statement(address, filters, cell_m)
    layer = queries._layer(queries.REPORTS, id=sql.SQL(""), conditions=sql.SQL(""))
    return sql.SQL(queries.TILE).format(layers=layer), params


# The grouped layer of the first step of 16.5, kept here to measure against.
GROUPED_FROM_REPORTS = """
SELECT ST_AsMVT(t, 'reports', {extent}, 'geom') FROM (
    SELECT ST_AsMVTGeom(g.geom_3857, {envelope}, {extent}, {buffer}, true) AS geom,
           g.category, g.status, g.date, g.count
    FROM (SELECT r.geom_3857, r.category_id AS category, r.status,
                 CASE WHEN r.date_precision = 'month' THEN to_char(r.occurred_on, 'YYYY-MM')
                      ELSE to_char(r.occurred_on, 'YYYY-MM-DD') END AS date,
                 count(*)::integer AS count
          FROM open.reports AS r
          WHERE r.geom_3857 && {search}
          GROUP BY 1, 2, 3, 4) AS g
    ORDER BY g.date, g.category, g.status, g.geom_3857
) AS t
"""


def grouped_from_reports(address: TileAddress, filters: TileFilters, cell_m: int
                         ) -> tuple[sql.Composable, dict]:
    _, params = queries.tile_statement(address, filters, cell_m)
    return sql.SQL(queries.TILE).format(layers=queries._layer(GROUPED_FROM_REPORTS)), params


def measure(conn: psycopg.Connection, tiles: list[mercantile.Tile], build) -> dict:
    times, sizes = [], []
    for run in range(2):
        for t in tiles:
            statement, params = build(TileAddress(t.z, t.x, t.y), TileFilters(), 250)
            start = time.perf_counter()
            row = conn.execute(statement, params, prepare=False).fetchone()
            if run:
                times.append((time.perf_counter() - start) * 1000)
                sizes.append(len(row[1]))
    q = statistics.quantiles(times, n=100)
    return {"p50": q[49], "p95": q[94], "max": max(times), "bytes": statistics.mean(sizes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database_url", help="the threatmap database, owner role (threatmap_app)")
    parser.add_argument("--tiles", type=int, default=300)
    args = parser.parse_args()
    public = external_urls(args.database_url, None).public
    with psycopg.connect(args.database_url) as conn:
        total = conn.execute("SELECT count(*) FROM open.reports").fetchone()[0]
        percent = min(100.0, 100.0 * args.tiles * 3 / max(total, 1))
        points = conn.execute(SAMPLE, {"percent": percent, "count": args.tiles}).fetchall()
    tiles = [mercantile.tile(lon, lat, ZOOMS[i % len(ZOOMS)]) for i, (lon, lat) in enumerate(points)]
    with psycopg.connect(public, autocommit=True) as conn:
        reports = [conn.execute(FEATURES, {"z": t.z, "x": t.x, "y": t.y}).fetchone()[0] for t in tiles]
        print(f"{total:,} public reports; {len(tiles)} tiles at z {ZOOMS[0]}-{ZOOMS[-1]}, "
              f"reports a tile: median {statistics.median(reports):.0f}, max {max(reports)}")
        print("| reports layer | p50 ms | p95 ms | max ms | mean bytes |\n|---|---:|---:|---:|---:|")
        for name, build in (("one feature a report (before 16.5)", one_a_report),
                            ("grouped by cell, category, status, date from open.reports",
                             grouped_from_reports),
                            ("one feature a cell from open.report_cells (now)",
                             queries.tile_statement)):
            r = measure(conn, tiles, build)
            print(f"| {name} | {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} | {r['bytes']:.0f} |")


if __name__ == "__main__":
    main()

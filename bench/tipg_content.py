"""tipg content for content (issue 16): tipg pointed at the very relations our tiles read, with
the same columns, so the comparison is of two servers making the same tiles, not of our
precomputed layers against raw points.

For each tile of the list, by zoom (tiles.queries.layers_for):
- z >= 15: the reports one a feature (id, category, status, date) from open.reports;
- z 12-14: the reports grouped by cell, category, status and date with their count: the very
  GROUP BY of tiles.queries.REPORTS_GROUPED over open.reports, as a view (PostgreSQL pushes the
  tile's bbox below the grouping, as it does in ours);
- z <= 11: two tipg requests, as tipg serves one collection a tile: the density cells of the
  zoom's cell size from open.tile_density (`?cell_m=`), and the areas of the zoom's level from
  open.tile_areas (`?level=`). tipg clips the area outlines per request; ours reads them clipped
  in advance (open.area_tiles): that difference is part of what is compared.

The two views live in a schema of the bench's own (`bench_tipg`), created in the benchmark
database for the run and dropped after it; they only shape open.reports' columns as the tile
SQL does. A "tile" of tipg's is then one or two requests: requests/s are converted to tiles/s
by the ratio of the two URL lists.
"""

import contextlib
from collections.abc import Iterator

import mercantile
import psycopg

from store.locations import DatabaseUrls
from tiles.addresses import AREAS_MAX_ZOOM, REPORTS_MIN_ZOOM, area_level, density_level
from tiles.queries import REPORT_ID_MIN_ZOOM

SCHEMA = "bench_tipg"
DATE = ("CASE WHEN r.date_precision = 'month' THEN to_char(r.occurred_on, 'YYYY-MM') "
        "ELSE to_char(r.occurred_on, 'YYYY-MM-DD') END")
VIEWS = [
    f"CREATE SCHEMA {SCHEMA}",
    f"""CREATE VIEW {SCHEMA}.reports_grouped AS
        SELECT r.geom_3857, r.category_id AS category, r.status, {DATE} AS date, count(*)::integer AS count
        FROM open.reports AS r GROUP BY 1, 2, 3, 4""",
    f"""CREATE VIEW {SCHEMA}.reports_points AS
        SELECT r.id::text AS id, r.category_id AS category, r.status, {DATE} AS date, r.geom_3857
        FROM open.reports AS r""",
]
TABLES = ["open.tile_density", "open.tile_areas", f"{SCHEMA}.reports_grouped", f"{SCHEMA}.reports_points"]
TILE = "/collections/{collection}/tiles/WebMercatorQuad/{z}/{x}/{y}?{query}"


@contextlib.contextmanager
def views(urls: DatabaseUrls, reader: str) -> Iterator[None]:
    """The bench_tipg views for the run (by the admin role, readable by `reader`)."""
    with psycopg.connect(urls.admin, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        for statement in VIEWS:
            conn.execute(statement)
        conn.execute(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {reader}")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO {reader}")
    try:
        yield
    finally:
        with psycopg.connect(urls.admin, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def density_levels(urls: DatabaseUrls) -> list[int]:
    with psycopg.connect(urls.app) as conn:
        return conn.execute("SELECT density_cell_m FROM open.privacy_policy").fetchone()[0]


def paths(tiles: list[mercantile.Tile], levels: list[int]) -> list[str]:
    """tipg's URLs for the tiles, in order: one or two a tile (see the module's docstring)."""
    out = []
    for t in tiles:
        def url(collection: str, query: str, t: mercantile.Tile = t) -> str:
            return TILE.format(collection=collection, z=t.z, x=t.x, y=t.y, query=query)
        if t.z >= REPORT_ID_MIN_ZOOM:
            out.append(url(f"{SCHEMA}.reports_points", "properties=id,category,status,date"))
        elif t.z >= REPORTS_MIN_ZOOM:
            out.append(url(f"{SCHEMA}.reports_grouped", "properties=category,status,date,count"))
        else:
            out.append(url("open.tile_density", f"cell_m={density_level(t.z, levels)}&geom=centre_3857"
                           "&properties=count,top_category,categories"))
            if t.z <= AREAS_MAX_ZOOM:
                out.append(url("open.tile_areas", f"level={area_level(t.z)}&geom=geom_3857"
                               "&properties=area_code,area_name,level,count,top_category"))
    return out

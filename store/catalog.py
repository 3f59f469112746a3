"""What the DCAT-AP catalogue and the Atom feeds read from `open` (public pool only): the time
the public reports cover, the data version, and a county's or a category's newest reports."""


from psycopg_pool import AsyncConnectionPool

from store.rows import Row, fetch

EXTENT_SQL = """
SELECT min(occurred_on) AS first_day, max(occurred_on) AS last_day,
       (SELECT version FROM open.data_version) AS version
FROM open.reports
"""
DATA_VERSION_SQL = "SELECT version FROM open.data_version"
AREA_SQL = "SELECT code, level, name, parent_code FROM open.areas WHERE code = %s"
# A feed's entries: public columns, names for the reader, the cell point, the publication day
# (store/sql/88_catalog.sql); newest publication day first, then by id (random: no time in it).
FEED_COLUMNS = """
SELECT f.id, f.category_id, c.name_pl AS category_pl, c.name_en AS category_en,
       f.status, s.name_pl AS status_pl, s.name_en AS status_en, f.occurred_on, f.date_precision,
       f.cell_m, f.county_code, county.name AS county_name, f.voivodeship_code,
       voivodeship.name AS voivodeship_name, ST_Y(f.geom) AS lat, ST_X(f.geom) AS lon,
       f.published_on
FROM open.report_feed AS f
JOIN open.categories AS c ON c.id = f.category_id
JOIN open.statuses AS s ON s.id = f.status
LEFT JOIN open.areas AS county ON county.code = f.county_code
LEFT JOIN open.areas AS voivodeship ON voivodeship.code = f.voivodeship_code
"""
COUNTY_FEED_SQL = FEED_COLUMNS + """
WHERE f.county_code = %(key)s
ORDER BY f.published_on DESC, f.id LIMIT %(limit)s
"""
CATEGORY_FEED_SQL = FEED_COLUMNS + """
WHERE f.category_id = %(key)s
ORDER BY f.published_on DESC, f.id LIMIT %(limit)s
"""


async def report_extent(pool: AsyncConnectionPool) -> Row:
    """first_day and last_day of the public reports (None when there is none), and the data
    version (it moves with every change of the public layer)."""
    return (await fetch(pool, EXTENT_SQL))[0]


async def data_version(pool: AsyncConnectionPool) -> int:
    return int((await fetch(pool, DATA_VERSION_SQL))[0]["version"])


async def area(pool: AsyncConnectionPool, code: str) -> Row | None:
    rows = await fetch(pool, AREA_SQL, [code])
    return rows[0] if rows else None


async def county_feed(pool: AsyncConnectionPool, county: str, limit: int) -> list[Row]:
    # prepare=False: a large city's county and a rural one want different plans.
    return await fetch(pool, COUNTY_FEED_SQL, {"key": county, "limit": limit}, prepare=False)


async def category_feed(pool: AsyncConnectionPool, category: str, limit: int) -> list[Row]:
    return await fetch(pool, CATEGORY_FEED_SQL, {"key": category, "limit": limit}, prepare=False)

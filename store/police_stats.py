"""Police statistics (issue 15): the import's bulk path (COPY into a staging table, then one
set-based merge per target in the caller's transaction) and the public reads of the doors
(schema `open`, store/sql/90_police_stats.sql)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from store.rows import Row, fetch

# -- the catalogue ------------------------------------------------------------------------------
UPSERT_KIND_SQL = """
INSERT INTO core.statistic_kinds (id, group_id, name_pl, name_en, since, sort_order)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET group_id = EXCLUDED.group_id, name_pl = EXCLUDED.name_pl,
    name_en = EXCLUDED.name_en, since = EXCLUDED.since, sort_order = EXCLUDED.sort_order
"""
AREA_CODES_SQL = "SELECT code FROM core.areas"


def statistic_kind_rows(kinds: list[dict]) -> list[tuple]:
    """config/statistic_kinds.yml's entries as rows of core.statistic_kinds."""
    return [(k["id"], k["group"], k["name_pl"], k["name_en"],
             f"{k['since']}-01" if k.get("since") else None, order)
            for order, k in enumerate(kinds)]


def load_kinds(conn: psycopg.Connection, kinds: Iterable[tuple]) -> None:
    with conn.cursor() as cur:
        cur.executemany(UPSERT_KIND_SQL, list(kinds))


def area_codes(conn: psycopg.Connection) -> frozenset[str]:
    return frozenset(row[0] for row in conn.execute(AREA_CODES_SQL))


# -- staging --------------------------------------------------------------------------------------
STAGE_SQL = {
    "stats": """CREATE TEMP TABLE stats_stage (line integer, area_code text, offence text, month date,
                count integer) ON COMMIT DROP""",
    "population": """CREATE TEMP TABLE stats_stage (line integer, area_code text, year integer,
                     residents integer) ON COMMIT DROP""",
    "roads": """CREATE TEMP TABLE stats_stage (line integer, road text, km_from numeric, km_to numeric,
                period_from date, period_to date, incidents integer, deaths integer, injuries integer,
                geom geometry) ON COMMIT DROP""",
}
COPY_SQL = {
    "stats": "COPY stats_stage (line, area_code, offence, month, count) FROM STDIN",
    "population": "COPY stats_stage (line, area_code, year, residents) FROM STDIN",
    "roads": "COPY stats_stage (line, road, km_from, km_to, period_from, period_to, incidents, deaths, "
             "injuries, geom) FROM STDIN",
}
# The same figure twice in one file is an error (which of them would be meant?).
DUPLICATES_SQL = {
    "stats": """SELECT array_agg(line ORDER BY line) AS lines, area_code || ' ' || offence || ' '
                       || to_char(month, 'YYYY-MM') AS what
                FROM stats_stage GROUP BY area_code, offence, month HAVING count(*) > 1
                ORDER BY min(line) LIMIT %s""",
    "population": """SELECT array_agg(line ORDER BY line) AS lines, area_code || ' ' || year AS what
                     FROM stats_stage GROUP BY area_code, year HAVING count(*) > 1
                     ORDER BY min(line) LIMIT %s""",
    "roads": """SELECT array_agg(line ORDER BY line) AS lines,
                       'road ' || road || ' km ' || km_from || '-' || km_to AS what
                FROM stats_stage GROUP BY road, km_from, km_to, period_from, period_to
                HAVING count(*) > 1 ORDER BY min(line) LIMIT %s""",
}
PERIOD_SQL = {
    "stats": "SELECT min(month), max(month), count(*) FROM stats_stage",
    "population": "SELECT make_date(min(year), 1, 1), make_date(max(year), 12, 1), count(*) FROM stats_stage",
    "roads": "SELECT min(period_from), max(period_to), count(*) FROM stats_stage",
}


def create_stage(conn: psycopg.Connection, kind: str) -> None:
    conn.execute(STAGE_SQL[kind])


def copy_rows(conn: psycopg.Connection, kind: str, rows: Iterable[tuple]) -> None:
    """Streams (line, values...) rows into the staging table."""
    with conn.cursor() as cur, cur.copy(COPY_SQL[kind]) as copy:
        for row in rows:
            copy.write_row(row)


def duplicates(conn: psycopg.Connection, kind: str, limit: int) -> list[tuple[list[int], str]]:
    conn.execute("ANALYZE stats_stage")
    return [(row[0], row[1]) for row in conn.execute(DUPLICATES_SQL[kind], (limit,))]


def staged_period(conn: psycopg.Connection, kind: str) -> tuple[date | None, date | None, int]:
    return conn.execute(PERIOD_SQL[kind]).fetchone()


# -- the merge ----------------------------------------------------------------------------------
RECORD_IMPORT_SQL = """
INSERT INTO core.statistic_imports (source, kind, file_name, sha256, rows, period_from, period_to, actor)
VALUES (%(source)s, %(kind)s, %(file_name)s, %(sha256)s, %(rows)s, %(period_from)s, %(period_to)s,
        %(actor)s)
RETURNING id
"""
SET_REPLACED_SQL = "UPDATE core.statistic_imports SET replaced = %s WHERE id = %s"
# Same source and period again: the source's figures of the file's months (years, periods) go,
# the file's come in. A figure another source gave for the same area, kind and month is
# overwritten (one figure per area, kind and month is published).
REPLACE_SQL = {
    "stats": ["""DELETE FROM core.police_statistics AS s
                 WHERE s.source = %(source)s AND s.month IN (SELECT DISTINCT month FROM stats_stage)""",
              """INSERT INTO core.police_statistics AS s (area_code, offence, month, count, source, import_id)
                 SELECT area_code, offence, month, count, %(source)s, %(import_id)s FROM stats_stage
                 ON CONFLICT (area_code, offence, month) DO UPDATE
                 SET count = EXCLUDED.count, source = EXCLUDED.source, import_id = EXCLUDED.import_id"""],
    "population": ["""DELETE FROM core.area_population
                      WHERE source = %(source)s AND year IN (SELECT DISTINCT year FROM stats_stage)""",
                   """INSERT INTO core.area_population AS p (area_code, year, residents, source, import_id)
                      SELECT area_code, year, residents, %(source)s, %(import_id)s FROM stats_stage
                      ON CONFLICT (area_code, year) DO UPDATE
                      SET residents = EXCLUDED.residents, source = EXCLUDED.source,
                          import_id = EXCLUDED.import_id"""],
    "roads": ["""DELETE FROM core.road_sections AS r
                 WHERE r.source = %(source)s AND (r.period_from, r.period_to) IN
                       (SELECT DISTINCT period_from, period_to FROM stats_stage)""",
              """INSERT INTO core.road_sections (source, import_id, road, km_from, km_to, period_from,
                     period_to, incidents, deaths, injuries, geom, geom_4326, geom_3857)
                 SELECT %(source)s, %(import_id)s, road, km_from, km_to, period_from, period_to,
                        incidents, deaths, injuries, g.geom, ST_Transform(g.geom, 4326),
                        ST_Transform(g.geom, 3857)
                 FROM stats_stage AS s
                 CROSS JOIN LATERAL (SELECT ST_Multi(ST_Transform(s.geom, 2180)) AS geom) AS g"""],
}


@dataclass(frozen=True)
class ImportRecord:
    source: str
    kind: str
    file_name: str
    sha256: str
    actor: str


def merge(conn: psycopg.Connection, record: ImportRecord) -> tuple[int, int, int]:
    """Writes the staged rows over the source's same period: (import id, rows, rows replaced)."""
    period_from, period_to, rows = staged_period(conn, record.kind)
    import_id = conn.execute(RECORD_IMPORT_SQL, {
        "source": record.source, "kind": record.kind, "file_name": record.file_name,
        "sha256": record.sha256, "rows": rows, "period_from": period_from, "period_to": period_to,
        "actor": record.actor}).fetchone()[0]
    params = {"source": record.source, "import_id": import_id}
    delete, insert = REPLACE_SQL[record.kind]
    replaced = conn.execute(delete, params).rowcount
    conn.execute(insert, params)
    conn.execute(SET_REPLACED_SQL, (replaced, import_id))
    return import_id, rows, replaced


IMPORTS_SQL = """
SELECT id, source, kind, file_name, sha256, rows, replaced, period_from, period_to, actor, imported_at
FROM core.statistic_imports ORDER BY id DESC LIMIT %s
"""


def imports(conn: psycopg.Connection, limit: int = 20) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(IMPORTS_SQL, (limit,)).fetchall()


# -- public reads (open) --------------------------------------------------------------------------
KINDS_SQL = "SELECT id, group_id, name_pl, name_en, since FROM open.statistic_kinds ORDER BY sort_order, id"

STATISTICS_SQL = """
SELECT s.area_code, s.level, s.area_name, s.offence AS kind, s.month, s.count, s.residents,
       s.rate_per_100k
FROM open.police_statistics AS s
WHERE (%(kinds)s::text[] IS NULL OR s.offence = ANY(%(kinds)s))
  AND (%(area)s::text IS NULL OR s.area_code = %(area)s)
  AND (%(level)s::text IS NULL OR s.level = %(level)s)
  AND (%(month_from)s::date IS NULL OR s.month >= %(month_from)s)
  AND (%(month_to)s::date IS NULL OR s.month <= %(month_to)s)
ORDER BY s.month, s.area_code, s.offence
LIMIT %(limit)s
"""

ROAD_SECTIONS_SQL = """
SELECT r.id, r.road, r.km_from, r.km_to, r.period_from, r.period_to, r.incidents, r.deaths, r.injuries,
       r.length_km, ST_AsGeoJSON(r.geom, 6)::jsonb AS geometry
FROM open.road_sections AS r
WHERE (%(road)s::text IS NULL OR r.road = %(road)s)
  AND (%(min_incidents)s::integer IS NULL OR r.incidents >= %(min_incidents)s)
  AND (%(month_from)s::date IS NULL OR r.period_to >= %(month_from)s)
  AND (%(month_to)s::date IS NULL OR r.period_from <= %(month_to)s)
ORDER BY r.incidents DESC, r.id
LIMIT %(limit)s
"""

COMPARISON_SQL = """
SELECT c.side, c.subject, c.name_pl, c.name_en, c.count, c.rate_per_100k
FROM open.area_comparison AS c
WHERE c.area_code = %(area)s AND c.month >= %(month_from)s AND c.month <= %(month_to)s
"""
COMPARISON_SUM_SQL = f"""
SELECT side, subject, min(name_pl) AS name_pl, min(name_en) AS name_en, sum(count)::bigint AS count
FROM ({COMPARISON_SQL}) AS c
GROUP BY side, subject
ORDER BY side, count DESC, subject
"""
AREA_SQL = "SELECT code, name, level FROM open.areas WHERE code = %s"


@dataclass(frozen=True)
class StatisticsFilter:
    kinds: list[str] | None = None
    area: str | None = None
    level: str | None = None
    month_from: date | None = None
    month_to: date | None = None
    limit: int = 1000


@dataclass(frozen=True)
class RoadSectionsFilter:
    road: str | None = None
    min_incidents: int | None = None
    month_from: date | None = None
    month_to: date | None = None
    limit: int = 1000


async def kinds(pool: AsyncConnectionPool) -> list[Row]:
    return await fetch(pool, KINDS_SQL)


async def statistics(pool: AsyncConnectionPool, f: StatisticsFilter) -> list[Row]:
    # The plan depends on which filters are given (an area, a kind, or everything).
    return await fetch(pool, STATISTICS_SQL, {"kinds": f.kinds, "area": f.area, "level": f.level,
                                              "month_from": f.month_from, "month_to": f.month_to,
                                              "limit": f.limit}, prepare=False)


async def road_sections(pool: AsyncConnectionPool, f: RoadSectionsFilter) -> list[Row]:
    return await fetch(pool, ROAD_SECTIONS_SQL, {"road": f.road, "min_incidents": f.min_incidents,
                                                 "month_from": f.month_from, "month_to": f.month_to,
                                                 "limit": f.limit}, prepare=False)


async def area(pool: AsyncConnectionPool, code: str) -> Row | None:
    rows = await fetch(pool, AREA_SQL, (code,))
    return rows[0] if rows else None


async def comparison(pool: AsyncConnectionPool, area_code: str, month_from: date, month_to: date
                     ) -> list[Row]:
    """Per side (citizens' reports per category, police statistics per kind), the sum over the
    months of the published (k-suppressed) monthly figures."""
    return await fetch(pool, COMPARISON_SUM_SQL, {"area": area_code, "month_from": month_from,
                                                  "month_to": month_to})

"""The map's reference data from `open` (categories, statuses, areas, police units), batched by
ANY(%s) for the DataLoaders, the admin's switch of a category, and the report sources."""

from collections.abc import Sequence

from psycopg_pool import AsyncConnectionPool

from store.rows import Row, fetch

CATEGORY_COLUMNS = """id, group_id, group_name_pl, group_name_en, name_pl, name_en, colour, icon,
       sensitive, active, sort_order, description_required"""
ALL_CATEGORIES_SQL = f"SELECT {CATEGORY_COLUMNS} FROM open.categories ORDER BY sort_order, id"
CATEGORY_SQL = f"SELECT {CATEGORY_COLUMNS} FROM open.categories WHERE id = %s"
CATEGORIES_SQL = f"SELECT {CATEGORY_COLUMNS} FROM open.categories WHERE id = ANY(%s)"
STATUSES_SQL = """
SELECT s.id, s.name_pl, s.name_en, s.is_initial, s.is_closed, s.colour, s.is_verdict,
       coalesce(array_agg(t.to_status ORDER BY t.to_status) FILTER (WHERE t.to_status IS NOT NULL),
                '{}') AS next
FROM open.statuses AS s LEFT JOIN open.status_transitions AS t ON t.from_status = s.id
GROUP BY s.id, s.name_pl, s.name_en, s.is_initial, s.is_closed, s.colour, s.is_verdict, s.sort_order
ORDER BY s.sort_order, s.id
"""
FORWARD_BODIES_SQL = """
SELECT id, name_pl, name_en, active FROM open.forward_bodies ORDER BY sort_order, id
"""
AREAS_BY_LEVEL_SQL = """
SELECT code, level, name, parent_code FROM open.areas
WHERE %(level)s::text IS NULL OR level = %(level)s ORDER BY code
"""
AREAS_SQL = "SELECT code, level, name, parent_code FROM open.areas WHERE code = ANY(%s)"
ALL_UNITS_SQL = "SELECT id, name, level, area_code, parent_id FROM open.police_units ORDER BY id"
UNITS_SQL = "SELECT id, name, level, area_code, parent_id FROM open.police_units WHERE id = ANY(%s)"
SET_ACTIVE_SQL = "UPDATE core.categories SET active = %s WHERE id = %s RETURNING id"
REPORT_SOURCES_SQL = "SELECT core.report_sources() AS sources"


async def all_categories(pool: AsyncConnectionPool) -> list[Row]:
    return await fetch(pool, ALL_CATEGORIES_SQL)


async def category(pool: AsyncConnectionPool, category_id: str) -> Row | None:
    rows = await fetch(pool, CATEGORY_SQL, [category_id])
    return rows[0] if rows else None


async def categories(pool: AsyncConnectionPool, ids: Sequence[str]) -> list[Row]:
    return await fetch(pool, CATEGORIES_SQL, [list(ids)])


async def forward_bodies(pool: AsyncConnectionPool) -> list[Row]:
    """The bodies outside the police a report may be forwarded to (inactive ones too)."""
    return await fetch(pool, FORWARD_BODIES_SQL)


async def statuses(pool: AsyncConnectionPool) -> list[Row]:
    """Each status with `next`: the ids it may change to."""
    return await fetch(pool, STATUSES_SQL)


async def areas_by_level(pool: AsyncConnectionPool, level: str | None) -> list[Row]:
    return await fetch(pool, AREAS_BY_LEVEL_SQL, {"level": level})


async def areas(pool: AsyncConnectionPool, codes: Sequence[str]) -> list[Row]:
    return await fetch(pool, AREAS_SQL, [list(codes)])


async def all_police_units(pool: AsyncConnectionPool) -> list[Row]:
    return await fetch(pool, ALL_UNITS_SQL)


async def police_units(pool: AsyncConnectionPool, ids: Sequence[str]) -> list[Row]:
    return await fetch(pool, UNITS_SQL, [list(ids)])


async def set_category_active(pool: AsyncConnectionPool, category_id: str, active: bool) -> bool:
    """Offers or withdraws a category (application pool); False if there is no such category."""
    return bool(await fetch(pool, SET_ACTIVE_SQL, [active, category_id]))


async def report_sources(pool: AsyncConnectionPool) -> tuple[str, ...]:
    """The sources a report may come from, as the database's CHECK knows them (one definition:
    core.report_sources(), store/migrations/0003_report_sources.sql)."""
    return tuple((await fetch(pool, REPORT_SOURCES_SQL))[0]["sources"])

"""The catalogue and the map's reference data: categories, statuses, areas, police units."""

from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from gateway.graphql import db
from gateway.graphql.auth import Role
from gateway.graphql.errors import NotFound


@strawberry.type
class CategoryGroup:
    id: strawberry.ID
    name_pl: str
    name_en: str


@strawberry.type
class Category:
    id: strawberry.ID
    name_pl: str
    name_en: str
    colour: str
    icon: str
    sensitive: bool = strawberry.field(
        description="Sensitive categories are published on a coarser grid and by month.")
    active: bool
    group: CategoryGroup

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Category":
        return cls(id=row["id"], name_pl=row["name_pl"], name_en=row["name_en"],
                   colour=row["colour"], icon=row["icon"], sensitive=row["sensitive"],
                   active=row["active"],
                   group=CategoryGroup(id=row["group_id"], name_pl=row["group_name_pl"],
                                       name_en=row["group_name_en"]))


@strawberry.type
class Status:
    id: strawberry.ID
    name_pl: str
    name_en: str
    is_initial: bool
    is_closed: bool
    next: list[strawberry.ID] = strawberry.field(description="Statuses it may change to.")


@strawberry.enum
class AreaLevel(Enum):
    VOIVODESHIP = "voivodeship"
    COUNTY = "county"


@strawberry.type
class Area:
    code: strawberry.ID
    level: AreaLevel
    name: str
    parent_code: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Area":
        return cls(code=row["code"], level=AreaLevel(row["level"]), name=row["name"],
                   parent_code=row["parent_code"])


@strawberry.type
class PoliceUnit:
    id: strawberry.ID
    name: str
    level: AreaLevel
    area_code: str
    parent_id: str | None

    @strawberry.field
    async def area(self, info: Info) -> Area | None:
        row = await info.context.loaders.areas.load(self.area_code)
        return Area.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "PoliceUnit":
        return cls(id=row["id"], name=row["name"], level=AreaLevel(row["level"]),
                   area_code=row["area_code"], parent_id=row["parent_id"])


ALL_CATEGORIES_SQL = """
SELECT id, group_id, group_name_pl, group_name_en, name_pl, name_en, colour, icon, sensitive,
       active, sort_order
FROM open.categories ORDER BY sort_order, id
"""
STATUSES_SQL = """
SELECT s.id, s.name_pl, s.name_en, s.is_initial, s.is_closed,
       coalesce(array_agg(t.to_status ORDER BY t.to_status) FILTER (WHERE t.to_status IS NOT NULL),
                '{}') AS next
FROM open.statuses AS s LEFT JOIN open.status_transitions AS t ON t.from_status = s.id
GROUP BY s.id, s.name_pl, s.name_en, s.is_initial, s.is_closed, s.sort_order
ORDER BY s.sort_order, s.id
"""
AREAS_BY_LEVEL_SQL = """
SELECT code, level, name, parent_code FROM open.areas
WHERE %(level)s::text IS NULL OR level = %(level)s ORDER BY code
"""
UNITS_SQL = "SELECT id, name, level, area_code, parent_id FROM open.police_units ORDER BY id"
SET_ACTIVE_SQL = "UPDATE core.categories SET active = %s WHERE id = %s RETURNING id"


@strawberry.type
class CatalogueQuery:
    @strawberry.field(description="The threat categories citizens can report.")
    async def categories(self, info: Info, include_inactive: bool = False) -> list[Category]:
        rows = await db.fetch(info.context.runtime.public_pool, ALL_CATEGORIES_SQL)
        return [Category.from_row(r) for r in rows if include_inactive or r["active"]]

    @strawberry.field
    async def category(self, info: Info, id: strawberry.ID) -> Category | None:
        row = await info.context.loaders.categories.load(str(id))
        return Category.from_row(row) if row else None

    @strawberry.field(description="The verification workflow's statuses and their transitions.")
    async def statuses(self, info: Info) -> list[Status]:
        rows = await db.fetch(info.context.runtime.public_pool, STATUSES_SQL)
        return [Status(id=r["id"], name_pl=r["name_pl"], name_en=r["name_en"],
                       is_initial=r["is_initial"], is_closed=r["is_closed"], next=r["next"])
                for r in rows]

    @strawberry.field
    async def areas(self, info: Info, level: AreaLevel | None = None) -> list[Area]:
        rows = await db.fetch(info.context.runtime.public_pool, AREAS_BY_LEVEL_SQL,
                              {"level": level.value if level else None})
        return [Area.from_row(r) for r in rows]

    @strawberry.field
    async def police_units(self, info: Info) -> list[PoliceUnit]:
        rows = await db.fetch(info.context.runtime.public_pool, UNITS_SQL)
        return [PoliceUnit.from_row(r) for r in rows]


@strawberry.type
class CatalogueMutation:
    @strawberry.mutation(description="Admin: offer or withdraw a category for new reports.")
    async def set_category_active(self, info: Info, id: strawberry.ID, active: bool) -> Category | None:
        info.context.require(Role.ADMIN)
        if not await db.fetch(info.context.runtime.app_pool, SET_ACTIVE_SQL, [active, str(id)]):
            raise NotFound(f"There is no category {id!r}.")
        rows = await db.fetch(info.context.runtime.public_pool,
                              ALL_CATEGORIES_SQL.replace("ORDER BY", "WHERE id = %s ORDER BY"),
                              [str(id)])
        return Category.from_row(rows[0])

"""The catalogue and the map's reference data: categories, statuses, areas, police units."""

from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from gateway.graphql.auth import Role
from gateway.graphql.errors import NotFound
from store import reference


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
    active: bool = strawberry.field(description="False: retired (off the form, kept for history).")
    description_required: bool = strawberry.field(
        description="Reports of this category must carry a description.")
    group: CategoryGroup

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Category":
        return cls(id=row["id"], name_pl=row["name_pl"], name_en=row["name_en"],
                   colour=row["colour"], icon=row["icon"], sensitive=row["sensitive"],
                   active=row["active"], description_required=row["description_required"],
                   group=CategoryGroup(id=row["group_id"], name_pl=row["group_name_pl"],
                                       name_en=row["group_name_en"]))


@strawberry.type
class Status:
    id: strawberry.ID
    name_pl: str
    name_en: str
    is_initial: bool
    is_closed: bool
    is_verdict: bool = strawberry.field(description="Reaching it is the verification's result.")
    colour: str = strawberry.field(description="The map's colour of the status (#rrggbb).")
    next: list[strawberry.ID] = strawberry.field(description="Statuses it may change to.")

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> "Status":
        return cls(id=r["id"], name_pl=r["name_pl"], name_en=r["name_en"], is_initial=r["is_initial"],
                   is_closed=r["is_closed"], is_verdict=r["is_verdict"], colour=r["colour"],
                   next=r["next"])


@strawberry.type
class ForwardBody:
    id: strawberry.ID
    name_pl: str
    name_en: str
    active: bool = strawberry.field(description="False: no longer offered, kept for history.")


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


@strawberry.type
class CatalogueQuery:
    @strawberry.field(description="The threat categories citizens can report.")
    async def categories(self, info: Info, include_inactive: bool = False) -> list[Category]:
        rows = await reference.all_categories(info.context.runtime.public_pool)
        return [Category.from_row(r) for r in rows if include_inactive or r["active"]]

    @strawberry.field
    async def category(self, info: Info, id: strawberry.ID) -> Category | None:
        row = await info.context.loaders.categories.load(str(id))
        return Category.from_row(row) if row else None

    @strawberry.field(description="The verification workflow's statuses and their transitions.")
    async def statuses(self, info: Info) -> list[Status]:
        rows = await reference.statuses(info.context.runtime.public_pool)
        return [Status.from_row(r) for r in rows]

    @strawberry.field(description="The bodies outside the police a confirmed threat may be "
                                  "forwarded to (`setReportStatus(forwardTo:)`).")
    async def forward_bodies(self, info: Info) -> list[ForwardBody]:
        rows = await reference.forward_bodies(info.context.runtime.public_pool)
        return [ForwardBody(id=r["id"], name_pl=r["name_pl"], name_en=r["name_en"], active=r["active"])
                for r in rows]

    @strawberry.field
    async def areas(self, info: Info, level: AreaLevel | None = None) -> list[Area]:
        rows = await reference.areas_by_level(info.context.runtime.public_pool,
                                              level.value if level else None)
        return [Area.from_row(r) for r in rows]

    @strawberry.field
    async def police_units(self, info: Info) -> list[PoliceUnit]:
        rows = await reference.all_police_units(info.context.runtime.public_pool)
        return [PoliceUnit.from_row(r) for r in rows]


@strawberry.type
class CatalogueMutation:
    @strawberry.mutation(description="Admin: offer or withdraw a category for new reports.")
    async def set_category_active(self, info: Info, id: strawberry.ID, active: bool) -> Category | None:
        info.context.require(Role.ADMIN)
        if not await reference.set_category_active(info.context.runtime.app_pool, str(id), active):
            raise NotFound(f"There is no category {id!r}.")
        row = await reference.category(info.context.runtime.public_pool, str(id))
        assert row is not None   # it was just changed
        return Category.from_row(row)

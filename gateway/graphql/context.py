"""The per-request context: who calls, from where, the pools, and fresh DataLoaders."""

from dataclasses import dataclass, field
from typing import Any

from limits.aio.strategies import MovingWindowRateLimiter
from psycopg_pool import AsyncConnectionPool
from starlette.requests import HTTPConnection
from strawberry.dataloader import DataLoader

from gateway.graphql import db
from gateway.graphql.auth import Role, Viewer, viewer_from_header
from gateway.graphql.errors import ApiError, Forbidden, Unauthenticated
from gateway.settings import Settings
from gateway.state import Runtime

CATEGORIES_SQL = """
SELECT id, group_id, group_name_pl, group_name_en, name_pl, name_en, colour, icon, sensitive,
       active, sort_order
FROM open.categories WHERE id = ANY(%s)
"""
AREAS_SQL = "SELECT code, level, name, parent_code FROM open.areas WHERE code = ANY(%s)"
UNITS_SQL = "SELECT id, name, level, area_code, parent_id FROM open.police_units WHERE id = ANY(%s)"
PRIVATE_SQL = """
SELECT r.id, ST_X(r.geom) AS longitude, ST_Y(r.geom) AS latitude, r.occurred_at, r.description,
       r.contact, r.source, r.county_code, a.parent_code AS voivodeship_code, r.police_unit_id
FROM core.reports AS r LEFT JOIN core.areas AS a ON a.code = r.county_code
WHERE r.id = ANY(%s::uuid[])
"""
HISTORY_SQL = """
SELECT report_id, kind, from_status, to_status, actor, at, comment
FROM core.report_events WHERE report_id = ANY(%s::uuid[]) ORDER BY report_id, at, id
"""
OFFICER_UNIT_SQL = "SELECT id, level, area_code FROM core.police_units WHERE id = %s"


def _keyed_loader(pool: AsyncConnectionPool, query: str, key: str) -> DataLoader[str, Any]:
    async def load(keys: list[str]) -> list[dict[str, Any] | None]:
        rows = {str(row[key]): row for row in await db.fetch(pool, query, [list(keys)])}
        return [rows.get(k) for k in keys]

    return DataLoader(load_fn=load)


def _grouped_loader(pool: AsyncConnectionPool, query: str, key: str) -> DataLoader[str, Any]:
    async def load(keys: list[str]) -> list[list[dict[str, Any]]]:
        groups: dict[str, list[dict[str, Any]]] = {k: [] for k in keys}
        for row in await db.fetch(pool, query, [list(keys)]):
            groups[str(row[key])].append(row)
        return [groups[k] for k in keys]

    return DataLoader(load_fn=load)


@dataclass
class Loaders:
    categories: DataLoader[str, Any]
    areas: DataLoader[str, Any]
    units: DataLoader[str, Any]
    private: DataLoader[str, Any]
    history: DataLoader[str, Any]

    @classmethod
    def create(cls, runtime: Runtime) -> "Loaders":
        return cls(
            categories=_keyed_loader(runtime.public_pool, CATEGORIES_SQL, "id"),
            areas=_keyed_loader(runtime.public_pool, AREAS_SQL, "code"),
            units=_keyed_loader(runtime.public_pool, UNITS_SQL, "id"),
            private=_keyed_loader(runtime.app_pool, PRIVATE_SQL, "id"),
            history=_grouped_loader(runtime.app_pool, HISTORY_SQL, "report_id"),
        )


@dataclass
class Context:
    request: HTTPConnection
    response: Any
    runtime: Runtime
    viewer: Viewer | None
    auth_error: ApiError | None
    client: str
    limiter: MovingWindowRateLimiter
    loaders: Loaders
    _officer_unit: dict[str, Any] | None = field(default=None, repr=False)
    connection_params: Any = None

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    def authorization(self) -> str | None:
        """The Authorization header, or for a WebSocket whose upgrade request had none, the
        `Authorization` of its connection_init payload (browsers cannot set headers on a
        WebSocket; Apollo and graphql-ws clients send it there as connectionParams)."""
        header = self.request.headers.get("authorization")
        params = self.connection_params
        if header is None and isinstance(params, dict):
            given = params.get("Authorization", params.get("authorization"))
            return None if given is None else str(given)
        return header

    def start_operation(self) -> None:
        """Over a WebSocket one context serves every operation of the connection: each one starts
        with the token checked again (it may have expired) and nothing loaded by an earlier one
        (a report handed to another unit since must not stay readable from a cache)."""
        self.viewer, self.auth_error = authenticate(self.settings.jwt_secret, self.authorization())
        self.loaders = Loaders.create(self.runtime)
        self._officer_unit = None

    @property
    def anonymous(self) -> bool:
        return self.viewer is None

    def require(self, *roles: Role) -> Viewer:
        if self.viewer is None or self.viewer.role not in roles:
            names = " or ".join(role.value for role in roles)
            raise Forbidden(f"This needs a bearer token with the role {names}.")
        return self.viewer

    async def officer_unit(self) -> dict[str, Any]:
        """The police unit an officer's token names; a unit that does not exist is refused."""
        viewer = self.require(Role.OFFICER)
        if self._officer_unit is None:
            rows = await db.fetch(self.runtime.app_pool, OFFICER_UNIT_SQL, [viewer.unit])
            if not rows:
                raise Forbidden(f"The token's police unit {viewer.unit!r} does not exist.")
            self._officer_unit = rows[0]
        return self._officer_unit

    def may_handle_now(self, county_code: str | None, voivodeship_code: str | None,
                       assigned_unit: str | None) -> bool | None:
        """may_handle without waiting, once the officer's unit is loaded (a page of the work list
        loads it first); None when it is not yet."""
        unit = self._officer_unit
        return None if unit is None else _handles(unit, county_code, voivodeship_code, assigned_unit)

    async def may_handle(self, county_code: str | None, voivodeship_code: str | None,
                         assigned_unit: str | None) -> bool:
        """Whether the officer's unit handles the report (see _handles)."""
        return _handles(await self.officer_unit(), county_code, voivodeship_code, assigned_unit)


def _handles(unit: dict[str, Any], county_code: str | None, voivodeship_code: str | None,
             assigned_unit: str | None) -> bool:
    """An officer handles reports in the unit's area (a county unit: its county; a voivodeship
    unit: the counties of its voivodeship) and reports handed to the unit."""
    return unit["id"] == assigned_unit or unit["area_code"] in (county_code, voivodeship_code)


def authenticate(secret: str, authorization: str | None) -> tuple[Viewer | None, ApiError | None]:
    """The caller a header names, or the error a bad header gets (never a silent downgrade)."""
    try:
        return viewer_from_header(secret, authorization), None
    except Unauthenticated as error:
        return None, error

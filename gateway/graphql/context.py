"""The per-request context: who calls, from where, the pools, and fresh DataLoaders."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from limits.aio.strategies import MovingWindowRateLimiter
from psycopg_pool import AsyncConnectionPool
from starlette.requests import HTTPConnection
from strawberry.dataloader import DataLoader

from gateway.graphql.auth import Role, Viewer, viewer_from_request
from gateway.graphql.errors import ApiError, Forbidden, Unauthenticated
from gateway.oidc import OidcVerifier
from gateway.settings import Settings
from gateway.state import Runtime
from store import photos, reference, reports, staff
from store.rows import Row

Fetch = Callable[[list[Any]], Awaitable[list[Row]]]


def _keyed_loader(fetch: Fetch, key: str) -> DataLoader[Any, Any]:
    async def load(keys: list[Any]) -> list[Row | None]:
        rows = {str(row[key]): row for row in await fetch(list(keys))}
        return [rows.get(k) for k in keys]

    return DataLoader(load_fn=load)


def _grouped_loader(fetch: Fetch, key: str) -> DataLoader[str, Any]:
    async def load(keys: list[str]) -> list[list[Row]]:
        groups: dict[str, list[Row]] = {k: [] for k in keys}
        for row in await fetch(list(keys)):
            groups[str(row[key])].append(row)
        return [groups[k] for k in keys]

    return DataLoader(load_fn=load)


def _private_loader(pool: AsyncConnectionPool) -> DataLoader[tuple[str, str | None], Any]:
    """Private rows keyed by (report id, the officer's unit or None): each row carries `handled`
    for that unit (core.officer_handles), so the rule is applied by the database."""
    async def load(keys: list[tuple[str, str | None]]) -> list[Row | None]:
        found: dict[tuple[str, str | None], Row] = {}
        for unit in dict.fromkeys(unit for _, unit in keys):
            ids = [report_id for report_id, of in keys if of == unit]
            found |= {(str(row["id"]), unit): row for row in await reports.private_rows(pool, ids, unit)}
        return [found.get(k) for k in keys]

    return DataLoader(load_fn=load)


@dataclass
class Loaders:
    categories: DataLoader[str, Any]
    areas: DataLoader[str, Any]
    units: DataLoader[str, Any]
    private: DataLoader[str, Any]
    history: DataLoader[str, Any]
    photos: DataLoader[str, Any]
    statuses: DataLoader[str, Any]

    @classmethod
    def create(cls, runtime: Runtime) -> "Loaders":
        return cls(
            categories=_keyed_loader(partial(reference.categories, runtime.public_pool), "id"),
            areas=_keyed_loader(partial(reference.areas, runtime.public_pool), "code"),
            units=_keyed_loader(partial(reference.police_units, runtime.public_pool), "id"),
            private=_private_loader(runtime.app_pool),
            history=_grouped_loader(partial(reports.history, runtime.app_pool), "report_id"),
            photos=_grouped_loader(partial(photos.of_reports, runtime.app_pool), "report_id"),
            statuses=_keyed_loader(partial(_all_statuses, runtime.public_pool), "id"),
        )


async def _all_statuses(pool: AsyncConnectionPool, ids: list[str]) -> list[Row]:
    """Every status (a handful): the loader picks the ones asked for."""
    return await reference.statuses(pool)


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
    _officer_unit: staff.OfficerUnit | None = field(default=None, repr=False)
    connection_params: Any = None
    oidc: OidcVerifier | None = None
    # The answer is written by the view's encoder, which takes JSON text as it is
    # (gateway.graphql.raw_json): the public page may hand over the database's text.
    raw_json: bool = False

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

    async def start_operation(self) -> None:
        """Over a WebSocket one context serves every operation of the connection: each one starts
        with the token checked again (it may have expired) and nothing loaded by an earlier one
        (a report handed to another unit since must not stay readable from a cache)."""
        self.viewer, self.auth_error = await authenticate(self.settings.jwt_secret, self.authorization(),
                                                          self.oidc)
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

    async def officer_unit(self) -> staff.OfficerUnit:
        """The police unit an officer's token names; a unit that does not exist is refused."""
        viewer = self.require(Role.OFFICER)
        if self._officer_unit is None:
            unit = await staff.officer_unit(self.runtime.app_pool, viewer.unit)
            if unit is None:
                raise Forbidden(f"The token's police unit {viewer.unit!r} does not exist.")
            self._officer_unit = unit
        return self._officer_unit

    @property
    def officer_unit_known(self) -> bool:
        """Whether officer_unit() answers without waiting (a work-list page loads it first)."""
        return self._officer_unit is not None

    def private_key(self, report_id: str) -> tuple[str, str | None]:
        """The private DataLoader's key of a report for this caller: with the officer's unit,
        for which the row's `handled` is computed."""
        viewer = self.viewer
        unit = viewer.unit if viewer is not None and viewer.role is Role.OFFICER else None
        return report_id, unit

    async def report_sources(self) -> tuple[str, ...]:
        """The allowed report sources (the database's one definition), read once per process."""
        if self.runtime.report_sources is None:
            self.runtime.report_sources = await reference.report_sources(self.runtime.app_pool)
        return self.runtime.report_sources


async def authenticate(secret: str, authorization: str | None, oidc: OidcVerifier | None = None
                       ) -> tuple[Viewer | None, ApiError | None]:
    """The caller a header names, or the error a bad header gets (never a silent downgrade)."""
    try:
        return await viewer_from_request(secret, authorization, oidc), None
    except Unauthenticated as error:
        return None, error

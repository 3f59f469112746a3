"""GET /staff/photos/<id>: a report's photo, for officers of the unit that handles the report
and for analysts, with a staff bearer token (gateway.graphql.auth); nobody else (issue 12,
point 5). Never cached by anyone, never sniffed, never run as a document."""

import json
import uuid
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from gateway.graphql.auth import Role, viewer_from_header
from gateway.graphql.errors import Unauthenticated
from gateway.state import Runtime
from photos.images import EXTENSIONS
from photos.storage import StorageError
from store import photos as store_photos
from store import staff as store_staff
from store.errors import DATABASE_UNAVAILABLE, RETRY_AFTER_S

STAFF_ROLES = (Role.OFFICER, Role.ANALYST)
PRIVATE_HEADERS = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
                   "Content-Security-Policy": "default-src 'none'; sandbox",
                   "Cross-Origin-Resource-Policy": "same-origin"}


def _refusal(status: int, message: str, **headers: str) -> Response:
    return Response(json.dumps({"error": message}), status_code=status, media_type="application/json",
                    headers={"Cache-Control": "no-store", **headers})


def staff_photo(jwt_secret: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            viewer = viewer_from_header(jwt_secret, request.headers.get("authorization"))
        except Unauthenticated as error:
            return _refusal(401, error.message, **{"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if viewer is None:
            return _refusal(401, "A staff bearer token is needed (Authorization: Bearer <token>).",
                            **{"WWW-Authenticate": "Bearer"})
        if viewer.role not in STAFF_ROLES:
            return _refusal(403, "Photos are for officers and analysts.")
        runtime: Runtime = request.app.state.runtime
        assert runtime.photos is not None
        photo_id: uuid.UUID = request.path_params["photo_id"]
        try:
            unit = viewer.unit if viewer.role is Role.OFFICER else None
            if unit is not None and await store_staff.officer_unit(runtime.app_pool, unit) is None:
                return _refusal(403, f"The token's police unit {unit!r} does not exist.")
            row = await store_photos.for_staff(runtime.app_pool, photo_id, unit)
            if row is None:
                return _refusal(404, "There is no such photo (it may have been erased).")
            if unit is not None and not row["handled"]:
                return _refusal(403, "This photo's report is outside your police unit's area.")
            data = await runtime.photos.storage.get(row["storage_key"])
        except DATABASE_UNAVAILABLE:
            return _refusal(503, "The database is unavailable; try again later.",
                            **{"Retry-After": str(RETRY_AFTER_S)})
        except StorageError:
            return _refusal(503, "The photo storage is unavailable; try again later.",
                            **{"Retry-After": str(RETRY_AFTER_S)})
        if data is None:
            return _refusal(404, "The photo's bytes are gone (erased).")
        etag = f'"{bytes(row["sha256"]).hex()}"'
        return Response(data if request.method != "HEAD" else b"", media_type=row["media_type"],
                        headers={**PRIVATE_HEADERS, "ETag": etag,
                                 "Content-Length": str(len(data)),
                                 "Content-Disposition": f'inline; filename="{photo_id}'
                                                        f'{EXTENSIONS[row["media_type"]]}"'})

    return endpoint


"""Photos in GraphQL (issue 12, point 5; docs/photos.md): the files of `submitReport(photos:)`
read and checked (count, size, type by content, pixels) before anything is stored or counted,
and the officers' view of a report's photos (`Report.photos`, staff only)."""

import hashlib
from datetime import datetime
from typing import Any

import strawberry
from starlette.datastructures import UploadFile
from strawberry.types import Info

from gateway.graphql.errors import ApiError, BadInput
from gateway.photos import PhotoDesk, PhotoDeskBusy
from gateway.urls import public_base
from photos.images import CleanPhoto, PhotoRefused, Refusal

FIELD = "photos"
TOO_MANY = "TOO_MANY_PHOTOS"
NOT_A_FILE = "NOT_A_FILE"
STAFF_PATH = "/staff/photos/"


class PhotosUnavailable(ApiError):
    code = "UNAVAILABLE"


def refused(message: str, reason: str, index: int | None = None) -> BadInput:
    details: dict[str, Any] = {"field": FIELD, "reason": reason}
    if index is not None:
        details["photo"] = index
    return BadInput(message, **details)


async def read_uploads(uploads: list[Any] | None, max_count: int, max_bytes: int) -> list[bytes]:
    """The files' bytes (at most max_bytes each), or BAD_USER_INPUT saying which photo and why."""
    if not uploads:
        return []
    if len(uploads) > max_count:
        raise refused(f"At most {max_count} photos may be sent with a report.", TOO_MANY)
    contents = []
    for index, upload in enumerate(uploads):
        if not isinstance(upload, UploadFile):
            raise refused("photos must be files sent as multipart/form-data (the GraphQL "
                          "multipart request spec; see docs/photos.md).", NOT_A_FILE, index)
        data = await upload.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise refused(f"Photo {index + 1} has more than {max_bytes} bytes.", Refusal.TOO_LARGE.value,
                          index)
        contents.append(data)
    return contents


def uploads_digest(contents: list[bytes]) -> list[str]:
    """The files' SHA-256, part of the payload an idempotency key is bound to."""
    return [hashlib.sha256(data).hexdigest() for data in contents]


async def cleaned(desk: PhotoDesk, contents: list[bytes]) -> list[CleanPhoto]:
    """Each photo re-encoded without metadata (photos.images), or BAD_USER_INPUT."""
    photos = []
    for index, data in enumerate(contents):
        try:
            photos.append(await desk.clean(data))
        except PhotoRefused as error:
            raise refused(f"Photo {index + 1}: {error.message}", error.reason.value, index) from None
        except PhotoDeskBusy:
            raise PhotosUnavailable("Too many photos are being processed right now; nothing "
                                          "was stored. Try again in a minute.") from None
    return photos


@strawberry.type(description="A photo sent with a report, re-encoded without metadata. Staff only.")
class ReportPhoto:
    id: strawberry.ID
    media_type: str
    byte_size: int
    width: int
    height: int
    sha256: str = strawberry.field(description="Of the stored bytes, hex.")
    created_at: datetime
    url: str = strawberry.field(description="GET with the staff bearer token (Authorization).")

    @classmethod
    def from_row(cls, row: dict[str, Any], base: str) -> "ReportPhoto":
        return cls(id=strawberry.ID(str(row["id"])), media_type=row["media_type"],
                   byte_size=row["byte_size"], width=row["width"], height=row["height"],
                   sha256=bytes(row["sha256"]).hex(), created_at=row["created_at"],
                   url=f"{base}{STAFF_PATH}{row['id']}")


async def report_photos(info: Info, report_id: str) -> list[ReportPhoto]:
    """The photos of a report, for a caller already checked to see its private fields."""
    context = info.context
    rows = await context.loaders.photos.load(report_id)
    base = public_base(context.settings, context.request)
    if base.startswith("ws"):   # asked over the WebSocket: the photo is fetched over HTTP(S)
        base = "http" + base.removeprefix("ws")
    return [ReportPhoto.from_row(row, base) for row in rows]

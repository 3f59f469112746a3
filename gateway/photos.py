"""Photos at the composition root (issue 12, point 5; docs/photos.md): the storage and limits the
settings choose, a report stored with its photos all or nothing, and their erasure past retention.
The image work is photos.images, the bytes' home photos.storage, the rows store.photos."""

import asyncio
import logging
import uuid
from collections.abc import Sequence

from psycopg_pool import AsyncConnectionPool

from gateway.settings import Settings
from photos.images import CleanPhoto, PhotoLimits, clean
from photos.storage import FileStorage, PhotoStorage, S3Storage, StorageError, s3_client
from store import photos as store_photos
from store import reports as store_reports
from store.photos import StoredPhoto
from store.rows import Row

log = logging.getLogger(__name__)

# Photos decoded at once per process: each may take a few hundred MB and a core for a moment;
# past as many waiting, a submission is told to come back (PhotoDeskBusy) rather than queue.
CONCURRENT_DECODES = 2
MAX_WAITING_DECODES = 32
ERASE_BATCH = 500


def photo_storage(settings: Settings) -> PhotoStorage:
    """The storage THREATMAP_PHOTO_STORAGE names (settings checked: s3 has a bucket)."""
    if settings.photo_storage == "s3":
        assert settings.photo_s3_bucket is not None
        client = s3_client(settings.photo_s3_endpoint_url, settings.photo_s3_region,
                           settings.photo_s3_access_key_id, settings.photo_s3_secret_access_key)
        return S3Storage(client, settings.photo_s3_bucket, settings.photo_s3_prefix)
    return FileStorage(settings.photo_dir or settings.data_dir / "photos")


def photo_limits(settings: Settings) -> PhotoLimits:
    return PhotoLimits(max_bytes=settings.photo_max_bytes, max_pixels=settings.photo_max_pixels,
                       max_side_px=settings.photo_max_side_px)


class PhotoDeskBusy(Exception):
    """Too many photos are waiting to be decoded: try again in a moment."""


class PhotoDesk:
    """What the doors need of photos while the service runs: the storage, the limits, and a bound
    on how many photos are decoded at once."""

    def __init__(self, storage: PhotoStorage, limits: PhotoLimits) -> None:
        self.storage = storage
        self.limits = limits
        self._decoding = asyncio.Semaphore(CONCURRENT_DECODES)
        self._waiting = 0

    async def clean(self, data: bytes) -> CleanPhoto:
        """photos.images.clean off the event loop (PhotoRefused for a bad photo; PhotoDeskBusy
        when too many photos wait to be decoded already)."""
        if self._waiting >= MAX_WAITING_DECODES:
            raise PhotoDeskBusy
        self._waiting += 1
        try:
            await self._decoding.acquire()
        finally:
            self._waiting -= 1
        try:
            return await asyncio.to_thread(clean, data, self.limits)
        finally:
            self._decoding.release()

    async def submit(self, pool: AsyncConnectionPool, submission: store_reports.Submission,
                     key: str | None, payload_hash: str, token_hash: bytes,
                     photos: Sequence[CleanPhoto]) -> Row | None:
        """The report and its photos in one transaction: the bytes are put in the storage before
        the commit, and deleted again if anything fails, so a report is never stored without its
        photos nor a photo kept without its report (store.reports.submit otherwise)."""
        if not photos:
            return await store_reports.submit(pool, submission, key, payload_hash, token_hash)
        written: list[str] = []
        try:
            async with pool.connection() as conn, conn.transaction():
                row = await store_reports.submit_on(conn, submission, key, payload_hash, token_hash)
                if row is None:
                    return None
                stored = []
                for position, photo in enumerate(photos):
                    storage_key = f"{uuid.uuid4().hex}{photo.extension}"
                    await self.storage.put(storage_key, photo.data, photo.media_type)
                    written.append(storage_key)
                    stored.append(StoredPhoto(position=position, storage_key=storage_key,
                                              media_type=photo.media_type, byte_size=len(photo.data),
                                              width=photo.width, height=photo.height,
                                              sha256=photo.sha256))
                await store_photos.insert(conn, row["id"], stored)
                return row
        except BaseException:
            await self._forget(written)
            raise

    async def _forget(self, keys: list[str]) -> None:
        for storage_key in keys:
            try:
                await self.storage.delete(storage_key)
            except (StorageError, ValueError) as error:
                log.error("a photo of a report that was not stored could not be deleted (%s): %s",
                          storage_key, error)


async def erase_photos_past_retention(pool: AsyncConnectionPool, storage: PhotoStorage,
                                      batch: int = ERASE_BATCH) -> int:
    """Deletes the photos of reports past the retention period: the objects first, then their rows
    (so a failure in between leaves rows that the next run erases again); returns how many."""
    erased = 0
    while True:
        rows = await store_photos.past_retention(pool, batch)
        for row in rows:
            await storage.delete(row["storage_key"])
        if rows:
            erased += await store_photos.erase(pool, [row["id"] for row in rows])
        if len(rows) < batch:
            return erased

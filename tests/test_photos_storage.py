"""photos.storage: the one interface (put, get, delete) over files under a folder and over a real
S3-compatible HTTP server. The server is moto's standalone server (`moto[server]`, started here
on a free port): an in-memory implementation of the S3 REST API over real HTTP, which boto3
talks to exactly as it talks to AWS S3 or MinIO; it is not a production object store."""

import asyncio
import stat
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from photos.storage import FileStorage, PhotoStorage, S3Storage, StorageError, s3_client
from tests.support import free_port

BUCKET = "threatmap-photos"
KEYS = {"access_key_id": "testing-key", "secret_access_key": "testing-secret"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = s3_client(endpoint, "eu-central-1", KEYS["access_key_id"], KEYS["secret_access_key"])
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    try:
        yield endpoint
    finally:
        server.stop()


def s3_storage(endpoint: str, bucket: str = BUCKET) -> S3Storage:
    return S3Storage(s3_client(endpoint, "eu-central-1", KEYS["access_key_id"],
                               KEYS["secret_access_key"]), bucket, "photos/")


@pytest.fixture(params=["files", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[PhotoStorage]:
    if request.param == "files":
        yield FileStorage(tmp_path / "photos")
    else:
        yield s3_storage(request.getfixturevalue("s3_endpoint"))


def new_key(extension: str = ".jpg") -> str:
    return uuid.uuid4().hex + extension


async def test_put_get_delete(storage: PhotoStorage) -> None:
    key = new_key()
    await storage.put(key, b"\xff\xd8\xff pixels", "image/jpeg")
    assert await storage.get(key) == b"\xff\xd8\xff pixels"
    await storage.put(key, b"replaced", "image/jpeg")
    assert await storage.get(key) == b"replaced"
    await storage.delete(key)
    assert await storage.get(key) is None
    await storage.delete(key)   # nothing there: no error


async def test_a_missing_key_is_none(storage: PhotoStorage) -> None:
    assert await storage.get(new_key(".png")) is None


async def test_keys_cannot_name_anything_else(storage: PhotoStorage) -> None:
    for key in ("../../etc/passwd", "a" * 32 + ".jpg/../x", "ABCDEF" + "0" * 26 + ".jpg",
                uuid.uuid4().hex + ".svg", uuid.uuid4().hex, ""):
        with pytest.raises(ValueError, match="not a photo storage key"):
            await storage.put(key, b"x", "image/jpeg")
        with pytest.raises(ValueError):
            await storage.get(key)


async def test_concurrent_puts(storage: PhotoStorage) -> None:
    keys = [new_key(".webp") for _ in range(12)]
    await asyncio.gather(*[storage.put(k, k.encode(), "image/webp") for k in keys])
    assert await asyncio.gather(*[storage.get(k) for k in keys]) == [k.encode() for k in keys]


async def test_files_are_private_and_never_half_written(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path / "photos")
    key = new_key()
    await storage.put(key, b"bytes", "image/jpeg")
    path = tmp_path / "photos" / key[:2] / key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == [key]   # no temporary file left


async def test_a_file_storage_that_cannot_write_says_so(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    with pytest.raises(StorageError, match="cannot write"):
        await FileStorage(blocked).put(new_key(), b"x", "image/jpeg")


async def test_s3_objects_carry_their_type_under_the_prefix(s3_endpoint: str) -> None:
    storage = s3_storage(s3_endpoint)
    key = new_key(".png")
    await storage.put(key, b"\x89PNG...", "image/png")
    head: dict[str, Any] = storage.client.head_object(Bucket=BUCKET, Key=f"photos/{key}")
    assert head["ContentType"] == "image/png" and head["ContentLength"] == 7


async def test_s3_without_its_bucket_is_a_storage_error(s3_endpoint: str) -> None:
    storage = s3_storage(s3_endpoint, bucket="no-such-bucket")
    with pytest.raises(StorageError):
        await storage.put(new_key(), b"x", "image/jpeg")
    with pytest.raises(StorageError):
        await storage.get(new_key())


async def test_s3_unreachable_is_a_storage_error() -> None:
    storage = s3_storage(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StorageError):
        await storage.put(new_key(), b"x", "image/jpeg")

"""Where photo bytes are kept: one small interface (put, get, delete by key), two backends.

- FileStorage: files under a folder (the data folder by default), written to a temporary file
  and renamed into place (never half a file), readable by the service's user only.
- S3Storage: any S3-compatible object store through boto3, the scale option.

Keys are made by the caller (random, e.g. `3f2a...e1.jpg`) and checked here, so that no key can
name a path outside the folder. Both backends are blocking libraries: their calls run on a thread.
"""

import asyncio
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

KEY = re.compile(r"[0-9a-f]{32}\.(jpg|png|webp)")


class StorageError(Exception):
    """The storage could not do what was asked (unreachable, refused, full)."""


class PhotoStorage(Protocol):
    description: str

    async def put(self, key: str, data: bytes, media_type: str) -> None: ...

    async def get(self, key: str) -> bytes | None:
        """The bytes, or None when nothing is stored under the key."""
        ...

    async def delete(self, key: str) -> None:
        """Removes the object; a key with nothing under it is no error."""
        ...


def checked_key(key: str) -> str:
    if not KEY.fullmatch(key):
        raise ValueError(f"not a photo storage key: {key!r}")
    return key


class FileStorage:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = f"files under {root}"

    def _path(self, key: str) -> Path:
        return self.root / checked_key(key)[:2] / key

    def _write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(descriptor, "wb") as file:   # mkstemp: mode 0600
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _read(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    async def put(self, key: str, data: bytes, media_type: str) -> None:
        try:
            await asyncio.to_thread(self._write, key, data)
        except OSError as error:
            raise StorageError(f"cannot write photo {key}: {error}") from error

    async def get(self, key: str) -> bytes | None:
        try:
            return await asyncio.to_thread(self._read, key)
        except OSError as error:
            raise StorageError(f"cannot read photo {key}: {error}") from error

    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(self._path(key).unlink, missing_ok=True)
        except OSError as error:
            raise StorageError(f"cannot delete photo {key}: {error}") from error


class S3Storage:
    """Objects `<prefix><key>` in one bucket of an S3-compatible store (AWS S3, MinIO, Ceph RGW,
    Garage, ...). The bucket must exist and must not be public."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.description = f"S3 bucket {bucket}" + (f" under {prefix}" if prefix else "")

    def _name(self, key: str) -> str:
        return self.prefix + checked_key(key)

    def _read(self, key: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        with answer["Body"] as body:
            return body.read()

    async def put(self, key: str, data: bytes, media_type: str) -> None:
        await self._call(self.client.put_object, Bucket=self.bucket, Key=self._name(key), Body=data,
                         ContentType=media_type)

    async def get(self, key: str) -> bytes | None:
        return await self._call(self._read, key)

    async def delete(self, key: str) -> None:
        await self._call(self.client.delete_object, Bucket=self.bucket, Key=self._name(key))

    async def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(function, *args, **kwargs)
        except (BotoCoreError, ClientError) as error:
            raise StorageError(f"S3 ({self.bucket}): {error}") from error


def s3_client(endpoint_url: str | None, region: str | None, access_key_id: str | None,
              secret_access_key: str | None) -> Any:
    """A boto3 S3 client: explicit credentials, or boto3's usual chain (environment, instance
    role) when they are None. Short timeouts and a few retries: a citizen waits on a put."""
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint_url, region_name=region or "us-east-1",
        aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
        config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"},
                      signature_version="s3v4", s3={"addressing_style": "path" if endpoint_url else "auto"}))

"""GDAL's OGC API Features driver reads every collection from a real uvicorn."""

import asyncio
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator

import pytest
import uvicorn

from gateway.app import create_app
from gateway.settings import Settings
from tests.test_ogc import COLLECTIONS, published  # noqa: F401 (a fixture)

OGRINFO = shutil.which("ogrinfo")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def served(settings: Settings) -> AsyncIterator[str]:
    """The app on a free port, its links pointing at that port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(settings.model_copy(update={"port": port, "public_url": url}))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(600):
        if server.started:
            break
        await asyncio.sleep(0.1)
    assert server.started, "uvicorn did not start"
    try:
        yield url
    finally:
        server.should_exit = True
        await task


@pytest.mark.skipif(OGRINFO is None, reason="GDAL's ogrinfo is not installed "
                    "(Debian: apt-get install gdal-bin; .ci/run installs it)")
async def test_ogrinfo_reads_every_collection(served: str, published: dict) -> None:  # noqa: F811
    result = await asyncio.to_thread(
        subprocess.run, [OGRINFO, "-ro", "-al", "-so", f"OAPIF:{served}/ogc"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for collection in COLLECTIONS:
        assert f"Layer name: {collection}" in result.stdout, result.stdout
    assert "ERROR" not in result.stderr, result.stderr
    reports = result.stdout.split("Layer name: reports", 1)[1].split("Layer name:", 1)[0]
    assert "Geometry: Point" in reports and "Feature Count: 6" in reports
    fields = set(re.findall(r"^(\w+): \w+ \(", reports, flags=re.MULTILINE))
    assert "status" in fields and not fields & {"description", "contact", "occurred_at"}

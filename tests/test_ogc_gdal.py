"""GDAL's OGC API Features driver reads every collection from a real uvicorn."""

import asyncio
import re
import shutil
import subprocess
from collections.abc import AsyncIterator

import pytest

from gateway.app import create_app
from gateway.settings import Settings
from tests.support import OGC_COLLECTIONS, free_port, served

OGRINFO = shutil.which("ogrinfo")


@pytest.fixture
async def server_url(settings: Settings) -> AsyncIterator[str]:
    """The app on a free port, its links pointing at that port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    async with served(create_app(settings.model_copy(update={"port": port, "public_url": url})), port,
                      startup_timeout=60):
        yield url


@pytest.mark.skipif(OGRINFO is None, reason="GDAL's ogrinfo is not installed "
                    "(Debian: apt-get install gdal-bin; .ci/run installs it)")
async def test_ogrinfo_reads_every_collection(server_url: str, published: dict) -> None:
    result = await asyncio.to_thread(
        subprocess.run, [OGRINFO, "-ro", "-al", "-so", f"OAPIF:{server_url}/ogc"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for collection in OGC_COLLECTIONS:
        assert f"Layer name: {collection}" in result.stdout, result.stdout
    assert "ERROR" not in result.stderr, result.stderr
    reports = result.stdout.split("Layer name: reports", 1)[1].split("Layer name:", 1)[0]
    assert "Geometry: Point" in reports and "Feature Count: 6" in reports
    fields = set(re.findall(r"^(\w+): \w+ \(", reports, flags=re.MULTILINE))
    assert "status" in fields and not fields & {"description", "contact", "occurred_at"}

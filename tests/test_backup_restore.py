"""Backup and restore (issue 11, point 13; README "Running in production"): `threatmap db backup`
dumps the test database with pg_dump, `threatmap db restore` restores the archive into a second,
fresh cluster, and an app started against the restored database serves the same public layer
(OGC items, a GraphQL page, a tile's bytes) with the same privacy boundary."""

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import mercantile
import psycopg
import pytest

from gateway.cli import main
from gateway.settings import Settings
from store.locations import DatabaseUrls, ManagedDatabase
from tests.support import PUBLISHED_KRAKOW, gql, running_app

GRAPHQL_PAGE = """{ reports(first: 500) { totalCount edges { cursor node {
    id status occurredOn datePrecision location { longitude latitude } category { id }
    areas { code } policeUnit { id } } } } }"""
STATS = "{ stats(groupBy: [AREA, CATEGORY], totals: true) { areaCode category count summedOver } }"


@pytest.fixture(scope="module")
def second_cluster() -> Iterator[ManagedDatabase]:
    """A fresh managed cluster of its own (its own folder and socket), with an empty database."""
    root = Path(tempfile.mkdtemp(prefix="threatmap-restore-", dir=os.environ.get("THREATMAP_TEST_ROOT")))
    os.chmod(root, 0o755)
    managed = ManagedDatabase(root / "data", "threatmap_restored")
    try:
        managed.start()
        yield managed
    finally:
        managed.cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def restored(urls: DatabaseUrls, published: dict[str, uuid.UUID], second_cluster: ManagedDatabase,
             tmp_path_factory: pytest.TempPathFactory) -> DatabaseUrls:
    """The test database (with the `published` reports) through the two commands."""
    work = tmp_path_factory.mktemp("backup")
    archive = work / "threatmap.dump"
    with pytest.MonkeyPatch.context() as env:
        env.chdir(work)                                   # no .env of the project's
        env.setenv("THREATMAP_DATABASE_URL", urls.admin)
        main(["db", "backup", str(archive)])
        assert archive.stat().st_size > 0
        env.setenv("THREATMAP_DATABASE_URL", second_cluster.urls.admin)
        main(["db", "restore", str(archive)])
    return second_cluster.urls


@pytest.fixture(scope="module")
async def restored_client(settings: Settings, restored: DatabaseUrls) -> AsyncIterator[httpx.AsyncClient]:
    copy = settings.model_copy(update={"database_url": restored.app, "public_database_url": restored.public})
    async with running_app(copy) as (http, _):
        yield http


async def both(client: httpx.AsyncClient, restored_client: httpx.AsyncClient, path: str,
               **params: str) -> tuple[httpx.Response, httpx.Response]:
    before, after = (await client.get(path, params=params)), (await restored_client.get(path, params=params))
    assert before.status_code == after.status_code == 200, (path, before.text, after.text)
    return before, after


async def test_the_restored_database_serves_the_same_ogc_items(
        client: httpx.AsyncClient, restored_client: httpx.AsyncClient) -> None:
    for collection in ("reports", "report-density", "area-statistics", "area-totals", "police-units"):
        before, after = await both(client, restored_client, f"/ogc/collections/{collection}/items",
                                   f="json", limit="10000", sortby="id")
        features = before.json()["features"]
        assert features, collection
        assert after.json()["features"] == features, collection
        assert after.json()["numberMatched"] == before.json()["numberMatched"]


async def test_the_restored_database_serves_the_same_graphql_page(
        client: httpx.AsyncClient, restored_client: httpx.AsyncClient) -> None:
    for query in (GRAPHQL_PAGE, STATS):
        before = await gql(client, query)
        after = await gql(restored_client, query)
        assert "errors" not in before and before["data"], before
        assert after == before
    assert (await gql(client, GRAPHQL_PAGE))["data"]["reports"]["totalCount"] >= 6


async def test_the_restored_database_serves_the_same_tile_bytes(
        client: httpx.AsyncClient, restored_client: httpx.AsyncClient) -> None:
    for z in (5, 12, 15):
        t = mercantile.tile(*PUBLISHED_KRAKOW, z)
        before, after = await both(client, restored_client, f"/tiles/reports/{t.z}/{t.x}/{t.y}.mvt")
        assert before.content and after.content == before.content, z


def test_the_restored_database_keeps_the_privacy_boundary(restored: DatabaseUrls) -> None:
    with psycopg.connect(restored.public, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM open.reports").fetchone()[0] >= 6
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM core.reports LIMIT 1")
        assert conn.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "5s"
    with psycopg.connect(restored.public) as conn:           # TEMPORARY taken from PUBLIC again
        conn.execute("SET TRANSACTION READ WRITE")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TEMPORARY TABLE t (x int)")


def test_restore_refuses_a_database_that_is_not_empty(
        restored: DatabaseUrls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("THREATMAP_DATABASE_URL", restored.admin)
    with pytest.raises(SystemExit, match="new, empty database"):
        main(["db", "restore", str(tmp_path / "any.dump")])

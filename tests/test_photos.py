"""Photos sent with a report (issue 12, point 5; docs/photos.md), through HTTP as a citizen, an
officer and an attacker would send them: one multipart GraphQL request with its CSRF header,
all or nothing, stored without metadata, seen by the officers of the report's unit only, never
by a public door, erased with the contact."""

import asyncio
import hashlib
import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import mercantile
import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st
from moto.server import ThreadedMotoServer
from PIL import Image
from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError

from gateway.cli import main
from gateway.photos import (
    CONCURRENT_DECODES,
    MAX_WAITING_DECODES,
    PhotoDesk,
    PhotoDeskBusy,
    erase_photos_past_retention,
    photo_storage,
)
from gateway.settings import Settings
from photos.images import PhotoLimits
from photos.storage import FileStorage
from tests.support import (
    UPLOAD_HEADERS,
    WARSAW,
    assert_no_metadata,
    codes,
    free_port,
    gql,
    insert_report,
    multipart_request,
    photo_bytes,
    running_app,
    token,
)

SUBMIT = """mutation($input: SubmitReportInput!, $key: String, $photos: [Upload!]) {
    submitReport(input: $input, idempotencyKey: $key, photos: $photos) {
        trackingToken report { id status } } }"""
PHOTOS = """query($id: ID!) { report(id: $id) { id photos {
    id mediaType byteSize width height sha256 createdAt url } } }"""
WARSAW_UNIT, KRAKOW_UNIT = "kpp-1405", "kpp-1201"


def report_input(**changes: Any) -> dict[str, Any]:
    occurred = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    return {"categoryId": "illegal-dumping", "longitude": WARSAW[0], "latitude": WARSAW[1],
            "occurredAt": occurred, "description": "Rubbish dumped by the river",
            "contact": "citizen@example.org"} | changes


async def send(client: httpx.AsyncClient, files: list[bytes], key: str | None = None,
               headers: dict[str, str] | None = None, **changes: Any) -> httpx.Response:
    request = multipart_request(SUBMIT, {"input": report_input(**changes), "key": key}, files)
    return await client.post("/graphql", **request,
                             headers=UPLOAD_HEADERS if headers is None else headers)


async def submitted(client: httpx.AsyncClient, files: list[bytes], **kwargs: Any) -> dict[str, Any]:
    response = await send(client, files, **kwargs)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["submitReport"]


def photo_rows(conn: psycopg.Connection, report_id: str) -> list[tuple]:
    return conn.execute("SELECT id, storage_key, media_type, byte_size, width, height, sha256 "
                        "FROM core.report_photos WHERE report_id = %s ORDER BY position",
                        [report_id]).fetchall()


def stored_file(settings: Settings, storage_key: str) -> Path:
    return settings.data_dir / "photos" / storage_key[:2] / storage_key


def stored_files(settings: Settings) -> set[str]:
    root = settings.data_dir / "photos"
    return {p.name for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def report_count(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM core.reports").fetchone()[0]


# ---------------------------------------------------------------------------- the citizen sends

async def test_a_photo_with_gps_is_stored_without_any_metadata(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    original = photo_bytes("JPEG", size=(640, 480))
    with Image.open(io.BytesIO(original)) as image:
        assert image.getexif().get_ifd(0x8825)   # it does carry a GPS position
    payload = await submitted(graphql_client, [original, photo_bytes("PNG"), photo_bytes("WEBP")])
    rows = photo_rows(app_conn, payload["report"]["id"])
    assert [row[2] for row in rows] == ["image/jpeg", "image/png", "image/webp"]
    for _, storage_key, _, size, width, height, digest in rows:
        data = stored_file(settings, storage_key).read_bytes()
        assert_no_metadata(data)
        assert len(data) == size and hashlib.sha256(data).digest() == bytes(digest)
        with Image.open(io.BytesIO(data)) as image:
            assert image.size == (width, height)
    assert (rows[0][4], rows[0][5]) == (480, 640)   # turned upright by its EXIF orientation


async def test_a_report_without_photos_is_sent_as_before(
        graphql_client: httpx.AsyncClient, app_conn: psycopg.Connection, clean_reports: None) -> None:
    body = await gql(graphql_client, SUBMIT, {"input": report_input()})
    assert "errors" not in body, body
    assert photo_rows(app_conn, body["data"]["submitReport"]["report"]["id"]) == []


async def test_a_retry_with_the_same_key_and_photos_is_the_same_report(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    photo, fixed = photo_bytes("JPEG"), report_input()
    first = await submitted(graphql_client, [photo], key="photo-key-1", **fixed)
    files_after_first = stored_files(settings)
    again = await submitted(graphql_client, [photo], key="photo-key-1", **fixed)
    assert again == first
    assert report_count(app_conn) == 1 and len(photo_rows(app_conn, first["report"]["id"])) == 1
    assert stored_files(settings) == files_after_first
    other = (await send(graphql_client, [photo_bytes("PNG")], key="photo-key-1", **fixed)).json()
    assert codes(other) == ["CONFLICT"]


async def test_the_upload_needs_the_csrf_header(
        graphql_client: httpx.AsyncClient, app_conn: psycopg.Connection, clean_reports: None) -> None:
    for headers in ({}, {"GraphQL-Require-Preflight": ""}, {"X-Requested-With": "XMLHttpRequest"}):
        response = await send(graphql_client, [photo_bytes()], headers=headers)
        assert response.status_code == 400
        assert codes(response.json()) == ["PREFLIGHT_REQUIRED"]
        assert "GraphQL-Require-Preflight" in response.json()["errors"][0]["message"]
    assert report_count(app_conn) == 0
    apollo = await send(graphql_client, [photo_bytes()], headers={"Apollo-Require-Preflight": "true"})
    assert "errors" not in apollo.json()


async def test_a_browser_on_another_origin_may_send_the_header_after_a_preflight(
        graphql_client: httpx.AsyncClient) -> None:
    response = await graphql_client.options("/graphql", headers={
        "Origin": "https://portal.example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "graphql-require-preflight"})
    assert response.status_code == 200
    assert "graphql-require-preflight" in response.headers["access-control-allow-headers"].lower()


# ------------------------------------------------------------------------------- bad input

def _bomb() -> bytes:
    image = Image.new("L", (7000, 7000))   # 49 megapixels in a few kilobytes
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


BAD_PHOTOS = {
    "TOO_MANY_PHOTOS": lambda: [photo_bytes() for _ in range(4)],
    "PHOTO_TOO_LARGE": lambda: [photo_bytes(), b"\xff\xd8\xff\xe0" + bytes(5 * 2**20)],
    "UNSUPPORTED_TYPE": lambda: [photo_bytes("GIF", metadata=False)],
    "UNREADABLE_IMAGE": lambda: [photo_bytes(), photo_bytes("JPEG", size=(600, 400))[:3000]],
    "TOO_MANY_PIXELS": lambda: [_bomb()],
}


@pytest.mark.parametrize("reason", list(BAD_PHOTOS))
async def test_a_bad_photo_refuses_the_whole_report(
        reason: str, graphql_client: httpx.AsyncClient, settings: Settings,
        app_conn: psycopg.Connection, clean_reports: None) -> None:
    files_before = stored_files(settings)
    response = await send(graphql_client, BAD_PHOTOS[reason]())
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"submitReport": None}
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "photos" and error["extensions"]["reason"] == reason
    if reason != "TOO_MANY_PHOTOS":
        assert error["extensions"]["photo"] == (1 if reason in ("PHOTO_TOO_LARGE", "UNREADABLE_IMAGE") else 0)
    assert report_count(app_conn) == 0
    assert app_conn.execute("SELECT count(*) FROM core.report_photos").fetchone()[0] == 0
    assert stored_files(settings) == files_before


async def test_photos_must_be_files(graphql_client: httpx.AsyncClient, app_conn: psycopg.Connection,
                                    clean_reports: None) -> None:
    body = await gql(graphql_client, SUBMIT, {"input": report_input(), "photos": ["not a file"]})
    assert codes(body) == ["BAD_USER_INPUT"] and body["errors"][0]["extensions"]["reason"] == "NOT_A_FILE"
    assert report_count(app_conn) == 0


async def test_a_body_past_the_upload_limit_is_413(graphql_client: httpx.AsyncClient,
                                                   settings: Settings) -> None:
    huge = b"\xff\xd8\xff" + bytes(settings.photo_upload_max_bytes)
    response = await send(graphql_client, [huge])
    assert response.status_code == 413
    # A JSON body keeps its small limit.
    response = await graphql_client.post("/graphql", json={"query": "{ __typename }",
                                                           "pad": "x" * settings.graphql_max_body_bytes})
    assert response.status_code == 413


@pytest.mark.parametrize("mapping", [
    {"0": ["variables.photos.7"]}, {"0": ["variables.nothing.deep"]}, {"0": "variables.photos.0"},
    ["variables.photos.0"], {"0": [5]}, {"9": ["variables.photos.0"]}])
async def test_a_map_that_does_not_fit_is_a_400(mapping: Any, graphql_client: httpx.AsyncClient) -> None:
    request = multipart_request(SUBMIT, {"input": report_input()}, [photo_bytes()])
    request["data"]["map"] = json.dumps(mapping)
    response = await graphql_client.post("/graphql", **request, headers=UPLOAD_HEADERS)
    assert response.status_code == 400, response.text


async def test_a_refused_photo_does_not_count_against_the_rate_limit(
        settings: Settings, app_conn: psycopg.Connection, clean_reports: None) -> None:
    async with running_app(settings.model_copy(update={"submit_rate_limit": "1/day"})) as (http, _):
        assert codes((await send(http, [b"GIF89a not a photo"])).json()) == ["BAD_USER_INPUT"]
        assert (await submitted(http, [photo_bytes()]))["report"]["status"] == "under_verification"
        assert codes((await send(http, [photo_bytes()])).json()) == ["RATE_LIMITED"]


async def test_reports_with_photos_have_their_own_rate_limit(
        settings: Settings, app_conn: psycopg.Connection, clean_reports: None) -> None:
    async with running_app(settings.model_copy(update={"photo_rate_limit": "2/hour"})) as (http, _):
        assert codes((await send(http, [b"GIF89a not a photo"])).json()) == ["BAD_USER_INPUT"]
        assert "errors" not in (await send(http, [photo_bytes()])).json()
        assert codes((await send(http, [photo_bytes()])).json()) == ["RATE_LIMITED"]
        # Reports without photos are not counted by it.
        assert "errors" not in await gql(http, SUBMIT, {"input": report_input()})


async def test_photos_beyond_the_decoding_queue_are_told_to_come_back(tmp_path: Path) -> None:
    desk = PhotoDesk(FileStorage(tmp_path), PhotoLimits())
    for _ in range(CONCURRENT_DECODES):   # every decoder busy
        await desk._decoding.acquire()
    waiting = [asyncio.create_task(desk.clean(photo_bytes())) for _ in range(MAX_WAITING_DECODES)]
    await asyncio.sleep(0.05)
    with pytest.raises(PhotoDeskBusy):
        await desk.clean(photo_bytes())
    for _ in range(CONCURRENT_DECODES):
        desk._decoding.release()
    assert all(photo.media_type == "image/jpeg" for photo in await asyncio.gather(*waiting))
    assert (await desk.clean(photo_bytes())).media_type == "image/jpeg"


async def test_a_storage_failure_stores_nothing(settings: Settings, app_conn: psycopg.Connection,
                                                tmp_path: Path, clean_reports: None) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the photo folder should be")
    async with running_app(settings.model_copy(update={"photo_dir": blocked})) as (http, _):
        body = (await send(http, [photo_bytes()])).json()
    assert codes(body) == ["UNAVAILABLE"] and body["data"] == {"submitReport": None}
    assert report_count(app_conn) == 0


# ------------------------------------------------------------------------------ the officers

@pytest.fixture
async def with_photo(graphql_client: httpx.AsyncClient, app_conn: psycopg.Connection,
                     clean_reports: None) -> AsyncIterator[dict[str, Any]]:
    """A Warsaw report with one photo: its id, tracking token and photo row."""
    payload = await submitted(graphql_client, [photo_bytes("JPEG", size=(320, 240))])
    report_id = payload["report"]["id"]
    [row] = photo_rows(app_conn, report_id)
    yield {"report": report_id, "token": payload["trackingToken"], "photo": str(row[0]),
           "key": row[1], "sha256": bytes(row[6])}


async def test_officers_of_the_unit_and_analysts_see_the_photos(
        graphql_client: httpx.AsyncClient, settings: Settings, with_photo: dict[str, Any]) -> None:
    for bearer in (token(settings, "officer", WARSAW_UNIT), token(settings, "analyst")):
        body = await gql(graphql_client, PHOTOS, {"id": with_photo["report"]}, bearer)
        assert "errors" not in body, body
        [photo] = body["data"]["report"]["photos"]
        assert photo["id"] == with_photo["photo"] and photo["mediaType"] == "image/jpeg"
        assert (photo["width"], photo["height"]) == (240, 320)
        assert photo["sha256"] == with_photo["sha256"].hex()
        assert photo["url"] == f"http://testserver/staff/photos/{with_photo['photo']}"
        response = await graphql_client.get(photo["url"], headers={"Authorization": f"Bearer {bearer}"})
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["cache-control"] == "private, no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in response.headers["content-security-policy"]
        assert hashlib.sha256(response.content).digest() == with_photo["sha256"]
        assert_no_metadata(response.content)


async def test_the_work_list_lists_photos(graphql_client: httpx.AsyncClient, settings: Settings,
                                          with_photo: dict[str, Any]) -> None:
    body = await gql(graphql_client, "{ staffReports { edges { node { id photos { id } } } } }", {},
                     token(settings, "officer", WARSAW_UNIT))
    nodes = {e["node"]["id"]: e["node"]["photos"] for e in body["data"]["staffReports"]["edges"]}
    assert nodes[with_photo["report"]] == [{"id": with_photo["photo"]}]


async def test_another_countys_officer_is_forbidden(
        graphql_client: httpx.AsyncClient, settings: Settings, with_photo: dict[str, Any]) -> None:
    krakow = token(settings, "officer", KRAKOW_UNIT)
    body = await gql(graphql_client, PHOTOS, {"id": with_photo["report"]}, krakow)
    assert codes(body) == ["FORBIDDEN"] and body["data"]["report"]["photos"] is None
    response = await graphql_client.get(f"/staff/photos/{with_photo['photo']}",
                                        headers={"Authorization": f"Bearer {krakow}"})
    assert response.status_code == 403 and response.headers["content-type"] == "application/json"
    assert with_photo["sha256"].hex() not in response.text


async def test_the_photo_endpoint_refuses_everyone_else(
        graphql_client: httpx.AsyncClient, settings: Settings, with_photo: dict[str, Any]) -> None:
    url = f"/staff/photos/{with_photo['photo']}"
    refusals = {
        None: 401, "Bearer not-a-token": 401, "Basic dXNlcjpwYXNz": 401,
        f"Bearer {token(settings, 'admin')}": 403,
        f"Bearer {token(settings, 'officer', 'kpp-9999')}": 403,   # a unit that does not exist
        f"Bearer {token(settings, 'officer', WARSAW_UNIT, hours=-1)}": 401,   # expired
    }
    for authorization, status in refusals.items():
        headers = {"Authorization": authorization} if authorization else {}
        response = await graphql_client.get(url, headers=headers)
        assert response.status_code == status, (authorization, response.text)
        assert response.headers["content-type"] == "application/json"
    analyst = {"Authorization": f"Bearer {token(settings, 'analyst')}"}
    for missing in (str(uuid.uuid4()), "../../etc/passwd", with_photo["key"]):
        response = await graphql_client.get(f"/staff/photos/{missing}", headers=analyst)
        assert response.status_code == 404, missing
    assert (await graphql_client.post(url, headers=analyst)).status_code == 405


# ------------------------------------------------------------------- no public door serves them

async def test_no_public_door_serves_a_photo_or_its_id(
        graphql_client: httpx.AsyncClient, app_conn: psycopg.Connection,
        public_conn: psycopg.Connection, with_photo: dict[str, Any]) -> None:
    app_conn.execute("UPDATE core.reports SET published_at = now() WHERE id = %s", [with_photo["report"]])
    secrets = (with_photo["photo"], with_photo["key"], with_photo["key"][:32], with_photo["sha256"].hex())

    def assert_clean(text: str | bytes, where: str) -> None:
        data = text.encode() if isinstance(text, str) else text
        for secret in secrets:
            assert secret.encode() not in data, where

    # Anonymous GraphQL: the field is refused, and no other field carries one.
    anonymous = await gql(graphql_client, PHOTOS, {"id": with_photo["report"]})
    assert codes(anonymous) == ["FORBIDDEN"]
    listing = await graphql_client.post("/graphql", json={
        "query": "{ reports(first: 500) { edges { node { id status location { longitude } } } } }"})
    assert with_photo["report"] in listing.text
    assert_clean(listing.text, "GraphQL reports")
    # The citizen's own token: status and history, never the photos.
    mine = await gql(graphql_client, "query($t: String!) { reportByToken(token: $t) { photos { id } } }",
                     {"t": with_photo["token"]})
    assert codes(mine) == ["FORBIDDEN"]
    everything = await gql(graphql_client, """query($t: String!) { reportByToken(token: $t) {
        id status history { kind actor comment } statusHistory { at status { id } } } }""",
                           {"t": with_photo["token"]})
    assert "errors" not in everything
    assert_clean(json.dumps(everything), "reportByToken")
    # OGC API Features and the vector tiles (at every zoom over the point).
    items = await graphql_client.get("/ogc/collections/reports/items?f=json&limit=1000")
    assert items.status_code == 200 and with_photo["report"] in items.text
    assert_clean(items.text, "OGC items")
    item = await graphql_client.get(f"/ogc/collections/reports/items/{with_photo['report']}?f=json")
    assert item.status_code == 200
    assert_clean(item.text, "OGC item")
    for zoom in (5, 10, 14, 16):
        tile = mercantile.tile(*WARSAW, zoom)
        response = await graphql_client.get(f"/tiles/reports/{zoom}/{tile.x}/{tile.y}.mvt")
        assert response.status_code in (200, 204)
        assert_clean(response.content, f"tile z{zoom}")
    # The public role cannot read the table at all.
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        public_conn.execute("SELECT * FROM core.report_photos")
    columns = public_conn.execute("SELECT table_name, column_name FROM information_schema.columns "
                                  "WHERE table_schema = 'open' AND column_name ILIKE '%photo%'").fetchall()
    assert columns == []


# ------------------------------------------------------------------------------- retention

def _close(conn: psycopg.Connection, report: str, days_ago: float) -> None:
    conn.execute("UPDATE core.reports SET status = 'not_confirmed', "
                 "closed_at = now() - make_interval(days => %s) WHERE id = %s", [days_ago, report])


async def test_photos_are_erased_with_the_contact(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        urls: Any, clean_reports: None) -> None:
    due = await submitted(graphql_client, [photo_bytes(), photo_bytes("PNG")])
    recent = await submitted(graphql_client, [photo_bytes("WEBP")])
    still_open = await submitted(graphql_client, [photo_bytes()])
    _close(app_conn, due["report"]["id"], 40)
    _close(app_conn, recent["report"]["id"], 5)
    due_keys = [row[1] for row in photo_rows(app_conn, due["report"]["id"])]
    kept = [row[1] for r in (recent, still_open) for row in photo_rows(app_conn, r["report"]["id"])]
    assert all(stored_file(settings, key).exists() for key in due_keys + kept)
    async with AsyncConnectionPool(urls.app, min_size=1, max_size=1, open=False) as pool:
        assert await erase_photos_past_retention(pool, photo_storage(settings), batch=1) == 2
        assert await erase_photos_past_retention(pool, photo_storage(settings)) == 0
    assert not any(stored_file(settings, key).exists() for key in due_keys)
    assert all(stored_file(settings, key).exists() for key in kept)
    assert photo_rows(app_conn, due["report"]["id"]) == []
    events = app_conn.execute("SELECT kind, actor FROM core.report_events WHERE report_id = %s "
                              "AND kind = 'photos_erased'", [due["report"]["id"]]).fetchall()
    assert events == [("photos_erased", "system:retention")] * 2   # one per batch of the run


def test_the_purge_command_erases_photos(
        settings: Settings, app_conn: psycopg.Connection, urls: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], clean_reports: None) -> None:
    due = insert_report(app_conn, created_at=datetime.now(UTC) - timedelta(days=60))
    _close(app_conn, str(due), 40)
    storage_key = uuid.uuid4().hex + ".jpg"
    path = stored_file(settings, storage_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"stored photo")
    app_conn.execute("INSERT INTO core.report_photos (report_id, position, storage_key, media_type, "
                     "byte_size, width, height, sha256) VALUES (%s, 0, %s, 'image/jpeg', 12, 1, 1, %s)",
                     [due, storage_key, hashlib.sha256(b"stored photo").digest()])
    monkeypatch.setenv("DATABASE_URL", urls.app)
    monkeypatch.setenv("THREATMAP_PUBLIC_DATABASE_URL", urls.public)
    monkeypatch.setenv("THREATMAP_DATA_DIR", str(settings.data_dir))
    main(["privacy", "purge"])
    assert "1 photos erased" in capsys.readouterr().out
    assert not path.exists()
    assert app_conn.execute("SELECT count(*) FROM core.report_photos WHERE report_id = %s",
                            [due]).fetchone() == (0,)


# ----------------------------------------------------------------- the same through S3 storage

async def test_photos_through_s3_storage(settings: Settings, app_conn: psycopg.Connection,
                                         urls: Any, clean_reports: None) -> None:
    """End to end with THREATMAP_PHOTO_STORAGE=s3 against moto's standalone S3 server (see
    tests/test_photos_storage.py): stored without metadata, served to staff, erased."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        s3 = settings.model_copy(update={
            "photo_storage": "s3", "photo_s3_bucket": "kmzb-photos", "photo_s3_region": "eu-central-1",
            "photo_s3_endpoint_url": f"http://127.0.0.1:{port}", "photo_s3_prefix": "reports/",
            "photo_s3_access_key_id": "k", "photo_s3_secret_access_key": "s"})
        storage = photo_storage(s3)
        storage.client.create_bucket(Bucket="kmzb-photos",
                                     CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        async with running_app(s3) as (http, _):
            payload = await submitted(http, [photo_bytes("WEBP")])
            [row] = photo_rows(app_conn, payload["report"]["id"])
            stored = storage.client.get_object(Bucket="kmzb-photos", Key=f"reports/{row[1]}")
            data = stored["Body"].read()
            assert stored["ContentType"] == "image/webp"
            assert_no_metadata(data)
            served = await http.get(f"/staff/photos/{row[0]}",
                                    headers={"Authorization": f"Bearer {token(s3, 'analyst')}"})
            assert served.status_code == 200 and served.content == data
        _close(app_conn, payload["report"]["id"], 40)
        async with AsyncConnectionPool(urls.app, min_size=1, max_size=1, open=False) as pool:
            assert await erase_photos_past_retention(pool, storage) == 1
        listed = storage.client.list_objects_v2(Bucket="kmzb-photos")
        assert listed.get("KeyCount", 0) == 0
    finally:
        server.stop()


# ---------------------------------------------------------------------------------- settings

@pytest.mark.parametrize(("environment", "named"), [
    ({"THREATMAP_PHOTO_STORAGE": "s3"}, "THREATMAP_PHOTO_S3_BUCKET"),
    ({"THREATMAP_PHOTO_STORAGE": "s3", "THREATMAP_PHOTO_S3_BUCKET": "b",
      "THREATMAP_PHOTO_S3_ENDPOINT_URL": "minio:9000"}, "THREATMAP_PHOTO_S3_ENDPOINT_URL"),
    ({"THREATMAP_PHOTO_STORAGE": "ftp"}, "photo_storage"),
    ({"THREATMAP_PHOTO_MAX_COUNT": "50"}, "photo_max_count"),
])
def test_bad_photo_settings_stop_the_start(environment: dict[str, str], named: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=named):
        Settings()


# ------------------------------------------------------------------------- whatever is sent

_noise = st.one_of(st.binary(max_size=64),
                   st.text(max_size=40).map(lambda s: s.encode("utf-8", "surrogatepass")),
                   st.sampled_from([b"", b"null", b"[]", b"{}", b'{"query": 1}', b'{"0": null}',
                                    b'{"0": ["variables"]}', b'{"0": ["variables.photos.0.x"]}',
                                    b'{"0": ["query"]}', b'{"0": ["variables.input.contact"]}',
                                    photo_bytes()[:40]]))
_operations = st.one_of(_noise, st.just(json.dumps({"query": SUBMIT, "variables": {
    "input": report_input(), "photos": [None]}}).encode()))
_maps = st.one_of(_noise, st.just(b'{"0": ["variables.photos.0"]}'))
_files = st.one_of(_noise, st.just(photo_bytes()), st.just(b"GIF89a" + bytes(20)))


@given(operations=_operations, mapping=_maps, file=_files,
       field=st.sampled_from(["0", "1", "operations", "map", "\x00", "ö"]))
@fuzz_settings(max_examples=40, deadline=timedelta(seconds=10), derandomize=True, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
async def test_no_multipart_body_is_a_server_error(operations: bytes, mapping: bytes, file: bytes,
                                                   field: str, graphql_client: httpx.AsyncClient,
                                                   clean_reports: None) -> None:
    response = await graphql_client.post("/graphql", headers=UPLOAD_HEADERS, files={
        "operations": (None, operations), "map": (None, mapping), field: ("p.jpg", file, "image/jpeg")})
    assert response.status_code < 500, response.text
    if response.headers.get("content-type", "").startswith("application/json"):
        assert "INTERNAL" not in codes(response.json()), response.text


@given(path=st.one_of(st.uuids().map(str), st.text(max_size=40).map(quote)),
       authorization=st.one_of(st.none(), st.text(max_size=40),
                               st.sampled_from(["Bearer ", "Bearer x.y.z"])))
@fuzz_settings(max_examples=40, deadline=timedelta(seconds=5), derandomize=True, database=None,
               suppress_health_check=[HealthCheck.too_slow])
async def test_no_request_for_a_photo_is_a_server_error(path: str, authorization: str | None,
                                                        graphql_client: httpx.AsyncClient) -> None:
    headers = {}
    if authorization is not None and authorization.isprintable() and authorization.isascii():
        headers["Authorization"] = authorization
    response = await graphql_client.get(f"/staff/photos/{path}", headers=headers)
    assert response.status_code in (401, 403, 404), (path, authorization, response.status_code)

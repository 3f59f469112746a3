"""The OGC `report-density` collection's pages (issue 16, dens16): ordered by the key columns its
id joins, read from the index of the published counts (store/migrations/0023_...sql) instead of
computing every id and sorting, with the same features as the view ordered by id gave."""

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest

from store.locations import DatabaseUrls
from tests.support import insert_varied_reports

KEY = ("cell_m", "cx", "cy", "category_id", "status", "month")
KRAKOW = (19.94, 50.06)
BOX = (19.86, 50.01, 19.9, 50.03)  # a corner of the reports: some cells, not all
# The view as it was before dens16 (store/sql/70_ogc_views.sql), and the page statement the
# provider made of it: ordered by the computed id.
OLD_VIEW = ("(SELECT concat_ws(':', cell_m, cx, cy, category_id, status, month) AS id, cell_m, cx, cy, "
            "category_id, status, month, count, geom FROM open.report_density) AS v")


@pytest.fixture(scope="module")
def varied(urls: DatabaseUrls) -> Iterator[list[uuid.UUID]]:
    """60 public reports around Kraków over three categories and two statuses in one month:
    density cells of several sizes, some below k (left out), some above."""
    with psycopg.connect(urls.app, autocommit=True) as conn:
        ids = insert_varied_reports(conn, random.Random(16), 60, around=KRAKOW, dx=0.08, dy=0.05,
                                    start=datetime(2026, 4, 2, tzinfo=UTC), days=20)
    yield ids
    with psycopg.connect(urls.app, autocommit=True) as conn:
        conn.execute("DELETE FROM core.reports WHERE id = ANY(%s)", [ids])


def old_features(conn: psycopg.Connection, where: str = "true", params: Any = ()) -> list[dict]:
    """The features the old view holds for this condition, as (id, properties, geometry)."""
    rows = conn.execute(
        f"SELECT id, cell_m, cx, cy, category_id, status, month::text, count, "
        f"ST_AsGeoJSON(geom, 7)::json FROM {OLD_VIEW} WHERE {where} ORDER BY id", params).fetchall()
    return [{"id": row[0], "properties": dict(zip((*KEY, "count"), row[1:8], strict=True)),
             "geometry": row[8]} for row in rows]


async def walk(client: httpx.AsyncClient, limit: int, **params: Any) -> tuple[list[dict], set[int]]:
    """Every feature of a request, `limit` a page (offset), and the pages' numberMatched."""
    features: list[dict] = []
    matched: set[int] = set()
    while True:
        response = await client.get("/ogc/collections/report-density/items",
                                    params={"f": "json", "limit": limit, "offset": len(features), **params})
        assert response.status_code == 200, response.text
        body = response.json()
        matched.add(body["numberMatched"])
        features += body["features"]
        if len(body["features"]) < limit:
            return features, matched


def in_key_order(features: list[dict]) -> bool:
    keys = [tuple(f["properties"][name] for name in KEY) for f in features]
    return keys == sorted(keys)


def same(features: list[dict], old: list[dict]) -> None:
    """The same features (id, every property, geometry) as the old view's, in the key order."""
    assert in_key_order(features)
    assert sorted(features, key=lambda f: f["id"]) == [
        {"type": "Feature", "id": f["id"], "geometry": f["geometry"], "properties": f["properties"]}
        for f in old]


@pytest.mark.parametrize("limit", [3, 1000])
async def test_unfiltered_pages_are_the_old_views_features_in_key_order(
        client: httpx.AsyncClient, public_conn: psycopg.Connection, varied: list[uuid.UUID],
        limit: int) -> None:
    old = old_features(public_conn)
    assert len(old) > 6, "too few published cells to page through"
    features, matched = await walk(client, limit)
    same(features, old)
    assert matched == {len(old)}   # exact on every page: the kept total, then the last page


async def test_bbox_and_property_pages_are_the_old_views_features(
        client: httpx.AsyncClient, public_conn: psycopg.Connection, varied: list[uuid.UUID]) -> None:
    box = "ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))"
    old = old_features(public_conn, box, BOX)
    assert old and len(old) < len(old_features(public_conn))
    features, matched = await walk(client, 2, bbox=",".join(map(str, BOX)))
    same(features, old)
    assert matched == {len(old)}
    old = old_features(public_conn, "category_id = 'speeding' AND cell_m = 4000")
    assert old
    features, _ = await walk(client, 2, category_id="speeding", cell_m="4000")
    same(features, old)


async def test_every_id_finds_its_feature(client: httpx.AsyncClient, public_conn: psycopg.Connection,
                                          varied: list[uuid.UUID]) -> None:
    features = old_features(public_conn)[:20]
    assert features
    for feature in features:
        response = await client.get(f"/ogc/collections/report-density/items/{feature['id']}",
                                    params={"f": "json"})
        assert response.status_code == 200, feature["id"]
        assert response.json()["properties"] | {"id": response.json()["id"]} == \
            feature["properties"] | {"id": feature["id"]}


def plan_nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def page_plan(conn: psycopg.Connection, statement: str) -> list[dict]:
    """The plan's nodes with sorting made as dear as the planner allows: a Sort left in it is
    one no index can spare (the test database is too small for the planner to mind otherwise)."""
    with conn.transaction():
        conn.execute("SET LOCAL enable_sort = off")
        conn.execute("SET LOCAL enable_incremental_sort = off")
        plan = conn.execute(f"EXPLAIN (FORMAT JSON) {statement}").fetchone()[0][0]["Plan"]
    return list(plan_nodes(plan))


def test_the_page_reads_an_index_in_order_instead_of_sorting_every_cell(
        public_conn: psycopg.Connection, varied: list[uuid.UUID]) -> None:
    order = ", ".join(KEY)
    page = page_plan(public_conn, f"SELECT * FROM open.ogc_report_density ORDER BY {order} LIMIT 10 OFFSET 5")
    assert not [n for n in page if "Sort" in n["Node Type"]], page
    assert {n.get("Index Name") for n in page} & {"density_counts_published", "density_counts_pkey"}
    # the statement as it was (ordered by the id computed per row) cannot do without the sort
    old = page_plan(public_conn, f"SELECT * FROM {OLD_VIEW} ORDER BY id LIMIT 10 OFFSET 5")
    assert [n for n in old if n["Node Type"] == "Sort"]


def test_the_published_index_serves_the_view_under_any_k_the_policy_allows(
        app_conn: psycopg.Connection) -> None:
    """The index and the view's `count >= 2` take 2 as the least k: the table refuses less."""
    with pytest.raises(psycopg.errors.CheckViolation), app_conn.transaction():
        app_conn.execute("UPDATE core.privacy_policy SET k = 1")

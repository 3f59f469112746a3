"""Filters and errors of /ogc items (issue 11, point 5): CQL2 JSON in the query string with
filter-lang=cql2-json, as the README says, and errors that name the problem and where it is
(the parser's column and token, the unknown property, the bad bbox): always a 400, never a 500."""

import json

import httpx
import pytest

from ogc.filters import FilterSyntaxError, check, parse_json, parse_text

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG2180 = "http://www.opengis.net/def/crs/EPSG/0/2180"
CRS_LIST = [CRS84, EPSG2180]
VERIFIED_IN_MALOPOLSKA = {"op": "and", "args": [
    {"op": "=", "args": [{"property": "voivodeship_code"}, "12"]},
    {"op": ">=", "args": [{"property": "occurred_on"}, {"date": "2026-03-01"}]}]}


async def items(client: httpx.AsyncClient, **params: str | int) -> httpx.Response:
    return await client.get("/ogc/collections/reports/items", params={"f": "json", **params})


# -- the parser's messages (no database) -----------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("status == 'x'", "unexpected '=' at column 9"),
    ("status IN ('a', 'b'", "ends too early (after column 19)"),
    ("status = 'open", "unexpected \"'\" at column 10"),
    ("S_INTERSECTS(geom, POINT(1))", "unexpected ')' at column 27; expected one of: a number"),
    ("status", "ends too early"),
])
def test_a_cql2_text_mistake_is_named_with_its_column(text: str, expected: str) -> None:
    with pytest.raises(FilterSyntaxError, match=r"^CQL2 text: ") as raised:
        parse_text(text)
    assert expected in str(raised.value)


@pytest.mark.parametrize(("document", "expected"), [
    ('{"op": "=", "args": [1', "not JSON: Expecting ',' delimiter at line 1, column 23"),
    ('{"op": "="}', "an operation has no 'args' member"),
    ('{"op": "=", "args": [{"property": "status"}]}', "wrong number of arguments"),
    ('{"op": "and", "args": [{"op": "=", "args": [{"property": "a"}, {"x": 1}]}, true]}',
     'not a CQL2 expression: {"x": 1} (at args[0].args[1])'),
    ('"status"', "must be an object"),
    ('{"property": "status"}', "a value, not a condition"),
])
def test_a_cql2_json_mistake_is_named_with_its_place(document: str, expected: str) -> None:
    with pytest.raises(FilterSyntaxError, match=r"^CQL2 JSON") as raised:
        parse_json(document)
    assert expected in str(raised.value)


def test_a_json_filter_without_its_language_says_which_one_to_give() -> None:
    reason = check({"filter": json.dumps(VERIFIED_IN_MALOPOLSKA)}, "GET", b"", CRS_LIST)
    assert reason and "needs filter-lang=cql2-json" in reason
    assert check({"filter": json.dumps(VERIFIED_IN_MALOPOLSKA), "filter-lang": "cql2-json"},
                 "GET", b"", CRS_LIST) is None


# -- through HTTP ----------------------------------------------------------------------------------
async def test_get_with_a_cql2_json_filter_matches_the_same_as_cql2_text(client: httpx.AsyncClient,
                                                                          published: dict) -> None:
    as_text = await items(client, filter="voivodeship_code = '12' AND occurred_on >= DATE('2026-03-01')")
    as_json = await items(client, filter=json.dumps(VERIFIED_IN_MALOPOLSKA), **{"filter-lang": "cql2-json"})
    assert as_text.status_code == as_json.status_code == 200, as_json.text
    assert as_json.headers["content-type"].startswith("application/geo+json")
    ids = sorted(f["id"] for f in as_json.json()["features"])
    assert len(ids) == 5 and ids == sorted(f["id"] for f in as_text.json()["features"])
    assert as_json.json()["numberMatched"] == 5
    # the next and self links keep the filter and its language
    self_link = next(link["href"] for link in as_json.json()["links"] if link["rel"] == "self")
    assert "filter-lang=cql2-json" in self_link
    again = await client.get(self_link.replace("http://testserver", ""))
    assert sorted(f["id"] for f in again.json()["features"]) == ids


async def test_cql2_json_get_and_post_with_a_spatial_predicate(client: httpx.AsyncClient,
                                                               published: dict) -> None:
    near_warsaw = {"op": "s_intersects", "args": [{"property": "geom"}, {"bbox": [20.9, 52.1, 21.1, 52.3]}]}
    got = await items(client, filter=json.dumps(near_warsaw), **{"filter-lang": "cql2-json"})
    assert got.status_code == 200, got.text
    assert [f["id"] for f in got.json()["features"]] == [str(published["warsaw"])]
    posted = await client.post("/ogc/collections/reports/items?f=json", content=json.dumps(near_warsaw),
                               headers={"Content-Type": "application/query-cql-json"})
    assert [f["id"] for f in posted.json()["features"]] == [str(published["warsaw"])]


@pytest.mark.parametrize(("params", "expected"), [
    ({"filter": "status == 'x'"}, "CQL2 text: unexpected '=' at column 9"),
    ({"filter": "description = 'x'"}, "unknown property: description"),
    ({"filter": "cell_m = 'abc'"}, 'invalid input syntax for type integer: "abc"'),
    ({"filter": "ACCENTI(status) = 'a'"}, "unknown function: accenti"),
    ({"filter": '{"op": "="}', "filter-lang": "cql2-json"}, "CQL2 JSON: an operation has no 'args' member"),
    ({"filter": "status = 'x'", "filter-lang": "cql3"}, "filter-lang must be cql2-text or cql2-json"),
    ({"filter": "status = 'x'", "filter-crs": "EPSG:9999"}, "filter-crs 'EPSG:9999' is not one of"),
    ({"filter": "S_INTERSECTS(geom, BBOX(400000, 600000, 600000, 800000))", "filter-crs": EPSG2180},
     "write the box as a POLYGON"),
    ({"bbox": "21,50,20,51"}, "bbox: minx (21) is greater than maxx (20)"),
    ({"bbox": "20,51,21"}, "bbox should be either 4 values"),
    ({"sortby": "-contact"}, "sortby: unknown property contact"),
    ({"properties": "status,description"}, "properties: unknown property description"),
])
async def test_errors_name_the_problem_and_where_it_is(client: httpx.AsyncClient, published: dict,
                                                        params: dict, expected: str) -> None:
    answer = await items(client, **params)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["code"] == "InvalidParameterValue"
    assert expected in body["description"], body
    assert body["description"] not in ("query error", "Bad CQL text", "Bad CQL JSON")


async def test_a_bad_posted_filter_is_named_too(client: httpx.AsyncClient) -> None:
    posted = await client.post("/ogc/collections/reports/items?f=json", content=b'{"op": "=", "args": [1',
                               headers={"Content-Type": "application/query-cql-json"})
    assert posted.status_code == 400
    assert "CQL2 JSON is not JSON: Expecting ',' delimiter" in posted.json()["description"]


async def test_a_filter_crs_polygon_is_reprojected(client: httpx.AsyncClient, published: dict) -> None:
    """filter-crs=EPSG:2180: a POLYGON in PUWG 1992 (northing, easting) around Warsaw."""
    north, east = 487_000, 637_000   # Warsaw's centre, about
    ring = [(north - 20_000, east - 20_000), (north - 20_000, east + 20_000), (north + 20_000, east + 20_000),
            (north + 20_000, east - 20_000), (north - 20_000, east - 20_000)]
    polygon = "POLYGON((" + ", ".join(f"{n} {e}" for n, e in ring) + "))"
    found = await items(client, filter=f"S_INTERSECTS(geom, {polygon})", **{"filter-crs": EPSG2180})
    assert found.status_code == 200, found.text
    assert [f["id"] for f in found.json()["features"]] == [str(published["warsaw"])]

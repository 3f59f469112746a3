"""Property-based fuzzing of every door (issue 10, point 2): whatever a client sends, the answer
is never a 5xx, and no GraphQL error is INTERNAL.

Hypothesis generates requests against the real app and database (the session's `client`, and
`graphql_client` for GraphQL, whose submit rate limit lets mutations go deep): GraphQL operations
built from the schema itself (every root field, every argument, as variables or as literals,
anonymous or with each role's token), GraphQL bodies of any shape, OGC API Features paths, query
parameters and CQL2 (text and JSON), and tile addresses and filters. The values mix well-formed
ones (real ids, dates, points in Poland: to get past the first check) with NUL, lone surrogates,
numbers of thousands of digits, extreme dates and plain noise.

Bounded for CI: `derandomize=True` (the same examples on every run, no example database),
max_examples per test and a per-example deadline: its requests take about 20 s on 2 cores.
What the module changes in the database (reports submitted, categories switched) is undone after.
"""

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import psycopg
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)
from hypothesis import HealthCheck, given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st

from gateway.graphql.schema import build_schema
from gateway.settings import Settings
from store.locations import DatabaseUrls
from tests.support import gql_raw, json_body, token

FUZZ = fuzz_settings(max_examples=30, deadline=timedelta(seconds=5), derandomize=True, database=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
FEW = fuzz_settings(FUZZ, max_examples=20)
MORE = fuzz_settings(FUZZ, max_examples=60)

# -- values: well-formed ones, to get past the first check, and hostile ones -------------------
CATEGORIES = ["vandalism", "illegal-dumping", "begging", "road-safety", "no-such-category"]
STATUSES = ["new", "under_verification", "UNDER_VERIFICATION", "confirmed", "not_confirmed",
            "confirmed_eliminated", "lost"]
AREAS = ["14", "12", "02", "1405", "1465", "99"]
UNITS = ["kpp-1405", "kwp-14", "no-such-unit"]
HOSTILE_CHARACTERS = ["\x00", "\ud800", "\udfff", "\ud83d", "\ufffe", "\u202e", "\x1b", "'", '"', "\\",
                      "%", "_", "\n", "/", ":", ".", "?", "#", "&", "=", ","]
BIG = "@@digits:{}@@"   # a placeholder that `encoded` turns into a bare JSON number of that many digits

plain_text = st.text(max_size=20)
# Half of them a NUL or a lone surrogate: what psycopg and UTF-8 refuse.
hostile_character = st.one_of(st.sampled_from(["\x00", "\ud800", "\udc00"]),
                              st.sampled_from(HOSTILE_CHARACTERS))
# Text with a hostile character in it (often: a lone surrogate or a NUL is what breaks things).
hostile_text = st.one_of(st.tuples(plain_text, hostile_character, plain_text).map("".join), plain_text,
                         st.text(alphabet=st.one_of(st.characters(), hostile_character), max_size=30))
digits = st.one_of(st.integers(min_value=-(2**70), max_value=2**70).map(str),
                   st.sampled_from([101, 4300, 4301, 5000]).map(lambda n: "9" * n))
numbers_text = st.one_of(digits, st.floats().map(repr), st.sampled_from(["1e400", "-0", "0x10", "1_000"]))
dates_text = st.one_of(st.dates().map(date.isoformat),
                       st.sampled_from(["0001-01-01", "9999-12-31", "2026-02-30", "2026-03", "..", ""]))
datetimes = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                         timezones=st.one_of(st.none(), st.just(UTC),
                                             st.sampled_from([timezone(timedelta(hours=h))
                                                              for h in (-23, -12, 1, 14, 23)])))
recent = st.integers(min_value=1, max_value=24 * 40).map(
    lambda hours: (datetime.now(UTC) - timedelta(hours=hours)).isoformat())
uuids = st.uuids().map(str)
good_text = st.sampled_from(CATEGORIES + STATUSES + AREAS + UNITS + ["..", "%00"])
texts = st.one_of(hostile_text, good_text, st.tuples(good_text, hostile_character).map("".join),
                  uuids, numbers_text, dates_text)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), hostile_text),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(hostile_text, inner, max_size=3)), max_leaves=8)


def encoded(document: Any) -> bytes:
    """JSON (json_body) with each BIG placeholder made a bare number of that many digits: json.dumps
    cannot write an integer past Python's 4300-digit limit, but a client can."""
    return re.sub(rb'"@@digits:(\d+)@@"', lambda m: b"9" * int(m.group(1)), json_body(document))


def huge_numbers() -> st.SearchStrategy[str]:
    return st.sampled_from([BIG.format(n) for n in (101, 4301, 5000)])


# -- GraphQL: values for every argument type, from the schema -----------------------------------
SCHEMA = build_schema(Settings())._schema


def scalar_values(scalar: GraphQLScalarType) -> st.SearchStrategy[Any]:
    match scalar.name:
        case "Int":
            return st.one_of(st.integers(-5, 600), st.integers(), huge_numbers())
        case "Float":
            return st.one_of(st.floats(min_value=-200, max_value=200), st.floats(allow_nan=False),
                             st.integers(), huge_numbers())
        case "Boolean":
            return st.booleans()
        case "Date":
            return dates_text
        case "DateTime":
            return st.one_of(recent, datetimes.map(datetime.isoformat), dates_text)
        case _:   # String, ID, JSON and anything added later: text of every kind
            return texts


def values_for(type_: GraphQLInputType) -> st.SearchStrategy[Any]:
    """Values of `type_` mostly, sometimes of any shape (coercion must refuse them cleanly)."""
    if isinstance(type_, GraphQLNonNull):
        inner = type_.of_type
        nullable = False
    else:
        inner, nullable = type_, True
    if isinstance(inner, GraphQLList):
        typed = st.one_of(st.lists(values_for(inner.of_type), max_size=4), values_for(inner.of_type))
    elif isinstance(inner, GraphQLInputObjectType):
        required = {name: values_for(f.type) for name, f in inner.fields.items()
                    if isinstance(f.type, GraphQLNonNull) and f.default_value is None}
        optional = {name: values_for(f.type) for name, f in inner.fields.items() if name not in required}
        typed = st.fixed_dictionaries(required, optional=optional)
    elif isinstance(inner, GraphQLEnumType):
        typed = st.one_of(st.sampled_from(list(inner.values)), hostile_text)
    else:
        typed = scalar_values(inner)
    choices = [typed, typed, typed, json_values]
    return st.one_of(*choices, st.none()) if nullable else st.one_of(*choices)


def literal(value: Any, type_: GraphQLInputType) -> str:
    """`value` written in the document instead of passed as a variable (enums as names)."""
    named = get_named_type(type_)
    if isinstance(value, str) and value.startswith("@@digits:"):
        return "9" * int(value[9:-2])
    if isinstance(value, str) and isinstance(named, GraphQLEnumType) and value in named.values:
        return value
    if isinstance(value, list):
        item = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        item = item.of_type if isinstance(item, GraphQLList) else item
        return "[" + ", ".join(literal(v, item) for v in value) + "]"
    if isinstance(value, dict):
        fields = named.fields if isinstance(named, GraphQLInputObjectType) else {}
        return "{" + ", ".join(f"{k}: {literal(v, fields[k].type if k in fields else type_)}"
                               for k, v in value.items()) + "}"
    return json.dumps(value)


ROOT_FIELDS = [(operation, name, field)
               for operation, root in (("query", SCHEMA.query_type), ("mutation", SCHEMA.mutation_type))
               for name, field in root.fields.items()]
ROLES = [None, "officer", "analyst", "admin"]


@st.composite
def operations(draw: st.DrawFn, operation: str, name: str, field: Any) -> tuple[str, dict[str, Any]]:
    """One operation on the root field `name`: each argument left out (when it may be), passed as
    a variable, or written as a literal."""
    declared, arguments, variables = [], [], {}
    for arg_name, argument in field.args.items():
        required = isinstance(argument.type, GraphQLNonNull)
        how = draw(st.sampled_from(["variable", "literal"] if required else ["omit", "variable", "literal"]))
        if how == "omit":
            continue
        value = draw(values_for(argument.type))
        if how == "variable":
            declared.append(f"${arg_name}: {argument.type}")
            arguments.append(f"{arg_name}: ${arg_name}")
            variables[arg_name] = value
        else:
            arguments.append(f"{arg_name}: {literal(value, argument.type)}")
    selection = " { __typename }" if isinstance(get_named_type(field.type), GraphQLObjectType) else ""
    head = f"{operation}({', '.join(declared)})" if declared else operation
    call = f"{name}({', '.join(arguments)})" if arguments else name
    return f"{head} {{ {call}{selection} }}", variables


def assert_no_internal(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:2000])
    json_answer = response.headers.get("content-type", "").startswith("application/json")
    if response.status_code == 200 and json_answer:
        body = response.json()
        errors = (body.get("errors") or []) if isinstance(body, dict) else []
        assert all(e.get("extensions", {}).get("code") != "INTERNAL" for e in errors), body


@pytest.fixture(scope="module", autouse=True)
def database_restored(urls: DatabaseUrls) -> Iterator[None]:
    """The module submits reports and switches categories: both are put back afterwards."""
    with psycopg.connect(urls.app, autocommit=True) as conn:
        reports = [row[0] for row in conn.execute("SELECT id FROM core.reports")]
        active = conn.execute("SELECT id, active FROM core.categories").fetchall()
    yield
    with psycopg.connect(urls.app, autocommit=True) as conn:
        conn.execute("DELETE FROM core.reports WHERE NOT id = ANY(%s)", [reports])
        for category, was_active in active:
            conn.execute("UPDATE core.categories SET active = %s WHERE id = %s AND active <> %s",
                         [was_active, category, was_active])


@pytest.mark.parametrize(("operation", "name", "field"), ROOT_FIELDS, ids=[f[1] for f in ROOT_FIELDS])
@FUZZ
@given(data=st.data())
async def test_graphql_operations_on_every_root_field(graphql_client: httpx.AsyncClient, settings: Settings,
                                                      operation: str, name: str, field: Any,
                                                      data: st.DataObject) -> None:
    query, variables = data.draw(operations(operation, name, field), label="operation")
    role = data.draw(st.sampled_from(ROLES), label="role")
    bearer = token(settings, role, "kpp-1405" if role == "officer" else None) if role else None
    response = await gql_raw(graphql_client, encoded({"query": query, "variables": variables}), bearer)
    assert_no_internal(response)


@FUZZ
@given(body=st.one_of(json_values.map(json_body), st.binary(max_size=64),
                      st.fixed_dictionaries({}, optional={
                          "query": st.one_of(hostile_text, st.just("{ statuses { id } }"), json_values),
                          "variables": json_values, "operationName": json_values,
                          "extensions": json_values}).map(json_body)))
async def test_graphql_bodies_of_any_shape(client: httpx.AsyncClient, body: bytes) -> None:
    assert_no_internal(await gql_raw(client, body))


@FEW
@given(params=st.dictionaries(st.sampled_from(["query", "variables", "operationName", "extensions"]),
                              st.one_of(hostile_text, json_values.map(json.dumps),
                                        st.just("query($v: Int) { reports(first: $v) { totalCount } }")),
                              max_size=4))
async def test_graphql_get_with_any_parameters(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    query = urlencode(params, errors="surrogatepass")
    assert_no_internal(await client.get(f"/graphql?{query}", headers={"Accept": "application/json"}))


# -- OGC API Features ----------------------------------------------------------------------------
# Each collection's queryable properties (store/sql/70_ogc_views.sql), so that most filters get past
# the check of names and reach the database.
FIELDS = {
    "reports": ["id", "category_id", "category_name_en", "status", "occurred_on", "date_precision", "cell_m",
                "voivodeship_code", "county_code", "police_unit_id"],
    "report-density": ["id", "cell_m", "cx", "cy", "category_id", "status", "month", "count"],
    "area-statistics": ["id", "area_code", "level", "area_name", "category_id", "status", "month", "count"],
    "area-totals": ["id", "area_code", "level", "area_name", "category_id", "count"],
    "police-response-times": ["id", "police_unit_id", "police_unit_name", "level", "month", "reports",
                              "read_median_hours", "verify_p90_hours"],
    "police-units": ["id", "name", "level", "area_code", "parent_id"],
    "police-statistics": ["id", "area_code", "level", "kind", "kind_name_en", "month", "count", "residents",
                          "rate_per_100k"],
    "dangerous-road-sections": ["id", "road", "km_from", "km_to", "period_from", "period_to", "incidents",
                                "deaths", "length_km"],
    "area-comparison": ["id", "area_code", "month", "side", "subject", "count", "rate_per_100k"],
    "categories": ["id", "group_id", "name_en", "colour", "sensitive", "active", "sort_order"],
}
COLLECTIONS = list(FIELDS)
RESERVED = ["bbox", "bbox-crs", "crs", "f", "lang", "limit", "offset", "resulttype", "datetime", "sortby",
            "properties", "skipGeometry", "q", "filter", "filter-lang", "filter-crs"]
CRS = ["http://www.opengis.net/def/crs/OGC/1.3/CRS84", "http://www.opengis.net/def/crs/EPSG/0/2180",
       "http://www.opengis.net/def/crs/EPSG/0/4326", "EPSG:3857", "nonsense"]


def segment(text: str) -> str:
    return quote(text, safe="", errors="surrogatepass")


cql_strings = st.one_of(texts, hostile_text).map(lambda t: "'" + t.replace("'", "''") + "'")
cql_literals = st.one_of(st.integers().map(str), st.floats(allow_nan=False, allow_infinity=False).map(repr),
                         cql_strings, cql_strings, digits,
                         dates_text.map(lambda d: f"DATE('{d}')"), st.just("NULL"), st.just("TRUE"))


def cql_text(fields: list[str]) -> st.SearchStrategy[str]:
    names = st.one_of(st.sampled_from(fields), st.sampled_from(["geom", "description", "x"]))
    predicates = st.one_of(
        st.tuples(names, st.sampled_from(["=", "<>", "<", ">=", " LIKE ", " IN "]), cql_literals)
        .map(lambda t: f"{t[0]}{t[1]}({t[2]})" if t[1] == " IN " else "".join(t)),
        st.lists(numbers_text, min_size=4, max_size=4)
        .map(lambda t: f"S_INTERSECTS(geom, BBOX({', '.join(t)}))"),
        st.tuples(st.sampled_from(["casei", "lower", "upper", "frobnicate"]), names, cql_literals)
        .map(lambda t: f"{t[0]}({t[1]}) = {t[2]}"),
        st.tuples(names, dates_text, dates_text)
        .map(lambda t: f"{t[0]} T_DURING INTERVAL('{t[1]}', '{t[2]}')"),
        st.tuples(names, st.sampled_from(["+", "/", "*"]), cql_literals, cql_literals)
        .map(lambda t: f"{t[0]} {t[1]} {t[2]} = {t[3]}"),
        st.tuples(st.sampled_from(["S_INTERSECTS", "S_WITHIN", "S_CROSSES"]),
                  st.sampled_from(["POINT", "LINESTRING", "POLYGON"]),
                  st.lists(st.tuples(numbers_text, numbers_text).map(" ".join), max_size=4).map(",".join))
        .map(lambda t: f"{t[0]}(geom, {t[1]}({'((' if t[1] == 'POLYGON' else '('}{t[2]}"
                       f"{'))' if t[1] == 'POLYGON' else ')'}))"))
    return st.recursive(predicates, lambda inner: st.tuples(inner, st.sampled_from([" AND ", " OR "]), inner)
                        .map("".join) | inner.map(lambda p: f"NOT ({p})"), max_leaves=2)


def cql_json(fields: list[str]) -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.fixed_dictionaries({"property": st.one_of(st.sampled_from(fields), st.just("geom"), texts)}),
        st.fixed_dictionaries({"property": st.sampled_from(fields)}), texts, texts, json_values,
        st.fixed_dictionaries({"interval": st.lists(dates_text, min_size=2, max_size=2)}),
        st.fixed_dictionaries({"bbox": st.lists(st.one_of(st.floats(), st.integers()), max_size=6)}),
        st.fixed_dictionaries({"type": st.sampled_from(["Point", "LineString", "Polygon", "Nope"]),
                               "coordinates": st.one_of(st.lists(st.floats(), max_size=3),
                                                        st.lists(st.lists(st.floats(), max_size=3),
                                                                 max_size=3),
                                                        json_values)}))
    return st.recursive(leaves, lambda inner: st.fixed_dictionaries({
        "op": st.sampled_from(["=", "<>", "<", "like", "in", "and", "or", "not", "isNull", "between",
                               "s_intersects", "t_during", "t_before", "casei", "+", "/", "nope"]),
        "args": st.lists(inner, max_size=3)}), max_leaves=6)


def ogc_value(name: str, fields: list[str]) -> st.SearchStrategy[str]:
    """A well-formed value of query parameter `name` (mostly: some of them are only plausible)."""
    choices = {
        "bbox": st.lists(numbers_text, min_size=4, max_size=6).map(",".join),
        "limit": numbers_text, "offset": numbers_text, "crs": st.sampled_from(CRS),
        "bbox-crs": st.sampled_from(CRS), "filter-crs": st.sampled_from(CRS),
        "f": st.sampled_from(["json", "html", "jsonld"]),
        "datetime": st.one_of(dates_text, st.tuples(dates_text, dates_text).map("/".join)),
        "sortby": st.lists(st.tuples(st.sampled_from(["", "+", "-"]), st.sampled_from(fields)).map("".join),
                           min_size=1, max_size=3).map(",".join),
        "properties": st.lists(st.sampled_from(fields), min_size=1, max_size=3).map(",".join),
        "filter": cql_text(fields), "filter-lang": st.sampled_from(["cql2-text", "sql"]),
        "resulttype": st.sampled_from(["hits", "results"]), "skipGeometry": st.sampled_from(["true", "no"]),
    }
    return choices.get(name, st.one_of(good_text, texts))


@st.composite
def ogc_items_requests(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]]]:
    """A collection's items with well-formed parameters (else the first bad one is refused and nothing
    deeper is reached) and at most one parameter of any value."""
    collection = draw(st.sampled_from(COLLECTIONS))
    fields = FIELDS[collection]
    names = draw(st.lists(st.sampled_from([n for n in RESERVED if n != "filter"] + fields), max_size=3,
                          unique=True))
    params = [(name, draw(ogc_value(name, fields))) for name in names]
    params += draw(st.lists(st.tuples(st.sampled_from(RESERVED + fields), texts), max_size=1))
    return collection, params


@st.composite
def ogc_filters(draw: st.DrawFn) -> tuple[str, str]:
    collection = draw(st.sampled_from(COLLECTIONS))
    return collection, draw(cql_text(FIELDS[collection]))


ogc_paths = st.one_of(
    st.sampled_from(["/ogc/", "/ogc/conformance", "/ogc/openapi", "/ogc/collections", "/ogc/TileMatrixSets",
                     "/ogc/TileMatrixSets/WebMercatorQuad"]),
    st.tuples(st.one_of(st.sampled_from(COLLECTIONS), texts),
              st.sampled_from(["", "/items", "/queryables", "/schema", "/tiles", "/tiles/WebMercatorQuad"]))
    .map(lambda t: f"/ogc/collections/{segment(t[0])}{t[1]}"),
    st.tuples(st.sampled_from(COLLECTIONS), st.one_of(uuids, texts, digits,
                                                      st.lists(texts, min_size=2, max_size=6).map(":".join)))
    .map(lambda t: f"/ogc/collections/{t[0]}/items/{segment(t[1])}"))


@FUZZ
@given(request=ogc_items_requests())
async def test_ogc_items_with_any_query_parameters(client: httpx.AsyncClient,
                                                   request: tuple[str, list[tuple[str, str]]]) -> None:
    collection, params = request
    query = urlencode(params, errors="surrogatepass")
    assert_no_internal(await client.get(f"/ogc/collections/{collection}/items?{query}"))


@MORE
@given(request=ogc_filters())
async def test_ogc_cql2_text_filters(client: httpx.AsyncClient, request: tuple[str, str]) -> None:
    collection, cql = request
    query = urlencode({"f": "json", "filter": cql}, errors="surrogatepass")
    assert_no_internal(await client.get(f"/ogc/collections/{collection}/items?{query}"))


@FUZZ
@given(path=ogc_paths, params=st.lists(st.tuples(st.sampled_from(RESERVED), texts), max_size=2),
       f=st.sampled_from(["json", "html"]))
async def test_ogc_paths(client: httpx.AsyncClient, path: str, params: list[tuple[str, str]], f: str) -> None:
    query = urlencode([("f", f), *params], errors="surrogatepass")
    assert_no_internal(await client.get(f"{path}?{query}"))


@FUZZ
@given(collection=st.sampled_from(COLLECTIONS), data=st.data())
async def test_ogc_cql2_json_bodies(client: httpx.AsyncClient, collection: str, data: st.DataObject) -> None:
    body = data.draw(cql_json(FIELDS[collection]), label="body")
    response = await client.post(f"/ogc/collections/{collection}/items?f=json", content=encoded(body),
                                 headers={"Content-Type": "application/query-cql-json"})
    assert_no_internal(response)


# -- tiles --------------------------------------------------------------------------------------
tile_index = st.one_of(st.integers(min_value=0, max_value=2**17).map(str), digits,
                       st.sampled_from(["0" * 12 + "1", "9" * 5000, "-1", "1.5", "٣", "１"]), texts)
tile_filters = st.lists(st.sampled_from(["categories", "statuses", "from", "to", "f", "stat",
                                       "roads"]).flatmap(
    lambda name: st.tuples(st.just(name), st.one_of(
        st.lists(st.sampled_from(CATEGORIES + STATUSES), max_size=3).map(",".join), dates_text, texts,
        st.sampled_from(["theft", "fraud_grandchild", "true", "false"])))),
    max_size=4)


@FUZZ
@given(z=tile_index, x=tile_index, y=tile_index, params=tile_filters,
       template=st.sampled_from(["/tiles/reports/{z}/{x}/{y}.mvt",
                                 "/ogc/collections/reports/tiles/WebMercatorQuad/{z}/{y}/{x}"]))
async def test_tile_addresses_and_filters(client: httpx.AsyncClient, z: str, x: str, y: str,
                                          params: list[tuple[str, str]], template: str) -> None:
    path = template.format(z=segment(z), x=segment(x), y=segment(y))
    query = urlencode(params, errors="surrogatepass")
    assert_no_internal(await client.get(f"{path}?{query}" if query else path))


@FEW
@given(params=tile_filters, path=st.sampled_from(["/tiles/reports.json", "/tiles/style.json",
                                                  "/ogc/collections/reports/tiles",
                                                  "/ogc/collections/reports/tiles/WebMercatorQuad"]))
async def test_tile_metadata_with_any_filters(client: httpx.AsyncClient, params: list[tuple[str, str]],
                                              path: str) -> None:
    query = urlencode(params, errors="surrogatepass")
    assert_no_internal(await client.get(f"{path}?{query}" if query else path))


# -- the open-data door: catalogue and feeds (issue 14) --------------------------------------------
catalog_params = st.lists(st.tuples(st.sampled_from(["f", "lang"]),
                                    st.one_of(st.sampled_from(["ttl", "rdf", "jsonld", "html", "en"]),
                                              texts)), max_size=2)


@FUZZ
@given(key=st.one_of(st.sampled_from(AREAS + CATEGORIES), texts),
       kind=st.sampled_from(["counties", "categories"]), params=catalog_params,
       accept=st.sampled_from(["", "*/*", "text/html", "application/ld+json;q=x", "image/png, ;;,"]))
async def test_catalogue_and_feeds_with_any_key_and_parameters(
        client: httpx.AsyncClient, key: str, kind: str, params: list[tuple[str, str]], accept: str) -> None:
    query = urlencode(params, errors="surrogatepass")
    headers = {"Accept": accept} if accept else {}
    for path in (f"/feeds/{kind}/{segment(key)}.atom", "/catalog", "/feeds"):
        assert_no_internal(await client.get(f"{path}?{query}" if query else path, headers=headers))


def test_the_fuzz_values_reach_the_hostile_cases() -> None:
    """The strategies do produce what the fixes are about (else the fuzz above proves little)."""
    assert encoded({"v": BIG.format(5000)}) == b'{"v": ' + b"9" * 5000 + b"}"
    assert json_body({"s": "\x00\ud800"}) == b'{"s": "\\u0000\\ud800"}'


@FEW
@given(parts=st.lists(texts, min_size=1, max_size=4), params=st.lists(st.tuples(texts, texts), max_size=3),
       headers=st.fixed_dictionaries({}, optional={"Range": texts, "If-None-Match": texts,
                                                   "If-Modified-Since": texts, "If-Range": texts}))
async def test_downloads_paths_and_headers(client: httpx.AsyncClient, parts: list[str],
                                           params: list[tuple[str, str]], headers: dict[str, str]) -> None:
    path = "/downloads/" + "/".join(segment(p) for p in parts)
    query = urlencode(params, errors="surrogatepass")
    safe = {k: v.encode("utf-8", "surrogatepass") for k, v in headers.items()
            if all(ord(c) >= 0x20 and c != "\x7f" for c in v)}
    assert_no_internal(await client.get(f"{path}?{query}" if query else path, headers=safe))
    assert_no_internal(await client.get(f"/downloads?{query}" if query else "/downloads"))


# -- Open311 GeoReport v2 (issue 15, point 6) -------------------------------------------------------
OPEN311_FIELDS = ["api_key", "service_code", "lat", "long", "description", "email", "phone", "first_name",
                  "last_name", "media_url", "address_string", "idempotency_key", "locale",
                  "service_request_id", "status", "start_date", "end_date", "attribute[description]"]
open311_fields = st.lists(st.tuples(st.one_of(st.sampled_from(OPEN311_FIELDS), texts),
                                    st.one_of(st.sampled_from([*CATEGORIES, "52.23", "21.01", "open",
                                                               "https://x.org/a.jpg"]),
                                              texts, recent)), max_size=6)


@pytest.fixture(scope="module")
def open311_key(urls: DatabaseUrls) -> Iterator[str]:
    """A partner's key, so that POST requests get past the key; its reports are removed after."""
    from store import partners

    with psycopg.connect(urls.app, autocommit=True) as conn:
        partner_id, key = partners.add_partner(conn, "Fuzz partner", "platform")
    yield key
    with psycopg.connect(urls.app, autocommit=True) as conn:
        conn.execute("DELETE FROM core.reports WHERE partner_id = %s", [partner_id])


@FEW
@given(path=st.one_of(st.sampled_from(["discovery", "services", "requests", "services/vandalism",
                                       "requests/00000000-0000-0000-0000-000000000000", "tokens/x"]),
                      texts.map(segment), st.tuples(st.sampled_from(["services", "requests", "tokens"]),
                                                    texts).map(lambda p: f"{p[0]}/{segment(p[1])}")),
       fmt=st.sampled_from([".json", ".xml", "", ".html", ".json.xml"]), fields=open311_fields,
       with_key=st.booleans())
async def test_open311_paths_parameters_and_forms(client: httpx.AsyncClient, open311_key: str, path: str,
                                                  fmt: str, fields: list[tuple[str, str]],
                                                  with_key: bool) -> None:
    query = urlencode(fields, errors="surrogatepass")
    url = f"/open311/v2/{path}{fmt}"
    assert_no_internal(await client.get(f"{url}?{query}" if query else url))
    form = fields + ([("api_key", open311_key)] if with_key else [])
    assert_no_internal(await client.post("/open311/v2/requests.json",
                                         content=urlencode(form, errors="surrogatepass"),
                                         headers={"Content-Type": "application/x-www-form-urlencoded"}))


# -- the partners' bulk door (issue 15, point 7) ----------------------------------------------------
BULK_FIELDS = ["external_id", "category", "longitude", "latitude", "occurred_at", "description", "contact"]
bulk_items = st.one_of(json_values, st.fixed_dictionaries({}, optional={
    name: st.one_of(texts, json_values, st.floats(), st.sampled_from(CATEGORIES),
                    st.sampled_from([BIG.format(5000), "2026-12-01T10:00:00+01:00"]))
    for name in [*BULK_FIELDS, "colour"]}))


@FUZZ
@given(items=st.lists(bulk_items, max_size=4), ndjson=st.booleans(),
       content_type=st.sampled_from(["", "application/x-ndjson", "application/json", "text/plain"]))
async def test_partner_bulk_batches_of_any_shape(client: httpx.AsyncClient, open311_key: str,
                                                 items: list[Any], ndjson: bool, content_type: str) -> None:
    body = b"\n".join(encoded(item) for item in items) if ndjson else encoded(items)
    headers = {"X-Api-Key": open311_key}
    if content_type:
        headers["Content-Type"] = content_type
    assert_no_internal(await client.post("/partners/v1/reports", content=body, headers=headers))
# -- the staff export and sign-in (issue 13, points 6 and 9) ---------------------------------------
EXPORT_PARAMS = ["status", "category", "deadline", "from", "to", "area", "text", "bbox", "delimiter", "x"]
export_values = st.one_of(st.sampled_from(STATUSES + CATEGORIES + AREAS + [
    "OVERDUE", "due_soon", "2026-06-01", "2026-02-30", "19,50,20,51", "20,50,19,51", "nan,1,2,3",
    "semicolon", "dziura", "9" * 101, "9" * 5000]), texts)


@FEW
@given(params=st.lists(st.tuples(st.sampled_from(EXPORT_PARAMS), export_values), max_size=4),
       role=st.sampled_from(["officer", "analyst", "admin", None]))
async def test_staff_export_with_any_parameters(client: httpx.AsyncClient, settings: Settings,
                                                params: list[tuple[str, str]], role: str | None) -> None:
    query = urlencode(params, errors="surrogatepass")
    headers = {"Authorization": f"Bearer {token(settings, role, 'kpp-1405' if role == 'officer' else None)}"
               } if role else {}
    assert_no_internal(await client.get(f"/staff/export.csv?{query}", headers=headers))


@FEW
@given(body=st.one_of(json_values.map(encoded), st.binary(max_size=200)),
       path=st.sampled_from(["/staff/sign-in/dev", "/staff/auth/token"]))
async def test_staff_sign_in_with_any_body(client: httpx.AsyncClient, body: bytes, path: str) -> None:
    # to 127.0.0.1 from 127.0.0.1: the developer sign-in is there (tests/test_staff_sign_in.py)
    assert_no_internal(await client.post(f"http://127.0.0.1{path}", content=body,
                                         headers={"Content-Type": "application/json"}))

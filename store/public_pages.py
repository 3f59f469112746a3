"""The public GraphQL page of reports written by PostgreSQL: the whole `reports` value (edges,
nodes, their category and areas, pageInfo, totalCount) as one JSON document from one statement,
for the selections a public page allows (the way PostGraphile and Hasura answer a query).

The selection comes in as `Pick`s: what to write under each response key, by the GraphQL name of
a field of the type at that place (`FIELDS` lists the ones this module can write; anything else
is the caller's to answer the ordinary way). The statement reads open.reports, open.categories
and open.areas only (the public role suffices), pages like store.reports.public_page (the same
conditions, the same keyset on (occurred_on, id), one row more than the page tells whether
another follows) and takes the total from the source store.report_totals picks for the filter
(the totals, the squares or the cells), as the ordinary path does.

The document is JSON text as the ordinary path's response would write it (store.json_text:
Python's json.dumps, float repr; the caller escapes the characters beyond ASCII, as ensure_ascii
does), so it can go into the response as it is, without parsing and writing it again. A value
the ordinary completion would refuse or write otherwise (a null for a non-null field, an enum
value without a name, a Float outside the range both write alike, an Int beyond 32 bits) makes
the whole document NULL: the caller then lets the ordinary path answer (and report the error it
finds). No condition is checked separately: NULL goes up through the text by itself.

Statements are built once per (selection, filter's shape, order, first page or not, the count's
statement) and cached, as is the count's text (store.report_totals.count_text): it varies with the
filter's values (the source, the periods of a date range), but over a handful of shapes.
"""

import functools
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from store import json_text, report_totals
from store.reports import PUBLIC_COLUMNS, BBox, ReportFilter, public_conditions


@dataclass(frozen=True)
class Pick:
    """One response key of an object: the field it answers (a GraphQL field name of the type
    at that place, or `__typename`) and how the schema types it."""
    key: str
    field: str
    non_null: bool = False
    scalar: str = ""                            # Float, Int, String, ID, Boolean, Date, JSON
    picks: tuple["Pick", ...] = ()              # an object's own selection
    names: tuple[tuple[str, str], ...] = ()     # an enum: (stored value, name)
    typename: str = ""                          # __typename: the object type's name


# The fields this module writes, by GraphQL type: a column (r: the page's row; cat: a row of
# open.categories; a: a row of open.areas) and the kind of its value (uuid: text that needs no
# escape; text: escaped), or an object or list written below.
REPORT_COLUMNS = {"id": ("r.id", "uuid"), "status": ("r.status", "text"),
                  "occurredOn": ("r.occurred_on", "date"),
                  "datePrecision": ("r.date_precision", "text")}
POINT_COLUMNS = {"longitude": ("r.longitude", "float"), "latitude": ("r.latitude", "float")}
CATEGORY_COLUMNS = {"id": ("cat.id", "text"), "namePl": ("cat.name_pl", "text"),
                    "nameEn": ("cat.name_en", "text"), "colour": ("cat.colour", "text"),
                    "icon": ("cat.icon", "text"), "sensitive": ("cat.sensitive", "bool"),
                    "active": ("cat.active", "bool"),
                    "descriptionRequired": ("cat.description_required", "bool")}
GROUP_COLUMNS = {"id": ("cat.group_id", "text"), "namePl": ("cat.group_name_pl", "text"),
                 "nameEn": ("cat.group_name_en", "text")}
AREA_COLUMNS = {"code": ("a.code", "text"), "level": ("a.level", "text"), "name": ("a.name", "text"),
                "parentCode": ("a.parent_code", "text")}
FIELDS: dict[str, frozenset[str]] = {
    "ReportConnection": frozenset({"edges", "pageInfo", "totalCount"}),
    "PageInfo": frozenset({"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"}),
    "ReportEdge": frozenset({"cursor", "node"}),
    "Report": frozenset({*REPORT_COLUMNS, "location", "category", "areas"}),
    "Point": frozenset({*POINT_COLUMNS, "geojson"}),
    "Category": frozenset({*CATEGORY_COLUMNS, "group"}),
    "CategoryGroup": frozenset(GROUP_COLUMNS),
    "Area": frozenset(AREA_COLUMNS),
}
# A value for each field of a filter: the statement's conditions depend on which are set only.
EXAMPLE: dict[str, Any] = {"bbox": BBox(0, 0, 1, 1), "categories": [""], "statuses": [""],
                           "occurred_from": date.min, "occurred_to": date.min, "area_code": ""}

# JSON text as a list of pieces: str for text known when the statement is written, SQL for
# values (json_text.concat joins them, NULL if any value is NULL).
Pieces = list[sql.Composable | str]


def writes(type_name: str, field: str) -> bool:
    """Whether this module can write the field (or __typename) of the type."""
    return field == "__typename" or field in FIELDS.get(type_name, ())


def leaf(pick: Pick, column: str, kind: str) -> Pieces:
    """A scalar or enum value of a column as json.dumps writes what the ordinary completion
    makes of it; a null only where the schema allows one. (Strings are cheap to write now, but
    the categories' and areas' objects are still written once each: fewer values per page.)"""
    value = sql.SQL(column)
    written: Pieces
    if pick.names:
        written = [json_text.enum(value, pick.names)]
    elif pick.scalar == "Float" and kind == "float":
        written = [json_text.float8(value)]
    elif pick.scalar == "Int" and kind == "int":
        written = [json_text.int32(value)]
    elif pick.scalar == "Boolean" and kind == "bool":
        written = [json_text.boolean(value)]
    elif pick.scalar == "Date" and kind == "date":
        written = [json_text.day(value)]
    elif pick.scalar in ("ID", "String") and kind == "uuid":
        written = [json_text.plain(sql.SQL("{}::text").format(value))]
    elif pick.scalar in ("ID", "String") and kind == "text":
        written = [json_text.string(value)]
    else:
        raise ValueError(f"{pick.field}: a {pick.scalar} from a {kind} column is not written here")
    if pick.non_null:   # a NULL makes the document NULL: the ordinary path answers
        return written
    return [json_text.nullable(value, json_text.concat(written))]


class _Writer:
    """The SQL of one page's selection: the document's JSON text, and the CTEs and joins it
    reads (the categories and areas of the page written once each, not once per report)."""

    def __init__(self, descending: bool) -> None:
        self.order = "occurred_on_desc" if descending else "occurred_on_asc"
        self.ctes: dict[tuple[str, tuple[Pick, ...]], tuple[str, sql.Composable]] = {}
        self.joins: dict[str, sql.Composable] = {}

    def obj(self, picks: tuple[Pick, ...], type_name: str, field: Any) -> Pieces:
        """An object of the picks; `field(pick)` writes each non-typename one."""
        pieces: Pieces = ["{"]
        for i, pick in enumerate(picks):
            if not writes(type_name, pick.field):
                raise ValueError(f"{type_name}.{pick.field} is not written here")
            pieces.append(("," if i else "") + json_text.key(pick.key))
            if pick.field == "__typename":
                pieces.append(json_text.name(pick.typename))
            else:
                pieces += field(pick)
        return [*pieces, "}"]

    def cursor(self) -> sql.Composable:
        # gateway.graphql.reports.encode_cursor: urlsafe base64 of "order|day|id" (PostgreSQL's
        # base64 breaks lines every 76 characters: the line breaks go, + and / become - and _).
        # (the day as date.isoformat() writes it: json_text.GUARD requires DateStyle ISO)
        return sql.SQL("translate(encode(convert_to(concat({}, r.occurred_on::text, '|', r.id), "
                       "'UTF8'), 'base64'), E'+/\\n', '-_')").format(sql.Literal(self.order + "|"))

    def once(self, kind: str, picks: tuple[Pick, ...], select: sql.Composable) -> str:
        """The name of a CTE of the page's categories or areas, each with its JSON text `j`
        (written once per distinct row, not once per report)."""
        known = self.ctes.get((kind, picks))
        if known is None:
            name = f"{kind}{len(self.ctes)}"
            known = self.ctes[(kind, picks)] = (name, select)
        return known[0]

    def report(self, pick: Pick) -> Pieces:
        if pick.field in REPORT_COLUMNS:
            return leaf(pick, *REPORT_COLUMNS[pick.field])
        if pick.field == "location":
            return self.obj(pick.picks, "Point", self.point)
        if pick.field == "category":   # non-null: a report without its category is NULL
            text = json_text.concat(self.obj(pick.picks, "Category", self.category))
            name = self.once("c", pick.picks, sql.SQL(
                "SELECT cat.id, {} AS j FROM open.categories AS cat "
                "WHERE cat.id = ANY (ARRAY(SELECT DISTINCT category_id FROM edges))").format(text))
            self.joins[name] = sql.SQL("LEFT JOIN {0} ON {0}.id = r.category_id").format(
                sql.Identifier(name))
            return [sql.SQL("{}.j").format(sql.Identifier(name))]
        return self.areas(pick)

    def point(self, pick: Pick) -> Pieces:
        if pick.field == "geojson":
            return ['{"type":"Point","coordinates":[',
                    *leaf(Pick("", "", True, "Float"), *POINT_COLUMNS["longitude"]), ",",
                    *leaf(Pick("", "", True, "Float"), *POINT_COLUMNS["latitude"]), "]}"]
        return leaf(pick, *POINT_COLUMNS[pick.field])

    def category(self, pick: Pick) -> Pieces:
        if pick.field == "group":
            return self.obj(pick.picks, "CategoryGroup", lambda p: leaf(p, *GROUP_COLUMNS[p.field]))
        return leaf(pick, *CATEGORY_COLUMNS[pick.field])

    def areas(self, pick: Pick) -> Pieces:
        """The voivodeship, then the county, of the report; an area that open.areas does not
        have is left out (as the areas DataLoader leaves it out)."""
        text = json_text.concat(self.obj(pick.picks, "Area", lambda p: leaf(p, *AREA_COLUMNS[p.field])))
        name = self.once("a", pick.picks, sql.SQL(
            "SELECT a.code, {} AS j FROM open.areas AS a WHERE a.code = ANY (ARRAY("
            "SELECT voivodeship_code FROM edges UNION SELECT county_code FROM edges))").format(text))
        v, c = sql.Identifier(name + "v"), sql.Identifier(name + "c")
        self.joins[name + "v"] = sql.SQL(
            "LEFT JOIN {} AS {} ON {}.code = r.voivodeship_code AND r.voivodeship_code <> ''").format(
                sql.Identifier(name), v, v)
        self.joins[name + "c"] = sql.SQL(
            "LEFT JOIN {} AS {} ON {}.code = r.county_code AND r.county_code <> ''").format(
                sql.Identifier(name), c, c)
        return [sql.SQL("CASE WHEN {v}.code IS NULL AND {c}.code IS NULL THEN '[]' "
                        "WHEN {v}.code IS NULL THEN '[' || {c}.j || ']' "
                        "WHEN {c}.code IS NULL THEN '[' || {v}.j || ']' "
                        "ELSE '[' || {v}.j || ',' || {c}.j || ']' END").format(v=v, c=c)]

    def edge(self, pick: Pick) -> Pieces:
        if pick.field == "cursor":
            return [json_text.plain(self.cursor())]
        return self.obj(pick.picks, "Report", self.report)

    def page_info(self, pick: Pick, has_after: bool) -> Pieces:
        if pick.field == "hasNextPage":
            return [sql.SQL("CASE WHEN EXISTS (SELECT FROM page WHERE n > %(first)s) "
                            "THEN 'true' ELSE 'false' END")]
        if pick.field == "hasPreviousPage":
            return ["true" if has_after else "false"]
        direction = sql.SQL("DESC" if pick.field == "endCursor" else "ASC")
        cursor = sql.SQL("(SELECT {} FROM edges AS r ORDER BY n {} LIMIT 1)").format(
            json_text.plain(self.cursor()), direction)
        # a cursor is never NULL: no row, no cursor
        return [sql.SQL("coalesce({}, 'null')").format(cursor)]


@functools.lru_cache(maxsize=256)
def page_statement(picks: tuple[Pick, ...], filter_fields: frozenset[str], descending: bool,
                   has_after: bool, count_sql: str | None = None) -> str:
    """The statement of a page with this selection of ReportConnection's fields, for a filter
    with these fields set (filter_fields; the values are bound per request by page_params) and
    totalCount from `count_sql` (see `page`). It returns one text, `data`: the `reports` value
    as json.dumps writes it (store.json_text), NULL when the ordinary completion would answer
    otherwise (a null or a value the schema refuses). Raises ValueError for a selection or a
    filter not written here."""
    if "source" in filter_fields or not filter_fields <= EXAMPLE.keys():
        raise ValueError("the source is a private column")
    writer = _Writer(descending)
    shape = ReportFilter(**{name: EXAMPLE[name] for name in filter_fields}) if filter_fields else None
    conditions, _ = public_conditions(shape)
    where = sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true")
    keyset = sql.SQL("(r.occurred_on, r.id) {} (%(after_day)s, %(after_id)s)").format(
        sql.SQL("<" if descending else ">")) if has_after else sql.SQL("true")
    direction = sql.SQL("DESC" if descending else "ASC")
    parts: list[sql.Composable] = []   # the FROM list: the total, one aggregate of the edges a key
    # the count once (a FROM subquery would be pulled up, and its scalar subquery run for
    # every reference to it)
    total = sql.SQL(", total AS MATERIALIZED (SELECT ({}) AS total)").format(
        sql.SQL(count_sql or "NULL::bigint"))
    counted: list[sql.Composable] = []

    def connection(pick: Pick) -> Pieces:
        if pick.field == "totalCount":   # one count, however many keys ask for it
            if count_sql is None:
                raise ValueError("totalCount without its count statement")
            if not counted:
                counted.append(total)
                parts.append(sql.SQL("total"))
            return leaf(pick, "total.total", "int")
        if pick.field == "pageInfo":
            return writer.obj(pick.picks, "PageInfo", lambda p: writer.page_info(p, has_after))
        # edges: the page's rows in order, each edge written once (the fence keeps the
        # subquery's text from being written again for each aggregate), NULL if one is NULL
        writer.joins = {}
        edge = json_text.concat(writer.obj(pick.picks, "ReportEdge", writer.edge))
        name = sql.Identifier(f"e{len(parts)}")
        parts.append(sql.SQL("""(SELECT CASE WHEN count(*) = count(x.e)
            THEN '[' || coalesce(string_agg(x.e, ',' ORDER BY x.n), '') || ']' END AS j
     FROM (SELECT r.n, {edge} AS e FROM edges AS r {joins} OFFSET 0) AS x) AS {name}""").format(
            edge=edge, joins=sql.SQL(" ").join(writer.joins.values()), name=name))
        return [sql.SQL("{}.j").format(name)]

    document = json_text.concat(writer.obj(picks, "ReportConnection", connection))
    ctes = [*(sql.SQL(", {} AS MATERIALIZED ({})").format(sql.Identifier(name), select)
              for name, select in writer.ctes.values()), *counted]
    query = sql.SQL("""
WITH page AS MATERIALIZED (
    SELECT r.*, row_number() OVER (ORDER BY r.occurred_on {direction}, r.id {direction}) AS n
    FROM (SELECT {columns} FROM open.reports AS r
          WHERE {where} AND {keyset}
          ORDER BY r.occurred_on {direction}, r.id {direction}
          LIMIT %(limit)s) AS r
), edges AS (SELECT * FROM page WHERE n <= %(first)s){ctes}
SELECT CASE WHEN {guard} THEN {document} END AS data
FROM {parts}""").format(direction=direction, columns=PUBLIC_COLUMNS, where=where, keyset=keyset,
                         ctes=sql.SQL("").join(ctes), guard=json_text.GUARD, document=document,
                         parts=sql.SQL(", ").join(parts) if parts else sql.SQL("(SELECT) AS nothing"))
    return query.as_string()


def page(picks: tuple[Pick, ...], f: ReportFilter | None, descending: bool, first: int,
         after: tuple[date, uuid.UUID] | None) -> tuple[str, dict[str, Any]]:
    """The statement and parameters of a page of this selection for this filter, its totalCount
    (when selected) from the source store.report_totals picks, as store.reports' page counts.
    Raises ValueError as page_statement does."""
    params = page_params(f, first, after)
    count_sql = None
    if any(pick.field == "totalCount" for pick in picks):
        kept = report_totals.count_text(f)   # built once per shape of filter
        if kept is None:
            raise ValueError("no kept count answers this filter")
        count_sql = kept[0]
        params |= kept[1]
    return page_statement(picks, filter_fields(f), descending, after is not None, count_sql), params


def filter_fields(f: ReportFilter | None) -> frozenset[str]:
    """The fields a filter sets: what its statement depends on (page_statement)."""
    return frozenset() if f is None else frozenset(k for k, v in vars(f).items() if v is not None)


def page_params(f: ReportFilter | None, first: int, after: tuple[date, uuid.UUID] | None
                ) -> dict[str, Any]:
    _, params = public_conditions(f)
    if after is not None:
        params["after_day"], params["after_id"] = after
    return params | {"limit": first + 1, "first": first}


async def page_text(pool: AsyncConnectionPool, statement: str, params: dict[str, Any]
                    ) -> str | None:
    """The page's JSON text, or None when the ordinary path must answer (see the module's doc).
    One connection and one round trip: the statement runs alone (autocommit), so no BEGIN and
    COMMIT around it. Never prepared, like store.reports.public_page (generic plans)."""
    async with pool.connection() as conn:
        autocommit = conn.autocommit
        if not autocommit:
            await conn.set_autocommit(True)   # local: the connection is idle, nothing is sent
        try:
            cursor = await conn.execute(statement, params, prepare=False)
            row = await cursor.fetchone()
        finally:
            if not autocommit:
                await conn.set_autocommit(False)
    return row[0] if row is not None else None


__all__ = ["FIELDS", "Pick", "filter_fields", "page", "page_params", "page_statement", "page_text",
           "writes"]

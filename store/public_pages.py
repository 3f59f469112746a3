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

Besides the document, the statement says whether it is `complete`: every value the schema
declares non-null is there, every enum value has a name, every Float is finite and every Int
fits 32 bits. When it is not, the caller lets the ordinary path answer (and report the error it
finds): this module never writes a value the ordinary completion would refuse.

Statements are built once per (selection, filter's shape, order, first page or not, the count's
statement) and cached: the count's text varies with the filter's values (the source, the periods of
a date range), but over a handful of shapes.
"""

import functools
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from store import report_totals
from store.reports import PUBLIC_COLUMNS, BBox, ReportFilter, public_conditions

# Fields of a JSON object: its values, and the conditions of its completeness.
Pairs = list[sql.Composable]


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


# The fields this module writes, by GraphQL type: a column expression (r: the page's row, cat:
# its category in open.categories, a: an area in open.areas), or an object or list written below.
REPORT_COLUMNS = {"id": "r.id", "status": "r.status", "occurredOn": "r.occurred_on",
                  "datePrecision": "r.date_precision"}
POINT_COLUMNS = {"longitude": "r.longitude", "latitude": "r.latitude"}
CATEGORY_COLUMNS = {"id": "cat.id", "namePl": "cat.name_pl", "nameEn": "cat.name_en",
                    "colour": "cat.colour", "icon": "cat.icon", "sensitive": "cat.sensitive",
                    "active": "cat.active", "descriptionRequired": "cat.description_required"}
GROUP_COLUMNS = {"id": "cat.group_id", "namePl": "cat.group_name_pl",
                 "nameEn": "cat.group_name_en"}
AREA_COLUMNS = {"code": "{a}.code", "level": "{a}.level", "name": "{a}.name",
                "parentCode": "{a}.parent_code"}
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
# json_build_object takes at most 100 arguments: 50 keys.
MAX_KEYS = 50
INT_MAX = 2**31 - 1


def writes(type_name: str, field: str) -> bool:
    """Whether this module can write the field (or __typename) of the type."""
    return field == "__typename" or field in FIELDS.get(type_name, ())


class _Writer:
    """The SQL of one page's selection: JSON expressions and completeness conditions."""

    def __init__(self, descending: bool) -> None:
        self.order = "occurred_on_desc" if descending else "occurred_on_asc"
        self.joins: dict[str, sql.Composable] = {}

    def leaf(self, pick: Pick, column: sql.Composable, checks: list[sql.Composable]) -> sql.Composable:
        """A scalar or enum value, and the conditions under which it completes."""
        value: sql.Composable = column
        if pick.names:
            value = sql.SQL("CASE {} {} END").format(column, sql.SQL(" ").join(
                sql.SQL("WHEN {} THEN {}").format(sql.Literal(stored), sql.Literal(name))
                for stored, name in pick.names))
            checks.append(sql.SQL("({} IS NULL OR {} IS NOT NULL)").format(column, value))
        if pick.scalar == "Float":
            checks.append(sql.SQL("({0} IS NULL OR ({0} > '-Infinity'::float8 AND "
                                  "{0} < 'Infinity'::float8))").format(column))
        elif pick.scalar == "Int":
            checks.append(sql.SQL("({0} IS NULL OR {0} BETWEEN {1} AND {2})").format(
                column, sql.Literal(-INT_MAX - 1), sql.Literal(INT_MAX)))
        if pick.non_null:
            checks.append(sql.SQL("{} IS NOT NULL").format(column))
        return value

    def obj(self, picks: tuple[Pick, ...], type_name: str, checks: list[sql.Composable],
            field: Any) -> sql.Composable:
        """json_build_object of the picks; `field(pick, checks)` writes each non-typename one."""
        if len(picks) > MAX_KEYS:
            raise ValueError("too many keys for one json_build_object")
        pairs: Pairs = []
        for pick in picks:
            if not writes(type_name, pick.field):
                raise ValueError(f"{type_name}.{pick.field} is not written here")
            value = (sql.SQL("{}::text").format(sql.Literal(pick.typename))
                     if pick.field == "__typename" else field(pick, checks))
            pairs += [sql.SQL("{}::text").format(sql.Literal(pick.key)), value]
        return sql.SQL("json_build_object({})").format(sql.SQL(", ").join(pairs))

    def cursor(self) -> sql.Composable:
        # gateway.graphql.reports.encode_cursor: urlsafe base64 of "order|day|id" (PostgreSQL's
        # base64 breaks lines every 76 characters: the line breaks go, + and / become - and _).
        return sql.SQL("translate(encode(convert_to(concat({}, to_char(r.occurred_on, "
                       "'YYYY-MM-DD'), '|', r.id), 'UTF8'), 'base64'), E'+/\\n', '-_')").format(
                           sql.Literal(self.order + "|"))

    def report(self, pick: Pick, checks: list[sql.Composable]) -> sql.Composable:
        if pick.field in REPORT_COLUMNS:
            return self.leaf(pick, sql.SQL(REPORT_COLUMNS[pick.field]), checks)
        if pick.field == "location":
            return self.obj(pick.picks, "Point", checks, self.point)
        if pick.field == "category":
            self.joins["cat"] = sql.SQL("LEFT JOIN open.categories AS cat ON cat.id = r.category_id")
            checks.append(sql.SQL("cat.id IS NOT NULL"))   # the nodes' category is non-null
            return self.obj(pick.picks, "Category", checks, self.category)
        return self.areas(pick, checks)

    def point(self, pick: Pick, checks: list[sql.Composable]) -> sql.Composable:
        if pick.field == "geojson":
            for column in POINT_COLUMNS.values():
                self.leaf(Pick("", "", True, "Float"), sql.SQL(column), checks)
            return sql.SQL("json_build_object('type', 'Point'::text, 'coordinates', "
                           "json_build_array(r.longitude, r.latitude))")
        return self.leaf(pick, sql.SQL(POINT_COLUMNS[pick.field]), checks)

    def category(self, pick: Pick, checks: list[sql.Composable]) -> sql.Composable:
        if pick.field == "group":
            return self.obj(pick.picks, "CategoryGroup", checks,
                            lambda p, c: self.leaf(p, sql.SQL(GROUP_COLUMNS[p.field]), c))
        return self.leaf(pick, sql.SQL(CATEGORY_COLUMNS[pick.field]), checks)

    def areas(self, pick: Pick, checks: list[sql.Composable]) -> sql.Composable:
        """The voivodeship, then the county, of the report; an area that open.areas does not
        have is left out (as the areas DataLoader leaves it out)."""
        self.joins["av"] = sql.SQL("LEFT JOIN open.areas AS av ON av.code = r.voivodeship_code "
                                   "AND r.voivodeship_code <> ''")
        self.joins["ac"] = sql.SQL("LEFT JOIN open.areas AS ac ON ac.code = r.county_code "
                                   "AND r.county_code <> ''")
        written = {}
        for alias in ("av", "ac"):
            own: list[sql.Composable] = []
            written[alias] = self.obj(pick.picks, "Area", own, lambda p, c, a=alias: self.leaf(
                p, sql.SQL(AREA_COLUMNS[p.field].format(a=a)), c))
            if own:
                checks.append(sql.SQL("({} IS NULL OR ({}))").format(
                    sql.Identifier(alias, "code"), sql.SQL(" AND ").join(own)))
        return sql.SQL("CASE WHEN av.code IS NULL AND ac.code IS NULL THEN '[]'::json "
                       "WHEN av.code IS NULL THEN json_build_array({ac}) "
                       "WHEN ac.code IS NULL THEN json_build_array({av}) "
                       "ELSE json_build_array({av}, {ac}) END").format(**written)

    def edge(self, pick: Pick, checks: list[sql.Composable]) -> sql.Composable:
        if pick.field == "cursor":
            return self.cursor()
        return self.obj(pick.picks, "Report", checks, self.report)

    def page_info(self, pick: Pick, checks: list[sql.Composable]) -> sql.Composable:
        return {
            "hasNextPage": sql.SQL("EXISTS (SELECT FROM page WHERE n > %(first)s)"),
            "hasPreviousPage": sql.SQL("%(has_previous)s::boolean"),
            "startCursor": sql.SQL("(SELECT {} FROM edges AS r ORDER BY n LIMIT 1)").format(self.cursor()),
            "endCursor": sql.SQL("(SELECT {} FROM edges AS r ORDER BY n DESC LIMIT 1)").format(self.cursor()),
        }[pick.field]


@functools.lru_cache(maxsize=256)
def page_statement(picks: tuple[Pick, ...], filter_fields: frozenset[str], descending: bool,
                   has_after: bool, count_sql: str | None = None) -> str:
    """The statement of a page with this selection of ReportConnection's fields, for a filter
    with these fields set (filter_fields; the values are bound per request by page_params) and
    totalCount from `count_sql` (see `page`). Raises ValueError for a selection or a filter not
    written here."""
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
    ctes: list[sql.Composable] = []
    complete: list[sql.Composable] = []

    def connection(pick: Pick, checks: list[sql.Composable]) -> sql.Composable:
        if pick.field == "totalCount":   # one count, however many keys ask for it
            if count_sql is None:
                raise ValueError("totalCount without its count statement")
            if not ctes:
                ctes.append(total)
                parts.append(sql.SQL("total"))
            total_value = sql.SQL("total.total")
            writer.leaf(pick, total_value, checks)
            return total_value
        if pick.field == "pageInfo":
            return writer.obj(pick.picks, "PageInfo", checks, writer.page_info)
        # edges: a json_agg over the page's rows, with its own completeness
        writer.joins = {}
        own: list[sql.Composable] = []
        edge = writer.obj(pick.picks, "ReportEdge", own, writer.edge)
        name = sql.Identifier(f"e{len(parts)}")
        parts.append(sql.SQL("""(SELECT coalesce(json_agg({edge} ORDER BY r.n), '[]'::json) AS j,
            coalesce(bool_and({ok}), true) AS ok
     FROM edges AS r {joins}) AS {name}""").format(
            edge=edge, ok=sql.SQL(" AND ").join(own) if own else sql.SQL("true"),
            joins=sql.SQL(" ").join(writer.joins.values()), name=name))
        complete.append(sql.SQL("{}.ok").format(name))
        return sql.SQL("{}.j").format(name)

    document = writer.obj(picks, "ReportConnection", complete, connection)
    query = sql.SQL("""
WITH page AS MATERIALIZED (
    SELECT r.*, row_number() OVER (ORDER BY r.occurred_on {direction}, r.id {direction}) AS n
    FROM (SELECT {columns} FROM open.reports AS r
          WHERE {where} AND {keyset}
          ORDER BY r.occurred_on {direction}, r.id {direction}
          LIMIT %(limit)s) AS r
), edges AS (SELECT * FROM page WHERE n <= %(first)s){ctes}
SELECT {document} AS data, {complete} AS complete
FROM {parts}""").format(direction=direction, columns=PUBLIC_COLUMNS, where=where, keyset=keyset,
                         ctes=sql.SQL("").join(ctes), document=document,
                         complete=sql.SQL(" AND ").join(complete) if complete else sql.SQL("true"),
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
        kept = report_totals.count_statement(f)
        if kept is None:
            raise ValueError("no kept count answers this filter")
        count_sql = kept[0].as_string()
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
    return params | {"limit": first + 1, "first": first, "has_previous": after is not None}


async def page_json(pool: AsyncConnectionPool, statement: str, params: dict[str, Any]
                    ) -> Any | None:
    """The page's JSON (parsed), or None when it is not complete (see the module's doc). One
    connection and one round trip: the statement runs alone (autocommit), so no BEGIN and
    COMMIT around it. Never prepared, like store.reports.public_page (generic plans)."""
    async with pool.connection() as conn:
        autocommit = conn.autocommit
        if not autocommit:
            await conn.set_autocommit(True)   # local: the connection is idle, nothing is sent
        try:
            cursor = await conn.execute(statement, params, prepare=False)
            data, complete = await cursor.fetchone()   # type: ignore[misc]
        finally:
            if not autocommit:
                await conn.set_autocommit(False)
    return data if complete else None


__all__ = ["FIELDS", "Pick", "filter_fields", "page", "page_json", "page_params", "page_statement",
           "writes"]

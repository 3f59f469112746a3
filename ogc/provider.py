"""A pygeoapi feature provider on psycopg 3 and the app's public pool.

Why not pygeoapi's PostgreSQLProvider with SQLAlchemy's `postgresql+psycopg`: it reflects each
table through SQLAlchemy + GeoAlchemy2 (two more dependencies), opens its own engine and pool
beside the app's, counts every query, and reprojects every feature in Python with pyproj. This
provider reads the app's own pool (role threatmap_public), reprojects in PostGIS, writes GeoJSON
geometry in PostGIS, answers numberMatched on every page (exact within a time budget, else
PostgreSQL's estimate: see `_matched`), and compiles CQL2 to SQL with bound parameters
(ogc/cql.py). Every name that reaches SQL is checked against the relation's columns and quoted
as an identifier; every value is a parameter.
"""

import contextlib
import functools
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from http import HTTPStatus
from typing import Any

import psycopg
import pyproj
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from pygeoapi.crs import get_srid
from pygeoapi.provider.base import (
    BaseProvider,
    ProviderGenericError,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
    ProviderQueryError,
)

from ogc import geojson_items
from ogc.bridge import JSON_TYPES, PublicDatabase, lookup
from ogc.cql import FilterError, to_sql
from store import ogc_items, report_cells, report_squares, report_totals
from store.errors import DATABASE_UNAVAILABLE

log = logging.getLogger(__name__)

# The count of an items request's matches from the cells: (statement, parameters), made on demand.
type CellCount = Callable[[], tuple[sql.Composable, dict[str, Any]]]

STORAGE_SRID = 4326
GEOJSON_DIGITS = 7  # about 1 cm in degrees; metres get the same count of decimals
# numberMatched (README "OGC API Features"): counted exactly when the planner expects at most
# EXACT_BELOW matches, within COUNT_BUDGET_MS; otherwise, or past the budget, the planner's
# estimate. Counting exactly every time made items 5x slower on 1M reports (a city box holds
# ~90,000: bench/RESULTS.md), and the density view's 380,000 cells count in 30 s, past the public
# role's 5 s statement timeout.
EXACT_BELOW = 10_000
COUNT_BUDGET_MS = 300
MAX_FUNCTION_ARGS = 100  # PostgreSQL's FUNC_MAX_ARGS: json_build_object takes two per property
# geojson_page's statements, composed once per shape of request (bbox or not, property filters):
# composing them took a tenth of a small page's time. A few shapes are common; the rest are
# composed each time.
PAGE_STATEMENTS_KEPT = 32
# numberMatched from the counts kept per cell for a bbox up to this size (square degrees; a city
# box is 0.1-0.2): a wider one, or none, reads too many cells (the whole collection's count from
# the cells took 39 ms on 100,000 reports against 18 ms with the planner's estimate), so it gets
# `_matched`'s answer as before.
CELLS_MAX_BBOX_DEG2 = 1.0
# The page of a bbox up to this size (square degrees; a map's viewport at zoom 15 is 0.0005, a
# city box 0.1-0.2) and no other filter comes in the order of its points (longitude, latitude),
# then id, its kept texts read from open.report_features for the points it reaches
# (store/ogc_items.py KEPT_BY_POINT: the page costs the box's cells and about its own rows, not
# every report in the box: 5 x the reports, the same time). A wider box, or other filters, is in
# id order, its ids from open.reports and their texts by id: for a city box the point order's
# cells cost more than they save (13-41 ms against 1-6 ms a page of 100 on 1,000,000 and
# 5,000,000 reports; bench/RESULTS.md, "The OGC small viewport in point order").
KEPT_ALONE_MAX_BBOX_DEG2 = 0.01


class DatabaseUnavailable(ProviderGenericError):
    """The database is down, overloaded or took longer than the public statement timeout
    (store.errors.DATABASE_UNAVAILABLE), as pygeoapi reports it: 503, ServiceUnavailable."""
    ogc_exception_code = "ServiceUnavailable"
    http_status_code = HTTPStatus.SERVICE_UNAVAILABLE
    default_msg = "the database is unavailable or the query took too long; try again or narrow it"


class BadQuery(ProviderInvalidQueryError):
    """A request this collection cannot answer; its message is shown to the client (pygeoapi
    shows a provider error's `user_msg` only, else "query error")."""
    ogc_exception_code = "InvalidParameterValue"

    def __init__(self, msg: str) -> None:
        super().__init__(msg, user_msg=msg)


@functools.cache
def _lat_first(crs_uri: str) -> bool:
    """Whether the CRS's first axis is northing/latitude (EPSG:4326, EPSG:2180)."""
    first = pyproj.CRS.from_user_input(crs_uri).axis_info[0].direction.lower()
    return first in ("north", "south")


def _instant(text: str) -> date:
    try:
        return datetime.fromisoformat(text).date() if "T" in text else date.fromisoformat(text)
    except ValueError:
        raise BadQuery("datetime must be an RFC 3339 date or date-time, or an interval of them") from None


class OpenLayerProvider(BaseProvider):
    """Features of one relation in schema `open` (every column of which is public)."""

    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        self.table: str = provider_def["table"]
        self.geom: str | None = provider_def.get("geom_field")
        # numberMatched on every items response (issue 11.2): QGIS shows 0 features without it and
        # GDAL pages through a whole collection to count it. `count: false` turns it off.
        self.count = bool(provider_def.get("count", True))
        # numberMatched from open.report_cells where it answers the filter (`cell_counts: true`:
        # a relation whose rows are open.reports' with the same points, as open.ogc_reports)
        self.cell_counts = bool(provider_def.get("cell_counts", False))
        # numberMatched of the unfiltered collection from a one-row view of open (`total_view`,
        # column `features`) that counts it cheaply: the planner's estimate of a view over a
        # join can be far off (36,049 for the 262,776 density cells of 1,000,000 reports).
        self.total_view: str | None = provider_def.get("total_view")
        # numberMatched of ?property=value and datetime filters without a bbox counted exactly
        # (`exact_without_bbox: true`): for a relation where such a count costs at most what
        # counting it all does (open.ogc_report_density: an index-only scan of its published
        # index, whatever the filter), where the planner's estimate was far off.
        self.exact_without_bbox = bool(provider_def.get("exact_without_bbox", False))
        # The default GeoJSON page from the feature texts kept for open.reports (`kept_features:
        # true`: a relation whose rows are open.reports' with the features that text holds, as
        # open.ogc_reports; store/ogc_items.py KEPT) when its filters are on open.reports' columns.
        self.kept_features = bool(provider_def.get("kept_features", False))
        self.database: PublicDatabase = lookup(self.data)
        self.columns = self.database.columns[self.table]
        # A composite id (the view's concat_ws(':', key columns)): the key columns in order; the
        # pages are ordered by them (`_order`).
        self.id_columns: list[str] = list(provider_def.get("id_columns", []))
        self._page_statements: dict[tuple[bool, tuple[str, ...]], tuple[sql.SQL, sql.SQL, sql.SQL]] = {}
        for name in self.id_columns:
            if name not in self.columns:
                raise RuntimeError(f"id_columns of open.{self.table}: no column {name}")
        self.get_fields()

    # -- pygeoapi's interface ---------------------------------------------------------------

    def get_fields(self) -> dict[str, dict[str, str]]:
        if not self._fields:
            for name, pg_type in self.columns.items():
                if name == self.geom:
                    continue
                json_type, json_format = JSON_TYPES.get(pg_type, ("string", None))
                self._fields[name] = {"type": json_type} | ({"format": json_format} if json_format else {})
        return self._fields

    def query(self, offset: int = 0, limit: int = 10, resulttype: str = "results",
              bbox: list[float] | None = None, datetime_: str | None = None,
              properties: list[tuple[str, str]] | None = None, sortby: list[dict] | None = None,
              select_properties: list[str] | None = None, skip_geometry: bool = False,
              filterq: Any = None, crs_transform_spec: Any = None, **kwargs: Any) -> dict:
        where, params = self._where(bbox or [], datetime_, properties or [], filterq)
        response: dict[str, Any] = {"type": "FeatureCollection", "features": [], "numberReturned": 0}
        count_sql = sql.SQL("SELECT count(*) AS n FROM {} WHERE {}").format(self._relation(), where)
        if resulttype == "hits":
            response["numberMatched"] = self._fetch(count_sql, params)[0]["n"]
            return response
        names = self._selected(select_properties or [])
        params = params | {"limit": int(limit), "offset": int(offset)}
        by_point = not sortby and self._by_point(bbox or [], datetime_, properties or [], filterq)
        keys_first = self._keys_first(datetime_, properties or [], filterq, sortby or [], by_point)
        raw = geojson_items.collector()
        if raw is not None and 2 * len(names) <= MAX_FUNCTION_ARGS:
            return self._raw_page(response, raw, names, skip_geometry, crs_transform_spec, where,
                                  count_sql, sortby or [], params,
                                  self._cells(bbox or [], datetime_, properties or [], filterq), by_point,
                                  keys_first)
        statement = self._rows(self._columns(names, skip_geometry, crs_transform_spec), where,
                               sortby or [], by_point, keys_first)
        rows, matched = self._fetch_page(statement, count_sql, where, params,
                                         cells=self._cells(bbox or [], datetime_, properties or [], filterq))
        if matched is not None:
            response["numberMatched"] = matched
        response["features"] = [self._feature(row, names) for row in rows]
        response["numberReturned"] = len(rows)
        return response

    def _raw_page(self, response: dict[str, Any], raw: list[geojson_items.RawFeatures], names: list[str],
                  skip_geometry: bool, crs_transform_spec: Any, where: sql.Composable,
                  count_sql: sql.Composable, sortby: list[dict], params: dict[str, Any],
                  cells: "CellCount | None" = None, by_point: bool = False, keys_first: bool = False) -> dict:
        """The page as one JSON text written by PostgreSQL (ogc/geojson_items.py)."""
        statement = self._raw_statement(names, skip_geometry, crs_transform_spec, where, sortby, by_point,
                                        keys_first)
        rows, matched = self._fetch_page(statement, count_sql, where, params, raw=True, cells=cells)
        if matched is not None:
            response["numberMatched"] = matched
        count = int(rows[0]["n"]) if rows else 0
        if count:
            page = geojson_items.RawFeatures(rows[0]["features"], count)
            raw.append(page)
            response["features"] = page
        response["numberReturned"] = count
        return response

    def _raw_statement(self, names: list[str], skip_geometry: bool, crs_transform_spec: Any,
                       where: sql.Composable, sortby: list[dict], by_point: bool = False,
                       keys_first: bool = False) -> sql.Composable:
        """The same features `_feature` builds, in the same order, as JSON text: the page is
        selected first (plain columns, ORDER BY, LIMIT) and only its rows are turned into JSON;
        one row comes back: how many features, and the features separated by commas."""
        columns = [sql.Identifier(n) for n in names]
        geometry: sql.Composable = sql.NULL
        if self.geom and not skip_geometry:
            columns.append(sql.SQL("{} AS {}").format(self._output_geometry(crs_transform_spec),
                                                      sql.Identifier("__geometry")))
            geometry = sql.SQL("ST_AsGeoJSON(page.{}, {})::json").format(
                sql.Identifier("__geometry"), sql.Literal(GEOJSON_DIGITS))
        properties = sql.SQL(", ").join(sql.SQL("{}, page.{}").format(sql.Literal(n), sql.Identifier(n))
                                        for n in names if n != self.id_field)
        return sql.SQL(
            "SELECT count(*) AS n, coalesce(string_agg(feature, ',' ORDER BY i), '') AS features "
            "FROM (SELECT row_number() OVER () AS i, json_build_object('type', 'Feature', 'id', page.{id}, "
            "'geometry', {geometry}, 'properties', json_build_object({properties}))::text AS feature "
            "FROM ({rows}) AS page) AS features").format(
            id=sql.Identifier(self.id_field), geometry=geometry, properties=properties,
            rows=self._rows(sql.SQL(", ").join(columns), where, sortby, by_point, keys_first))

    def _rows(self, columns: sql.Composable, where: sql.Composable, sortby: list[dict], by_point: bool,
              keys_first: bool) -> sql.Composable:
        """The page's rows of the relation: `columns` WHERE `where`, in `_order`'s order, from
        `offset`, at most `limit`. With `keys_first` (`_keys_first`) the ids come first from
        open.reports (store/ogc_items.py `kept_ids`: for a city box an index-only scan in id
        order) and only the page's rows are read from the relation, where a walk of its rows in
        id order with the box as a filter read a heap block for each row it passed (Kraków's
        page of 1,000 at 5,000,000 reports: 189 ms, 19,859 blocks read)."""
        if keys_first:
            return sql.SQL("SELECT {columns} FROM {relation} WHERE {id} IN ({ids}) ORDER BY {id}").format(
                columns=columns, relation=self._relation(), id=sql.Identifier(self.id_field),
                ids=ogc_items.kept_ids(where))
        return sql.SQL("SELECT {columns} FROM {relation} WHERE {where} ORDER BY {order} "
                       "LIMIT {limit} OFFSET {offset}").format(
            columns=columns, relation=self._relation(), where=where, order=self._order(sortby, by_point),
            limit=sql.Placeholder("limit"), offset=sql.Placeholder("offset"))

    def _keys_first(self, datetime_: str | None, properties: list[tuple[str, str]], filterq: Any,
                    sortby: list[dict], by_point: bool) -> bool:
        """Whether a page of pygeoapi's path takes its ids from open.reports first (`_rows`): a
        relation of open.reports' rows (`kept_features`) in id order, filtered on open.reports'
        own columns only (a bbox, ogc_items.KEPT_FILTERS)."""
        return (self.kept_features and not sortby and not by_point and filterq is None
                and datetime_ in (None, "../..")
                and all(name in ogc_items.KEPT_FILTERS for name, _ in properties))

    async def geojson_page(self, offset: int, limit: int, bbox: list[float],
                           properties: list[tuple[str, str]]) -> tuple[int, bytes, int | None] | None:
        """For ogc.fast_items, on the app's event loop: the page `query` answers for these
        parameters (every property, geometry in storage CRS, ordered by id) as (features
        returned, their JSON as UTF-8 bytes, escaped as pygeoapi's to_json escapes: see
        store/ogc_items.py, numberMatched or None), from the same statements; None when
        PostgreSQL cannot write it (too many properties for json_build_object). Raises BadQuery,
        and psycopg's errors as they come."""
        alone = self._by_point(bbox, None, properties, None)
        key = (bool(bbox), alone, tuple(name for name, _ in properties))
        statements = self._page_statements.get(key)
        if statements is None:
            names = self._selected([])
            if 2 * len(names) > MAX_FUNCTION_ARGS:
                return None
            where, _ = self._where(bbox, None, properties, None)
            count_sql = sql.SQL("SELECT count(*) AS n FROM {} WHERE {}").format(self._relation(), where)
            if self.kept_features and all(name in ogc_items.KEPT_FILTERS for name, _ in properties):
                features = ogc_items.kept_statement(None if alone else where)
            else:
                features = self._raw_statement(names, False, None, where, [], alone)
            statements = tuple(sql.SQL(composed.as_string()) for composed in (
                ogc_items.features_statement(features), count_sql, where))
            if len(self._page_statements) < PAGE_STATEMENTS_KEPT:
                self._page_statements[key] = statements
        statement, count_sql, where = statements
        params = self._where_params(bbox, properties) | {"limit": int(limit), "offset": int(offset)}
        async with self._connection() as conn:
            async with conn.cursor(binary=True) as cur:   # bytea as bytes, no text decoded
                # A small viewport's statement (KEPT_BY_POINT) is prepared: its plan does not
                # depend on the box (the strip it reads is a value of the run), and parsing and
                # planning it took as long as running it (0.6 against 1.3 ms a page at 1,000,000
                # reports, bench/RESULTS.md "The OGC small viewport in point order"). The others
                # are planned for their box (see _execute).
                await cur.execute(statement, params, prepare=alone)
                returned, features = await cur.fetchone()
            if not self.count:
                return returned, features, None
            if returned < limit and (returned or offset == 0):
                return returned, features, offset + returned  # the last page: the count is known, free
            async with conn.cursor(row_factory=dict_row) as cur:
                if (cells := self._cells(bbox, None, properties, None)) is not None:
                    cells_sql, cells_params = cells()
                    await cur.execute(cells_sql, cells_params, prepare=False)
                    return returned, features, int((await cur.fetchone())["total"])
                return returned, features, await self._matched(cur, count_sql, where, params)

    def get(self, identifier: str, crs_transform_spec: Any = None, **kwargs: Any) -> dict:
        try:
            where, params = self._identity(identifier)
        except ValueError:
            raise ProviderItemNotFoundError(f"no such item: {identifier}") from None
        names = list(self.fields)
        statement = sql.SQL("SELECT {} FROM {} WHERE {}").format(
            self._columns(names, False, crs_transform_spec), self._relation(), where)
        rows = self._fetch(statement, params)
        if not rows:
            raise ProviderItemNotFoundError(f"no such item: {identifier}")
        return self._feature(rows[0], names)

    def _identity(self, identifier: str) -> tuple[sql.Composable, dict[str, Any]]:
        """The condition that finds one item; ValueError when `identifier` cannot be an id.

        A composite id is computed by the view for every row, so `id = %s` alone would compute
        it for the whole relation (millions of density cells). So it is split into its key
        columns, whose index finds the row; the id itself is compared as well, so that only
        the exact spelling matches (no `05` for `5`).
        """
        if self.columns.get(self.id_field) == "uuid":
            identifier = str(uuid.UUID(identifier))
        clauses = [sql.SQL("{} = %(id)s").format(sql.Identifier(self.id_field))]
        params: dict[str, Any] = {"id": identifier}
        if self.id_columns:
            parts = identifier.split(":")
            if len(parts) != len(self.id_columns):
                raise ValueError("not a composite id of this collection")
            for i, (name, part) in enumerate(zip(self.id_columns, parts, strict=True)):
                params[f"key_{i}"] = _key_value(self.columns[name], part)
                clauses.append(sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder(f"key_{i}")))
        return sql.SQL(" AND ").join(clauses), params

    # -- SQL --------------------------------------------------------------------------------

    def _relation(self) -> sql.Composable:
        return sql.Identifier("open", self.table)

    def _known(self, name: str, what: str) -> sql.Identifier:
        if name not in self.fields:
            raise BadQuery(f"unknown {what}: {name}")
        return sql.Identifier(name)

    def _selected(self, select_properties: list[str]) -> list[str]:
        for name in select_properties:
            self._known(name, "property")
        wanted = list(dict.fromkeys(select_properties)) or list(self.fields)
        return [self.id_field, *(n for n in wanted if n != self.id_field)]

    def _columns(self, names: list[str], skip_geometry: bool, crs_transform_spec: Any) -> sql.Composable:
        columns = [sql.Identifier(n) for n in names]
        if self.geom and not skip_geometry:
            columns.append(sql.SQL("ST_AsGeoJSON({}, {})::json AS {}").format(
                self._output_geometry(crs_transform_spec), sql.Literal(GEOJSON_DIGITS),
                sql.Identifier("__geometry")))
        return sql.SQL(", ").join(columns)

    def _output_geometry(self, crs_transform_spec: Any) -> sql.Composable:
        geometry: sql.Composable = sql.Identifier(self.geom)
        if crs_transform_spec is None:
            return geometry
        srid = get_srid(crs_transform_spec.target_crs_uri)
        if srid is None:
            raise BadQuery("unsupported crs")
        if srid != STORAGE_SRID:
            geometry = sql.SQL("ST_Transform({}, {})").format(geometry, sql.Literal(srid))
        if not crs_transform_spec.always_xy and _lat_first(crs_transform_spec.target_crs_uri):
            geometry = sql.SQL("ST_FlipCoordinates({})").format(geometry)
        return geometry

    def _by_point(self, bbox: list[float], datetime_: str | None, properties: list[tuple[str, str]],
                  filterq: Any) -> bool:
        """Whether a page with these filters (and no sortby) is in the order of its points: a
        bbox up to KEPT_ALONE_MAX_BBOX_DEG2 alone, of a collection with kept texts and cells."""
        # (a bbox of 4 numbers; minx > maxx or miny > maxy is refused by _where_params)
        return (self.kept_features and self.cell_counts and bool(self.geom) and len(bbox) == 4
                and not properties and datetime_ in (None, "../..") and filterq is None
                and bbox[0] <= bbox[2] and bbox[1] <= bbox[3]
                and (bbox[2] - bbox[0]) * (bbox[3] - bbox[1]) <= KEPT_ALONE_MAX_BBOX_DEG2)

    def _order(self, sortby: list[dict], by_point: bool = False) -> sql.Composable:
        keys = [sql.SQL("{} {}").format(self._known(s["property"], "sortby property"),
                                        sql.SQL("DESC" if s.get("order") == "-" else "ASC"))
                for s in sortby]
        if by_point:   # a small bbox's page (`_by_point`): store/ogc_items.py KEPT_BY_POINT's order
            keys.extend(sql.SQL("{}({})").format(sql.SQL(function), sql.Identifier(self.geom))
                        for function in ("ST_X", "ST_Y"))
        # A stable order for paging: the id, or a composite id's key columns, in the order of
        # the index that holds them, so that a page reads the index up to its end instead of
        # computing the id of every row and sorting them all (at 1,000,000 reports the density
        # view's unfiltered page took past the 5 s timeout: store/migrations/0023_...sql).
        keys.extend(sql.Identifier(name) for name in self.id_columns or [self.id_field])
        return sql.SQL(", ").join(keys)

    def _where(self, bbox: list[float], datetime_: str | None, properties: list[tuple[str, str]],
               filterq: Any) -> tuple[sql.Composable, dict[str, Any]]:
        clauses: list[sql.Composable] = [sql.SQL("true")]
        params: dict[str, Any] = {}
        if bbox:
            clauses.append(sql.SQL("ST_Intersects({}, ST_MakeEnvelope(%(bx0)s, %(by0)s, %(bx1)s, %(by1)s, "
                                   "{}))").format(sql.Identifier(self.geom), sql.Literal(STORAGE_SRID)))
        if datetime_ not in (None, "../.."):
            clauses.append(self._time_clause(datetime_, params))
        for i, (name, _) in enumerate(properties):
            clauses.append(sql.SQL("{} = {}").format(self._known(name, "property"),
                                                     sql.Placeholder(f"prop_{i}")))
        params |= self._where_params(bbox, properties)
        if filterq is not None:
            try:
                clause, filter_params = to_sql(filterq, set(self.fields), self.geom, STORAGE_SRID)
            except FilterError as error:
                raise BadQuery(str(error)) from None
            clauses.append(clause)
            params |= filter_params
        return sql.SQL(" AND ").join(clauses), params

    def _where_params(self, bbox: list[float], properties: list[tuple[str, str]]) -> dict[str, Any]:
        """The values of `_where`'s bbox and property conditions (BadQuery for a bbox it refuses)."""
        params: dict[str, Any] = {}
        if bbox:
            if not self.geom:
                raise BadQuery("this collection has no geometry: bbox does not apply")
            minx, miny, maxx, maxy = (bbox[0], bbox[1], bbox[3], bbox[4]) if len(bbox) == 6 else bbox
            if minx > maxx:  # an antimeridian-crossing box: no data of ours is near it
                raise BadQuery(f"bbox: minx ({minx:g}) is greater than maxx ({maxx:g}); "
                               "the order is minx,miny,maxx,maxy")
            if miny > maxy:
                raise BadQuery(f"bbox: miny ({miny:g}) is greater than maxy ({maxy:g}); "
                               "the order is minx,miny,maxx,maxy")
            params |= {"bx0": minx, "by0": miny, "bx1": maxx, "by1": maxy}
        for i, (_, value) in enumerate(properties):
            params[f"prop_{i}"] = value
        return params

    @staticmethod
    def _days(datetime_: str) -> tuple[date | None, date | None]:
        """The first and last day `_time_clause` selects (None: open)."""
        if "/" not in datetime_:
            return _instant(datetime_), _instant(datetime_)
        start, end = (None if part in ("", "..") else _instant(part) for part in datetime_.split("/", 1))
        return start, end

    def _time_clause(self, datetime_: str, params: dict[str, Any]) -> sql.Composable:
        if not self.time_field:
            raise BadQuery("this collection has no time: datetime does not apply")
        column = sql.Identifier(self.time_field)
        start, end = self._days(datetime_)
        if "/" not in datetime_:
            params["t"] = start
            return sql.SQL("{} = %(t)s").format(column)
        parts = []
        if start is not None:
            params["t0"] = start
            parts.append(sql.SQL("{} >= %(t0)s").format(column))
        if end is not None:
            params["t1"] = end
            parts.append(sql.SQL("{} <= %(t1)s").format(column))
        return sql.SQL(" AND ").join(parts) if parts else sql.SQL("true")

    def _fetch(self, statement: sql.Composable, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self._guarded(self._execute(statement, params))

    def _fetch_page(self, statement: sql.Composable, count_sql: sql.Composable, where: sql.Composable,
                    params: dict[str, Any], raw: bool = False,
                    cells: "CellCount | None" = None) -> tuple[list[dict[str, Any]], int | None]:
        """`raw`: the statement answers one row (n, features) for the page (`_raw_page`)."""
        return self._guarded(self._page(statement, count_sql, where, params, raw, cells))

    def _guarded(self, work: Any) -> Any:
        try:
            return self.database.run(work)
        except DATABASE_UNAVAILABLE as error:
            log.warning("OGC query on %s failed: %s", self.table, error)
            raise DatabaseUnavailable() from None
        except psycopg.errors.DivisionByZero:
            raise BadQuery("division by zero in the filter") from None
        except psycopg.Error as error:
            if error.sqlstate and error.sqlstate[:2] in ("22", "42"):
                # data exception (a value of the wrong type for its property) or an operator or
                # function the property's type does not have: the request's fault
                log.info("OGC query on %s refused: %s", self.table, error)
                raise BadQuery("a value or operator of the filter does not fit the property's type: "
                               f"{_first_line(error.diag.message_primary or str(error))}") from None
            log.error("OGC query on %s failed: %s", self.table, error)
            raise ProviderQueryError("query failed") from None

    async def _execute(self, statement: sql.Composable, params: dict[str, Any]) -> list[dict[str, Any]]:
        # Not prepared: a prepared statement goes generic after five runs, planned without the
        # bbox's values, and a generic plan sorts every report in the box (0.6 s for Gdańsk on
        # 1M reports, where the plan for the actual box takes 0.25 s); see bench/RESULTS.md.
        async with self._connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(statement, params, prepare=False)
            return await cur.fetchall()

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        """A connection of the pool in autocommit: reads need no transaction around them, and one
        left open costs a ROLLBACK round trip when the connection goes back to the pool (a third
        of a small page's time, profiled). It goes back as it came, autocommit off."""
        async with self.database.pool.connection() as conn:
            await conn.set_autocommit(True)
            try:
                yield conn
            finally:
                try:
                    if conn.info.transaction_status != TransactionStatus.IDLE:
                        await conn.rollback()
                    await conn.set_autocommit(False)
                except psycopg.Error:
                    pass   # a broken connection: the pool discards it

    async def _page(self, statement: sql.Composable, count_sql: sql.Composable, where: sql.Composable,
                    params: dict[str, Any], raw: bool = False,
                    cells: "CellCount | None" = None) -> tuple[list[dict[str, Any]], int | None]:
        """The page's rows and numberMatched (None with `count: false`), on one connection:
        free after the last page, else from the cells when they answer the filter (`cells`,
        exact), else as `_matched` says."""
        async with self._connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(statement, params, prepare=False)
            rows = await cur.fetchall()
            if not self.count:
                return rows, None
            offset, limit = params["offset"], params["limit"]
            returned = int(rows[0]["n"]) if raw else len(rows)
            if returned < limit and (returned or offset == 0):
                return rows, offset + returned  # the last page: the count is known, free
            if cells is not None:
                cells_sql, cells_params = cells()
                await cur.execute(cells_sql, cells_params, prepare=False)
                return rows, int((await cur.fetchone())["total"])
            return rows, await self._matched(cur, count_sql, where, params)

    def _cells(self, bbox: list[float], datetime_: str | None, properties: list[tuple[str, str]],
               filterq: Any) -> "CellCount | None":
        """The count of the matches from the squares (store.report_squares: a bbox not small,
        filtered at most by category, status and datetime, at any size) or the cells
        (store.report_cells), made when needed, or None when neither answers these filters (CQL2,
        other properties, a datetime with a small bbox) or the cells would read too many cells
        for it (no bbox, or one wider than CELLS_MAX_BBOX_DEG2). With no filter at all: the
        collection's kept total (`total_view`); with no bbox: the totals kept per area
        (store.report_totals: category, status, day) or, for `exact_without_bbox`, count(*)
        itself."""
        dated = datetime_ not in (None, "../..")
        if filterq is not None:
            return None
        if self.exact_without_bbox and not bbox and (dated or properties):
            return functools.partial(self._exact_statement, datetime_, properties)
        if self.total_view and not bbox and not properties and not dated:
            return self._total_statement
        # the totals answer a range of days with the properties, but not the day property with it
        if self.cell_counts and not bbox and report_totals.ogc_answers(properties) \
                and not (dated and "occurred_on" in dict(properties)):
            days = self._days(datetime_) if dated else (None, None)
            return functools.partial(report_totals.ogc_count_statement, properties, days)
        if not self.cell_counts or len(bbox) != 4:
            return None
        # the squares count a range of days too (their months, and the days of the months its
        # ends cut: store/report_squares.py); the page compares whole days (_time_clause)
        if min(bbox[2] - bbox[0], bbox[3] - bbox[1]) >= report_totals.SQUARES_MIN_BBOX_DEG \
                and report_squares.ogc_answers(bbox, properties):
            days = self._days(datetime_) if dated else (None, None)
            return functools.partial(report_squares.ogc_count_statement, bbox, properties, days)
        if dated or (bbox[2] - bbox[0]) * (bbox[3] - bbox[1]) > CELLS_MAX_BBOX_DEG2 \
                or not report_cells.ogc_answers(properties):
            return None
        return functools.partial(report_cells.ogc_count_statement, bbox, properties)

    def _total_statement(self) -> tuple[sql.Composable, dict[str, Any]]:
        """`_cells`' count without a filter: the one row of open.{total_view}."""
        return sql.SQL("SELECT features AS total FROM {}").format(
            sql.Identifier("open", str(self.total_view))), {}

    def _exact_statement(self, datetime_: str | None, properties: list[tuple[str, str]]
                         ) -> tuple[sql.Composable, dict[str, Any]]:
        """`_cells`' count for `exact_without_bbox`: count(*) with the page's own conditions."""
        where, params = self._where([], datetime_, properties, None)
        return sql.SQL("SELECT count(*) AS total FROM {} WHERE {}").format(self._relation(), where), params

    async def _matched(self, cur: psycopg.AsyncCursor, count_sql: sql.Composable, where: sql.Composable,
                       params: dict[str, Any]) -> int:
        """numberMatched: the planner's row estimate (EXPLAIN, which the public role may run on
        what it may read; pg_class.reltuples would only do for an unfiltered relation), as
        pg_featureserv and tipg's estimates; the exact count(*) instead when the estimate is at
        most EXACT_BELOW and the count finishes within COUNT_BUDGET_MS. JIT off for the count:
        its compile time (about a second on 1M reports) dwarfs the count itself."""
        await cur.execute(self._estimate_sql(where), params, prepare=False)
        estimate = plan_rows(await cur.fetchone())
        at_least = params["offset"] + params["limit"] + 1  # a full page: more may follow
        if estimate > EXACT_BELOW:
            return max(estimate, at_least)
        try:
            async with cur.connection.transaction():
                await cur.execute("SELECT set_config('statement_timeout', %s, true), "
                                  "set_config('jit', 'off', true)", [str(COUNT_BUDGET_MS)])
                await cur.execute(count_sql, params, prepare=False)
                row = await cur.fetchone()
                return int(row["n"])
        except psycopg.errors.QueryCanceled:
            log.info("OGC count on %s past %d ms: the estimate instead", self.table, COUNT_BUDGET_MS)
        return max(estimate, at_least)

    def _estimate_sql(self, where: sql.Composable) -> sql.Composable:
        return sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {} WHERE {}").format(self._relation(), where)

    def _feature(self, row: dict[str, Any], names: list[str]) -> dict[str, Any]:
        identifier = row[self.id_field]
        return {
            "type": "Feature",
            "id": str(identifier) if isinstance(identifier, uuid.UUID) else identifier,
            "geometry": row.get("__geometry"),
            "properties": {n: _json_value(row[n]) for n in names if n != self.id_field},
        }


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text.strip() else "no detail"


def plan_rows(row: dict[str, Any]) -> int:
    """The planner's row estimate from a row of EXPLAIN (FORMAT JSON)."""
    return int(next(iter(row.values()))[0]["Plan"]["Plan Rows"])


INT_RANGES = {"smallint": 2**15, "integer": 2**31, "bigint": 2**63}


def _key_value(pg_type: str, text: str) -> Any:
    """One part of a composite id as its column's type; ValueError if it cannot be one."""
    if pg_type in INT_RANGES:
        value = int(text)
        if not -INT_RANGES[pg_type] <= value < INT_RANGES[pg_type]:
            raise ValueError("out of range")
        return value
    if pg_type == "date":
        return date.fromisoformat(text)
    return text


def _json_value(value: Any) -> Any:
    if isinstance(value, date | uuid.UUID):
        return str(value)
    return value

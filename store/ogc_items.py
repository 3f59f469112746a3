"""A page of OGC API Features items as the bytes of its GeoJSON features, written by PostgreSQL
(ogc/fast_items.py, issue 16.3).

The provider's statement (`ogc.provider.OpenLayerProvider._raw_statement`) writes the page's
features as one JSON text; here it comes back as UTF-8 bytes, with `<` and `>` written `&lt;`
and `&gt;` as pygeoapi's `to_json` writes them everywhere in a document, so that the door sends
them as they come: no text decoded and encoded again (a 1000-feature page is 600 kB).

Why not the whole document in this statement, numberMatched and links included: numberMatched
from the counts kept per cell (store.report_cells) as a subquery here is planned on every
request, though a small viewport's page (its last) never runs it: 0.15-0.4 ms more planning a
request, against a page that costs the database about 1 ms (bench/RESULTS.md). So the count is
its own statement, sent only after a full page, and the door writes the few bytes around the
features (ogc.fast_items).

KEPT: the same features of `reports` read from the text kept for each row of open.reports in
open.report_features (migration 0026, store/sql/31_report_features.sql: the very text the
provider's statement writes for that row), for a page whose conditions are all on open.reports'
own columns (a bbox, KEPT_FILTERS): a string_agg of kept texts instead of 13 values turned into
JSON per feature and open.ogc_reports' join with the categories. A page of a small bbox alone
(what a map client asks) reads open.report_features alone, point by point (KEPT_BY_POINT); one
with other filters or a wide box takes its ids from open.reports and their texts by id
(ogc.provider's KEPT_ALONE_MAX_BBOX_DEG2 says why)."""

from psycopg import sql

from store import report_cells

FEATURES = """
SELECT f.n, convert_to(replace(replace(f.features, '<', '&lt;'), '>', '&gt;'), 'UTF8') AS features
FROM ({features}) AS f"""


def features_statement(features: sql.Composable) -> sql.Composed:
    """The statement (one row: n, features as bytea) around `features`, a statement of one row
    (`n` features, their JSON text `features`, comma-separated)."""
    return sql.SQL(FEATURES.strip()).format(features=features)


# The property filters of open.ogc_reports that are columns of open.reports with the same values
# (the view's other columns are the category's names and group, from core.categories).
KEPT_FILTERS = frozenset({"category_id", "status", "occurred_on", "date_precision", "cell_m",
                          "voivodeship_code", "county_code", "police_unit_id"})

# conditions on open.reports' columns: the page's ids from there, their texts by id. A city box
# alone walks open_reports_id_geom (migration 0030: the ids with their points) in id order and
# tests the box in the index; the heap, kept in point order, is not read for it.
KEPT_IDS = "SELECT id FROM open.reports WHERE {where} ORDER BY id LIMIT %(limit)s OFFSET %(offset)s"
KEPT_JOINED = """
SELECT count(*) AS n, coalesce(string_agg(f.feature, ',' ORDER BY page.id), '') AS features
FROM ({ids}) AS page
JOIN open.report_features AS f ON f.id = page.id"""
# A small bbox alone (a map's viewport): the page in the order of its points (longitude, then
# latitude), then id. Every public point is a cell centre, so the box's points and how many
# reports each holds are its rows of open.report_cells (kept exactly, in the same transaction as
# open.reports and the texts: store/sql/27_cell_counts.sql). From them, `reached`: the points the
# page reaches (`before`: the reports of the points ahead of one), their envelope, the first and
# last of them, and how many reports come before the first. The texts are then read from that
# envelope alone (a strip of the box: the points are in longitude order), the first and last
# point bounding it exactly, and numbered from `skipped`. So a page costs the box's cells and
# about its own rows, not every report in the box: in id order a page read and sorted all of
# them (450 in central Warsaw at 1,000,000 reports, 2,224 at 5,000,000; bench/RESULTS.md, "The
# OGC small viewport in point order"). The box's condition is store/report_cells.py's, with the
# provider's parameter names.
KEPT_BY_POINT = """
SELECT count(*) AS n, coalesce(string_agg(page.feature, ',' ORDER BY page.position), '') AS features
FROM (SELECT r.feature, reached.skipped + row_number() OVER (ORDER BY r.x, r.y, r.id) AS position
      FROM (SELECT ST_MakeEnvelope(min(x), min(y), max(x), max(y), 4326) AS box,
                   min(y) AS south, max(y) AS north, min(before) AS skipped,
                   (array_agg(x ORDER BY before))[1] AS first_x, (array_agg(y ORDER BY before))[1] AS first_y,
                   (array_agg(x ORDER BY before DESC))[1] AS last_x,
                   (array_agg(y ORDER BY before DESC))[1] AS last_y
            FROM (SELECT x, y, n, (sum(n) OVER (ORDER BY x, y) - n)::bigint AS before
                  FROM (SELECT ST_X(c.geom) AS x, ST_Y(c.geom) AS y, sum(c.n)::bigint AS n
                        FROM open.report_cells AS c
                        WHERE {cells_in_box}
                        GROUP BY c.geom) AS cells) AS points
            WHERE before < %(offset)s + %(limit)s AND before + n > %(offset)s) AS reached
      CROSS JOIN LATERAL (SELECT ST_X(f.geom) AS x, ST_Y(f.geom) AS y, f.id, f.feature
                          FROM open.report_features AS f WHERE f.geom && reached.box) AS r
      WHERE (r.x, r.y) >= (reached.first_x, reached.first_y)
        AND (r.x, r.y) <= (reached.last_x, reached.last_y)
        AND r.y BETWEEN reached.south AND reached.north) AS page
WHERE page.position > %(offset)s AND page.position <= %(offset)s + %(limit)s"""


def kept_statement(where: sql.Composable | None) -> sql.Composed:
    """The page of open.ogc_reports as its kept feature texts: one row, n and the features
    comma-separated. With `where` (any of KEPT_FILTERS, a bbox too), in id order, the ids from
    open.reports; without, the page of a bbox alone (parameters bx0, by0, bx1, by1) in the order
    of its points (KEPT_BY_POINT)."""
    if where is None:
        return sql.SQL(KEPT_BY_POINT.strip()).format(
            cells_in_box=report_cells.cells_in_bbox("bx0", "by0", "bx1", "by1"))
    return sql.SQL(KEPT_JOINED.strip()).format(ids=kept_ids(where))


def kept_ids(where: sql.Composable) -> sql.Composed:
    """The page's ids of open.reports in id order (`where` on its columns: a bbox, KEPT_FILTERS;
    parameters limit and offset): for a city box an index-only scan of open_reports_id_geom.
    Also the keys of pygeoapi's own page of such a filter (ogc.provider `_rows`)."""
    return sql.SQL(KEPT_IDS).format(where=where)

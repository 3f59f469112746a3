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
(what a map client asks) reads open.report_features alone, by its own point; one with other
filters or a wide box takes its ids from open.reports and their texts by id (ogc.provider's
KEPT_ALONE_MAX_BBOX_DEG2 says why)."""

from psycopg import sql

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

# conditions on open.reports' columns: the page's ids from there, their texts by id
KEPT_JOINED = """
SELECT count(*) AS n, coalesce(string_agg(f.feature, ',' ORDER BY page.id), '') AS features
FROM (SELECT id FROM open.reports WHERE {where} ORDER BY id
      LIMIT %(limit)s OFFSET %(offset)s) AS page
JOIN open.report_features AS f ON f.id = page.id"""
# a bbox (a condition on `geom`) alone: open.report_features has the same point
KEPT_ALONE = """
SELECT count(*) AS n, coalesce(string_agg(page.feature, ',' ORDER BY page.id), '') AS features
FROM (SELECT id, feature FROM open.report_features WHERE {where} ORDER BY id
      LIMIT %(limit)s OFFSET %(offset)s) AS page"""


def kept_statement(where: sql.Composable, on_reports: bool) -> sql.Composed:
    """The page of open.ogc_reports under `where`, in id order, as its kept feature texts: one
    row, n and the features comma-separated. `on_reports`: the ids from open.reports (`where`
    may hold any of KEPT_FILTERS), else from open.report_features (`where` is a bbox alone)."""
    return sql.SQL((KEPT_JOINED if on_reports else KEPT_ALONE).strip()).format(where=where)

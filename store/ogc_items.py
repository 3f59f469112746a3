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
"""

from psycopg import sql

FEATURES = """
SELECT f.n, convert_to(replace(replace(f.features, '<', '&lt;'), '>', '&gt;'), 'UTF8') AS features
FROM ({features}) AS f"""


def features_statement(features: sql.Composable) -> sql.Composed:
    """The statement (one row: n, features as bytea) around `features`, a statement of one row
    (`n` features, their JSON text `features`, comma-separated)."""
    return sql.SQL(FEATURES.strip()).format(features=features)

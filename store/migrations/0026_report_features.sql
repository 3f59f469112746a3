-- Each public report's GeoJSON feature, kept as text (issue 16, point 3): what the OGC items fast
-- path (ogc/fast_items.py) writes for a report of open.ogc_reports in its default form (every
-- property, CRS84, 7 decimals), so that a small viewport's page is a string_agg of kept texts
-- instead of 13 values turned into JSON per feature per request (bench/RESULTS.md, ogcsmall16's
-- fourth section: 0.55-0.70 ms of the backend's CPU a page against 1.2-1.5).
--
-- In a table of its own, not a column of open.reports: ~520 bytes a report inline made
-- open.reports' heap 4 x as big (136 -> 546 MB at 1,000,000 reports), and every reader that
-- scans or walks it (the exports, the counts, the rebuilds, `threatmap db reorder`'s lock) reads
-- that much more, while only the OGC page needs the texts (bench/RESULTS.md, "The kept texts in
-- a table of their own", which also measures what the OGC page pays for it). `geom` is the
-- report's public point: a page with a bbox alone finds its features here (through this table's
-- GiST index), one with other filters by id from open.reports' matches; and the spatial order of
-- store/reorder.py follows it.
--
-- Kept by statement triggers on open.reports (store/sql/31_report_features.sql), so every writer
-- of the public layer (publication, re-projection, the rebuild, the bulk loader) writes it.
--
-- Privacy: the text holds the columns of open.ogc_reports only, every one of them public.
SET LOCAL ROLE threatmap_app;

CREATE TABLE open.report_features (
    id      uuid PRIMARY KEY,
    geom    geometry(Point, 4326) NOT NULL,
    feature text NOT NULL
) WITH (fillfactor = 90);   -- a status change writes the text anew: room for a HOT update
-- Column by column, as open.reports (0002_baseline.sql): a table-wide SELECT would cover xmin,
-- the transaction that wrote each row, which dates a publication or status change.
REVOKE ALL ON open.report_features FROM threatmap_public;
GRANT SELECT (id, geom, feature) ON open.report_features TO threatmap_public;

-- The first fill (the text of core.report_feature in store/sql/31_report_features.sql, which
-- does not exist yet), in spatial order.
INSERT INTO open.report_features (id, geom, feature)
SELECT r.id, r.geom, json_build_object(
    'type', 'Feature', 'id', r.id, 'geometry', ST_AsGeoJSON(r.geom, 7)::json,
    'properties', json_build_object(
        'category_id', r.category_id, 'category_name_en', c.name_en, 'category_name_pl', c.name_pl,
        'category_group_id', c.group_id, 'status', r.status, 'occurred_on', r.occurred_on,
        'date_precision', r.date_precision, 'cell_m', r.cell_m, 'voivodeship_code', r.voivodeship_code,
        'county_code', r.county_code, 'police_unit_id', r.police_unit_id))::text
FROM open.reports AS r
JOIN core.categories AS c ON c.id = r.category_id
ORDER BY r.geom, r.id;
-- A page with a bbox alone reads this table alone (store/ogc_items.py KEPT_ALONE).
CREATE INDEX open_report_features_geom ON open.report_features USING gist (geom);

-- Each public report's GeoJSON feature, kept as text with its row (issue 16, point 3): what the
-- OGC items fast path (ogc/fast_items.py) writes for a report of open.ogc_reports in its default
-- form (every property, CRS84, 7 decimals), so that a small viewport's page is a string_agg of
-- kept texts instead of 13 values turned into JSON per feature per request (bench/RESULTS.md,
-- ogcsmall16's fourth section: 0.55-0.70 ms of the backend's CPU a page against 1.2-1.5).
-- Kept by a BEFORE INSERT OR UPDATE trigger on open.reports (store/sql/31_report_features.sql),
-- so every writer of the public layer (publication, re-projection, the rebuild, the bulk
-- loader) writes it with the row; a category's names moving re-writes its reports' texts.
--
-- Privacy: the text holds the columns of open.ogc_reports only, every one of them public.
SET LOCAL ROLE threatmap_app;

ALTER TABLE open.reports ADD COLUMN feature text;
-- The public role reads open.reports column by column (0002_baseline.sql).
GRANT SELECT (feature) ON open.reports TO threatmap_public;

-- The first fill (the same text as core.report_feature in store/sql/31_report_features.sql,
-- which does not exist yet), with open.reports' triggers off: no public value changes, so the
-- counts kept per cell, area and square, the data version and the subscriptions' notices
-- (whose statement triggers would each read the whole table twice) have nothing to follow.
-- (70,201 public reports under load: 40 s with them on, 23 s off; bench/RESULTS.md.)
ALTER TABLE open.reports DISABLE TRIGGER USER;
UPDATE open.reports AS r
SET feature = json_build_object(
    'type', 'Feature', 'id', r.id, 'geometry', ST_AsGeoJSON(r.geom, 7)::json,
    'properties', json_build_object(
        'category_id', r.category_id, 'category_name_en', c.name_en, 'category_name_pl', c.name_pl,
        'category_group_id', c.group_id, 'status', r.status, 'occurred_on', r.occurred_on,
        'date_precision', r.date_precision, 'cell_m', r.cell_m, 'voivodeship_code', r.voivodeship_code,
        'county_code', r.county_code, 'police_unit_id', r.police_unit_id))::text
FROM core.categories AS c
WHERE c.id = r.category_id;
ALTER TABLE open.reports ENABLE TRIGGER USER;

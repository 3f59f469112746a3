-- Each public report's GeoJSON feature text, kept in open.reports.feature (migration 0026,
-- issue 16 point 3): exactly what the OGC items fast path writes for the report's row of
-- open.ogc_reports in the default form (json_build_object of the view's columns in the view's
-- order, the point by ST_AsGeoJSON with 7 decimals: ogc.provider's _raw_statement), read by
-- store/ogc_items.py's KEPT statement. tests/test_report_features.py compares the two for every
-- row after each kind of write.
SET LOCAL ROLE threatmap_app;

CREATE OR REPLACE FUNCTION core.report_feature(r open.reports) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'type', 'Feature', 'id', r.id, 'geometry', ST_AsGeoJSON(r.geom, 7)::json,
        'properties', json_build_object(
            'category_id', r.category_id, 'category_name_en', c.name_en, 'category_name_pl', c.name_pl,
            'category_group_id', c.group_id, 'status', r.status, 'occurred_on', r.occurred_on,
            'date_precision', r.date_precision, 'cell_m', r.cell_m,
            'voivodeship_code', r.voivodeship_code, 'county_code', r.county_code,
            'police_unit_id', r.police_unit_id))::text
    FROM core.categories AS c
    WHERE c.id = r.category_id
$$;

-- Written with the row by whoever writes it (a row trigger: the bulk loader keeps open.reports'
-- triggers on, store/demo_bulk.py). An UPDATE writes it again whatever changed: cheaper than
-- comparing the columns it depends on, and an UPDATE of open.reports changes one of them.
CREATE OR REPLACE FUNCTION core.keep_report_feature() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.feature := core.report_feature(NEW);
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER open_reports_feature BEFORE INSERT OR UPDATE ON open.reports
    FOR EACH ROW EXECUTE FUNCTION core.keep_report_feature();

-- A category's names or group are in its reports' texts: written again when they change.
CREATE OR REPLACE FUNCTION core.category_features_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE open.reports SET feature = NULL WHERE category_id = NEW.id;   -- the row trigger writes it
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER categories_features_changed AFTER UPDATE OF name_en, name_pl, group_id
    ON core.categories
    FOR EACH ROW WHEN ((OLD.name_en, OLD.name_pl, OLD.group_id) IS DISTINCT FROM (NEW.name_en, NEW.name_pl, NEW.group_id))
    EXECUTE FUNCTION core.category_features_changed();

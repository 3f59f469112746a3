-- Each public report's GeoJSON feature text, kept in open.report_features (migration 0026,
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

-- Written after each statement that writes open.reports, from its transition table: set-based
-- (the bulk loader's and the rebuild's one INSERT of every public report is one INSERT here),
-- in the order the statement wrote the rows (theirs is the spatial order). An UPDATE writes the
-- text anew whatever changed: cheaper than comparing the columns it depends on, and an UPDATE of
-- open.reports changes one of them; an unchanged text is not written again.
CREATE OR REPLACE FUNCTION core.keep_report_features() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM open.report_features;
    ELSIF TG_OP = 'DELETE' THEN
        DELETE FROM open.report_features AS f USING gone AS g WHERE f.id = g.id;
    ELSE
        INSERT INTO open.report_features AS f (id, geom, feature)
        SELECT w.id, w.geom, core.report_feature(w) FROM written AS w
        ON CONFLICT (id) DO UPDATE SET geom = EXCLUDED.geom, feature = EXCLUDED.feature
        WHERE (f.geom, f.feature) IS DISTINCT FROM (EXCLUDED.geom, EXCLUDED.feature);
    END IF;
    RETURN NULL;
END
$$;
-- (a transition table belongs to a trigger of one event: a trigger an event)
CREATE OR REPLACE TRIGGER open_reports_features_inserted AFTER INSERT ON open.reports
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION core.keep_report_features();
CREATE OR REPLACE TRIGGER open_reports_features_updated AFTER UPDATE ON open.reports
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION core.keep_report_features();
CREATE OR REPLACE TRIGGER open_reports_features_deleted AFTER DELETE ON open.reports
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION core.keep_report_features();
CREATE OR REPLACE TRIGGER open_reports_features_truncated AFTER TRUNCATE ON open.reports
    FOR EACH STATEMENT EXECUTE FUNCTION core.keep_report_features();

-- A category's names or group are in its reports' texts: written again when they change.
CREATE OR REPLACE FUNCTION core.category_features_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE open.report_features AS f SET feature = core.report_feature(r)
    FROM open.reports AS r
    WHERE r.category_id = NEW.id AND f.id = r.id;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER categories_features_changed AFTER UPDATE OF name_en, name_pl, group_id
    ON core.categories
    FOR EACH ROW WHEN ((OLD.name_en, OLD.name_pl, OLD.group_id) IS DISTINCT FROM (NEW.name_en, NEW.name_pl, NEW.group_id))
    EXECUTE FUNCTION core.category_features_changed();

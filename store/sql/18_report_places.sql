-- The public place kept per report (core.report_places, migration 0022): the grid, the cell
-- centre and its county, as core.public_place (store/sql/20_projection.sql) computes them, kept
-- in step with what they depend on:
-- - a report written (statement trigger: a bulk insert is placed set-based, each distinct cell
--   centre's county looked up once), moved or recategorized (row trigger);
-- - a category marked sensitive or no longer (core.reproject_category, store/sql/30_publication.sql);
-- - the policy's grid changed: core.rebuild_public_layer (store/sql/30_publication.sql);
-- - the county polygons are only ever added before reports (store/areas.py).
-- The staff work list (store/staff.py) reads it for reports not yet public instead of
-- computing core.public_report per row. Privacy: core only (see the migration).
SET LOCAL ROLE threatmap_app;

-- Places (or re-places) the given reports; returns how many rows it wrote.
CREATE OR REPLACE FUNCTION core.refresh_report_places(ids uuid[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    placed bigint;
BEGIN
    INSERT INTO core.report_places AS kept (report_id, cell_m, geom, county_code, voivodeship_code)
    WITH cells AS MATERIALIZED (
        SELECT r.id, r.geom, m.cell_m, core.cell_index(r.geom, m.cell_m) AS i
        FROM (SELECT DISTINCT unnest(ids) AS id) AS k
        JOIN core.reports AS r ON r.id = k.id
        CROSS JOIN LATERAL (SELECT core.public_cell_m(r.category_id) AS cell_m) AS m
    ), centres AS (
        -- core.cell_centre is a function of the cell: any report of the cell gives its centre
        SELECT d.cell_m, d.i, d.centre, p.county_code, p.voivodeship_code
        FROM (SELECT DISTINCT ON (cell_m, i) cell_m, i, core.cell_centre(geom, cell_m) AS centre
              FROM cells ORDER BY cell_m, i) AS d
        CROSS JOIN LATERAL core.public_county(d.centre) AS p
    )
    SELECT c.id, c.cell_m, x.centre, x.county_code, x.voivodeship_code
    FROM cells AS c JOIN centres AS x USING (cell_m, i)
    ON CONFLICT (report_id) DO UPDATE SET
        cell_m = EXCLUDED.cell_m, geom = EXCLUDED.geom, county_code = EXCLUDED.county_code,
        voivodeship_code = EXCLUDED.voivodeship_code
    WHERE (kept.cell_m, kept.geom, kept.county_code, kept.voivodeship_code)
          IS DISTINCT FROM (EXCLUDED.cell_m, EXCLUDED.geom, EXCLUDED.county_code,
                            EXCLUDED.voivodeship_code);
    GET DIAGNOSTICS placed = ROW_COUNT;
    RETURN placed;
END
$$;

CREATE OR REPLACE FUNCTION core.place_new_reports() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM core.refresh_report_places(ARRAY(SELECT id FROM new_reports));
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER reports_place_new AFTER INSERT ON core.reports
    REFERENCING NEW TABLE AS new_reports
    FOR EACH STATEMENT EXECUTE FUNCTION core.place_new_reports();

-- The geometry comparison is made here, not in the trigger's WHEN: pg_restore recreates a
-- trigger with an empty search_path, where geometry's `=` (IS DISTINCT FROM) cannot be resolved
-- ("operator is not unique"), and the restore would stop (tests/test_backup_restore.py).
CREATE OR REPLACE FUNCTION core.place_changed_report() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.geom IS DISTINCT FROM OLD.geom OR NEW.category_id IS DISTINCT FROM OLD.category_id THEN
        PERFORM core.refresh_report_places(ARRAY[NEW.id]);
    END IF;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER reports_place_changed AFTER UPDATE OF geom, category_id ON core.reports
    FOR EACH ROW EXECUTE FUNCTION core.place_changed_report();

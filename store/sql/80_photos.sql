-- Photos past retention (issue 12, point 5): erased with the contact, by the same rule
-- (core.retention_ended, 35_retention.sql). The bytes are in the photo storage, outside the
-- database, so erasure is two steps the application runs (store/photos.py, gateway/photos.py):
-- core.photos_past_retention lists the storage keys, the application deletes the objects, then
-- core.erase_photos deletes the rows and records a `photos_erased` event per report. A crash
-- between the two leaves the rows, so the next run deletes the (already gone) objects again and
-- then the rows: no photo is ever left stored without a row naming it for erasure.
SET LOCAL ROLE threatmap_app;

CREATE OR REPLACE FUNCTION core.photos_past_retention(max_rows integer)
RETURNS TABLE (id uuid, report_id uuid, storage_key text)
LANGUAGE sql STABLE AS $$
    SELECT p.id, p.report_id, p.storage_key
    FROM core.report_photos AS p
    JOIN core.reports AS r ON r.id = p.report_id
    WHERE core.retention_ended(r.closed_at)
    ORDER BY p.report_id, p.position
    LIMIT max_rows
$$;

CREATE OR REPLACE FUNCTION core.erase_photos(ids uuid[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    erased bigint;
BEGIN
    WITH gone AS (
        DELETE FROM core.report_photos WHERE id = ANY (ids) RETURNING report_id
    ), logged AS (
        INSERT INTO core.report_events (report_id, kind, actor, comment)
        SELECT report_id, 'photos_erased', 'system:retention',
               count(*) || ' photo(s) erased after the retention period'
        FROM gone GROUP BY report_id
    )
    SELECT count(*) INTO erased FROM gone;
    RETURN erased;
END
$$;

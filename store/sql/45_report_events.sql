-- Live public changes for GraphQL subscriptions: every change of open.reports is announced on
-- channel `threatmap_report_events` with public columns only (the same ones any anonymous
-- reader sees in open.reports), so that every gateway process can fan it out.
-- A statement touching many rows (a rebuild of the public layer) sends one `refreshed` notice
-- instead of one per row. The notices of one statement are sent in id order, never in the
-- order core.reports stores the rows (the order of submission, which would date them).
SET LOCAL ROLE threatmap_app;

-- The public columns of one open.reports row, as the subscription's event.
CREATE OR REPLACE FUNCTION core.report_event_json(kind text, r open.reports) RETURNS json
LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_object('kind', kind, 'id', r.id, 'category', r.category_id,
                             'status', r.status, 'county', r.county_code,
                             'voivodeship', r.voivodeship_code)
$$;

CREATE OR REPLACE FUNCTION core.notify_report_events() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed bigint;
    kind    text := CASE TG_OP WHEN 'INSERT' THEN 'added' WHEN 'UPDATE' THEN 'changed'
                                ELSE 'removed' END;
    event   json;
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT count(*) INTO changed FROM old_rows;
    ELSE
        SELECT count(*) INTO changed FROM new_rows;
    END IF;
    IF changed = 0 THEN
        RETURN NULL;
    ELSIF changed > 100 THEN
        PERFORM pg_notify('threatmap_report_events', json_build_object('kind', 'refreshed')::text);
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        FOR event IN SELECT core.report_event_json(kind, r) FROM old_rows AS r ORDER BY r.id LOOP
            PERFORM pg_notify('threatmap_report_events', event::text);
        END LOOP;
    ELSE
        FOR event IN SELECT core.report_event_json(kind, r) FROM new_rows AS r ORDER BY r.id LOOP
            PERFORM pg_notify('threatmap_report_events', event::text);
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER open_reports_added AFTER INSERT ON open.reports
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.notify_report_events();
CREATE OR REPLACE TRIGGER open_reports_changed_rows AFTER UPDATE ON open.reports
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.notify_report_events();
CREATE OR REPLACE TRIGGER open_reports_removed AFTER DELETE ON open.reports
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.notify_report_events();

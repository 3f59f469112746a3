-- Live changes for the officers' workbench (issue 13, point 10): every new report and every
-- change an officer acts on (status, read, verdict, forwarding, hand-over, abusive, the county)
-- is announced on channel `threatmap_staff_events` with what the gateway needs to decide who may
-- hear of it, and nothing private: the report's id, its status, its county, the unit it is
-- handed to and the one it was handed to before. The staff subscription (gateway/graphql/
-- subscriptions.py) applies the work list's rule (core.officer_handles) to each notice, so an
-- officer hears only of the reports of the unit. Only the application role listens to it; a
-- public door never does (the ids of unpublished reports are not for the public).
-- A statement touching many rows sends one `refreshed` notice instead of one per row.
SET LOCAL ROLE threatmap_app;

CREATE OR REPLACE FUNCTION core.notify_staff_events() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed bigint;
    event   json;
BEGIN
    IF current_setting('threatmap.bulk', true) = 'on' THEN
        -- a bulk load (store/demo.py, imports): one notice, no comparison of a million rows
        PERFORM pg_notify('threatmap_staff_events', json_build_object('kind', 'refreshed')::text);
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT count(*) INTO changed FROM new_rows;
    ELSE
        SELECT count(*) INTO changed
        FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id
        WHERE (n.status, n.read_at, n.verified_at, n.forwarded_to, n.police_unit_id, n.abusive, n.county_code)
              IS DISTINCT FROM
              (o.status, o.read_at, o.verified_at, o.forwarded_to, o.police_unit_id, o.abusive, o.county_code);
    END IF;
    IF changed = 0 THEN
        RETURN NULL;
    ELSIF changed > 100 THEN
        PERFORM pg_notify('threatmap_staff_events', json_build_object('kind', 'refreshed')::text);
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        FOR event IN
            SELECT json_build_object('kind', 'added', 'id', n.id, 'status', n.status,
                                     'county', n.county_code, 'unit', n.police_unit_id)
            FROM new_rows AS n ORDER BY n.id
        LOOP
            PERFORM pg_notify('threatmap_staff_events', event::text);
        END LOOP;
    ELSE
        FOR event IN
            SELECT json_build_object('kind', 'changed', 'id', n.id, 'status', n.status,
                                     'county', n.county_code, 'unit', n.police_unit_id,
                                     'old_county', o.county_code, 'old_unit', o.police_unit_id)
            FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id
            WHERE (n.status, n.read_at, n.verified_at, n.forwarded_to, n.police_unit_id, n.abusive,
                   n.county_code)
                  IS DISTINCT FROM
                  (o.status, o.read_at, o.verified_at, o.forwarded_to, o.police_unit_id, o.abusive,
                   o.county_code)
            ORDER BY n.id
        LOOP
            PERFORM pg_notify('threatmap_staff_events', event::text);
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER reports_staff_added AFTER INSERT ON core.reports
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.notify_staff_events();
-- Only changes of what an officer acts on are announced: the privacy jobs (erasing contacts,
-- re-projecting) change other columns and stay silent. (A trigger with transition tables cannot
-- name columns: the function compares the rows.)
CREATE OR REPLACE TRIGGER reports_staff_changed AFTER UPDATE ON core.reports
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.notify_staff_events();

-- Found attacking the doors (privacy review): public reports came out in the order they were
-- submitted, which dated them beyond what the policy publishes.
-- 1. core.publish_due_reports() published a clock hour's batch with one UPDATE that walked the
--    reports in created_at order (the index reports_unpublished), so the subscription's `added`
--    notices of a batch (one per report, sent as each row is published) came in submission
--    order: each report's rank within its hour, and, with reports of one's own submitted at
--    known minutes in between, its minute. It now publishes the batch in id order (random
--    UUIDs: no time in them).
-- 2. A statement that changes many public rows at once (core.rebuild_public_layer, and
--    core.reproject_public_reports when a category's sensitivity changes) announced them in the
--    order core.reports stores them, which is the order of submission. Notices of one statement
--    are now sent in id order, and the re-projection walks its reports in id order.
-- (Tiles, which read open.reports without ORDER BY, and so in the order rows were written, now
-- sort their points by id: tiles/queries.py.)
SET LOCAL ROLE threatmap_app;

CREATE OR REPLACE FUNCTION core.publish_due_reports() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    due         uuid;
    published   bigint := 0;
BEGIN
    IF current_setting('threatmap.bulk', true) = 'on' THEN
        -- Bulk loads skip the per-row public trigger (no notices to order) and rebuild after:
        -- one statement is enough (1,000,000 demo reports: seconds instead of half a minute).
        UPDATE core.reports SET published_at = now()
        WHERE published_at IS NULL AND NOT abusive
          AND created_at < date_trunc('hour', now() - (SELECT publish_after FROM core.privacy_policy));
        GET DIAGNOSTICS published = ROW_COUNT;
        RETURN published;
    END IF;
    FOR due IN
        SELECT id FROM core.reports
        WHERE published_at IS NULL AND NOT abusive
          AND created_at < date_trunc('hour', now() - (SELECT publish_after FROM core.privacy_policy))
        ORDER BY id
        FOR UPDATE
    LOOP
        UPDATE core.reports SET published_at = now() WHERE id = due;
        published := published + 1;
    END LOOP;
    RETURN published;
END
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

CREATE OR REPLACE FUNCTION core.reproject_public_reports(ids uuid[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    r       core.reports;
    stored  open.reports;
    fresh   open.reports;
    changed bigint := 0;
BEGIN
    FOR r IN SELECT c.* FROM core.reports AS c WHERE c.id = ANY (ids) AND core.is_public(c)
             ORDER BY c.id LOOP
        fresh := core.public_report(r);
        stored := NULL;
        SELECT * INTO stored FROM open.reports WHERE id = r.id;
        CONTINUE WHEN stored IS NOT DISTINCT FROM fresh;
        IF stored.id IS NOT NULL THEN
            PERFORM core.count_public_report(stored, core.report_month(r), -1);
        END IF;
        PERFORM core.count_public_report(fresh, core.report_month(r), 1);
        INSERT INTO open.reports SELECT fresh.*
        ON CONFLICT (id) DO UPDATE SET
            category_id = EXCLUDED.category_id, status = EXCLUDED.status,
            occurred_on = EXCLUDED.occurred_on, date_precision = EXCLUDED.date_precision,
            cell_m = EXCLUDED.cell_m, voivodeship_code = EXCLUDED.voivodeship_code,
            county_code = EXCLUDED.county_code, police_unit_id = EXCLUDED.police_unit_id,
            geom = EXCLUDED.geom, geom_3857 = EXCLUDED.geom_3857;
        changed := changed + 1;
    END LOOP;
    RETURN changed;
END
$$;

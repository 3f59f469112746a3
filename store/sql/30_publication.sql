-- Publication: when a report becomes public and how open.reports and the aggregates are kept
-- in step with core.reports (row by row, in bulk, and for a subset re-projected in place).
--
-- Privacy reasoning:
-- - A report dated by day is published as soon as the police take it up (any status but the
--   initial one), or, untaken, once the policy's delay has passed (core.publish_due_reports).
-- - Reports created in the same clock hour are published together, so the moment of
--   publication (visible to anyone polling the layer) tells no more than the hour of
--   submission.
-- - A report dated by month (sensitive categories, core.dated_by_month) is published only with
--   every such report submitted in the same local month (the policy's time zone), once that
--   month has ended and the delay has passed: the moment then tells no more than the month. The
--   police taking it up does not publish it earlier: they read a report within 2 days and verify
--   it within 5 (KMZB), so the moment of their first change dates the submission to a few days.
-- - Public reports must not come out in the order they were submitted, which would date them
--   beyond what the policy publishes: a clock hour's batch is published in id order (random
--   UUIDs: no time in them), one row at a time so that the subscription's `added` notices
--   (store/sql/45_report_events.sql) follow that order, and a re-projection walks its reports
--   in id order. (Tiles sort their points by id too: tiles/queries.py.)
SET LOCAL ROLE threatmap_app;

-- Derived private columns: publication, closing time, county, timestamps.
CREATE OR REPLACE FUNCTION core.prepare_report() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.geom IS DISTINCT FROM OLD.geom THEN
        NEW.county_code := (SELECT code FROM core.areas
                            WHERE level = 'county' AND ST_Intersects(geom, NEW.geom) LIMIT 1);
    END IF;
    IF NEW.published_at IS NULL
       AND NOT (SELECT is_initial FROM core.statuses WHERE id = NEW.status)
       AND NOT core.dated_by_month(NEW.category_id) THEN
        NEW.published_at := now();
    END IF;
    -- The first verdict ends the verification (the verify-by deadline); reaching any status
    -- past the initial one means an officer has read it.
    IF NEW.verified_at IS NULL AND (SELECT is_verdict FROM core.statuses WHERE id = NEW.status) THEN
        NEW.verified_at := now();
    END IF;
    IF NEW.read_at IS NULL AND NOT (SELECT is_initial FROM core.statuses WHERE id = NEW.status) THEN
        NEW.read_at := now();
    END IF;
    IF (SELECT is_closed FROM core.statuses WHERE id = NEW.status) THEN
        NEW.closed_at := coalesce(NEW.closed_at, now());
    ELSE
        NEW.closed_at := NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER reports_prepare BEFORE INSERT OR UPDATE ON core.reports
    FOR EACH ROW EXECUTE FUNCTION core.prepare_report();

-- Keeps open.reports and the aggregates in step with one changed core.reports row.
-- Bulk loaders set threatmap.bulk = 'on' and call core.rebuild_public_layer() once instead.
CREATE OR REPLACE FUNCTION core.sync_public_report() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_public  open.reports;
    new_public  open.reports;
BEGIN
    IF current_setting('threatmap.bulk', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND core.is_public(OLD) THEN
        old_public := core.public_report(OLD);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND core.is_public(NEW) THEN
        new_public := core.public_report(NEW);
    END IF;
    IF old_public IS NOT DISTINCT FROM new_public
       AND (TG_OP <> 'UPDATE' OR core.report_month(OLD) = core.report_month(NEW)) THEN
        RETURN NULL;
    END IF;
    IF old_public.id IS NOT NULL THEN
        PERFORM core.count_public_report(old_public, core.report_month(OLD), -1);
    END IF;
    IF new_public.id IS NOT NULL THEN
        PERFORM core.count_public_report(new_public, core.report_month(NEW), 1);
        INSERT INTO open.reports SELECT new_public.*
        ON CONFLICT (id) DO UPDATE SET
            category_id = EXCLUDED.category_id, status = EXCLUDED.status,
            occurred_on = EXCLUDED.occurred_on, date_precision = EXCLUDED.date_precision,
            cell_m = EXCLUDED.cell_m, voivodeship_code = EXCLUDED.voivodeship_code,
            county_code = EXCLUDED.county_code, police_unit_id = EXCLUDED.police_unit_id,
            geom = EXCLUDED.geom, geom_3857 = EXCLUDED.geom_3857,
            published_on = EXCLUDED.published_on;
    ELSIF old_public.id IS NOT NULL THEN
        DELETE FROM open.reports WHERE id = OLD.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER reports_sync_public AFTER INSERT OR UPDATE OR DELETE ON core.reports
    FOR EACH ROW EXECUTE FUNCTION core.sync_public_report();

-- Brings the public rows of the given reports in line with core.public_report, moving their
-- counts in the aggregates; returns how many changed. For re-projecting a subset in place
-- (a category's sensitivity changed); a changed policy uses core.rebuild_public_layer().
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
            geom = EXCLUDED.geom, geom_3857 = EXCLUDED.geom_3857,
            published_on = EXCLUDED.published_on;
        changed := changed + 1;
    END LOOP;
    RETURN changed;
END
$$;

-- Marking a category sensitive (or no longer sensitive) in the catalogue re-projects its
-- public reports at once (grid and date precision), and moves the places kept for all its
-- reports (store/sql/18_report_places.sql).
CREATE OR REPLACE FUNCTION core.reproject_category() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[] := ARRAY(SELECT id FROM core.reports WHERE category_id = NEW.id);
BEGIN
    PERFORM core.refresh_report_places(ids);
    PERFORM core.reproject_public_reports(ids);
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER categories_sensitivity_changed AFTER UPDATE OF sensitive ON core.categories
    FOR EACH ROW WHEN (OLD.sensitive IS DISTINCT FROM NEW.sensitive)
    EXECUTE FUNCTION core.reproject_category();

-- Rebuilds the whole public layer from core in a few set-based statements: after a bulk
-- load, or after the policy changed. Readers keep reading the old rows until it commits.
-- Each report is projected once (a LATERAL call: `SELECT (core.public_report(r)).*` would call
-- the function once per column, over half an hour for a million reports).
CREATE OR REPLACE FUNCTION core.rebuild_public_layer() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    published bigint;
BEGIN
    -- The cells kept per public point (store/sql/27_cell_counts.sql) and the totals kept per area
    -- (28_report_totals.sql) and per square (29_report_squares.sql) are rebuilt once, at the end.
    PERFORM set_config('threatmap.counts_deferred', 'on', true);
    UPDATE core.reports AS r
    SET county_code = a.code
    FROM core.areas AS a
    WHERE r.county_code IS NULL AND a.level = 'county' AND ST_Intersects(a.geom, r.geom);
    -- The places kept per report follow the policy's grid (store/sql/18_report_places.sql).
    PERFORM core.refresh_report_places(ARRAY(SELECT id FROM core.reports));

    -- written in spatial order (the heap blocks of a small bbox or a tile: store/reorder.py)
    DELETE FROM open.reports;
    DELETE FROM open.report_features;   -- their rows' went with them; a text kept for no row too
    INSERT INTO open.reports
    SELECT p.*
    FROM core.reports AS r
    CROSS JOIN LATERAL core.public_report(r) AS p
    WHERE core.is_public(r)
    ORDER BY p.geom, p.id;
    GET DIAGNOSTICS published = ROW_COUNT;

    DELETE FROM core.density_counts;
    DELETE FROM core.area_counts;
    INSERT INTO core.density_counts (cell_m, cx, cy, category_id, status, month, n)
    SELECT levels.cell_m, i[1], i[2], p.category_id, p.status,
           date_trunc('month', p.occurred_on)::date, count(*)
    FROM open.reports AS p
    CROSS JOIN unnest((SELECT density_cell_m FROM core.privacy_policy)) AS levels(cell_m)
    CROSS JOIN LATERAL core.cell_index(p.geom, levels.cell_m) AS i
    GROUP BY 1, 2, 3, 4, 5, 6;
    INSERT INTO core.density_cells (cell_m, cx, cy, geom, geom_3857, centre_3857)
    SELECT d.cell_m, d.cx, d.cy, poly, ST_Transform(poly, 3857),
           ST_Transform(ST_Centroid(ST_Transform(poly, 2180)), 3857)
    FROM (SELECT DISTINCT cell_m, cx, cy FROM core.density_counts) AS d
    CROSS JOIN LATERAL core.cell_polygon(d.cell_m, d.cx, d.cy) AS poly
    ON CONFLICT DO NOTHING;
    INSERT INTO core.area_counts (area_code, category_id, status, month, n)
    SELECT code, p.category_id, p.status, date_trunc('month', p.occurred_on)::date, count(*)
    FROM open.reports AS p
    CROSS JOIN unnest(ARRAY[p.county_code, p.voivodeship_code]) AS code
    WHERE code IS NOT NULL
    GROUP BY 1, 2, 3, 4;
    PERFORM core.recount_density_cells();
    PERFORM set_config('threatmap.counts_deferred', 'off', true);
    PERFORM core.rebuild_report_cells();
    PERFORM core.rebuild_report_totals();
    PERFORM core.rebuild_report_squares();
    RETURN published;
END
$$;

-- Whether an unpublished report is due: dated by month, when its local month of submission
-- ended before month_cutoff; otherwise when the police took it up (its category was dated by
-- month then) or its clock hour of submission ended before hour_cutoff.
CREATE OR REPLACE FUNCTION core.publication_due(created_at timestamptz, dated_by_month boolean,
                                                taken_up boolean, hour_cutoff timestamptz,
                                                month_cutoff timestamptz) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN dated_by_month THEN created_at < month_cutoff
                ELSE taken_up OR created_at < hour_cutoff END
$$;

-- Publishes what is due (core.publication_due): reports dated by day that the police have not
-- taken up within the policy's delay, a clock hour's batch at a time, and reports dated by
-- month a local month's batch at a time, in id order (see above).
CREATE OR REPLACE FUNCTION core.publish_due_reports() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    policy       core.privacy_policy;
    hour_cutoff  timestamptz;
    month_cutoff timestamptz;
    due          uuid;
    published    bigint := 0;
BEGIN
    SELECT * INTO policy FROM core.privacy_policy;
    -- Reports submitted before the start of the hour (the local month) that `publish_after`
    -- ago falls in: their hour (month) ended at least `publish_after` ago.
    hour_cutoff := date_trunc('hour', now() - policy.publish_after, policy.timezone);
    month_cutoff := date_trunc('month', now() - policy.publish_after, policy.timezone);
    IF current_setting('threatmap.bulk', true) = 'on' THEN
        -- Bulk loads skip the per-row public trigger (no notices to order) and rebuild after:
        -- one statement is enough (1,000,000 demo reports: seconds instead of half a minute).
        -- (c.sensitive is core.dated_by_month, joined rather than called once per row.)
        UPDATE core.reports AS r SET published_at = now()
        FROM core.categories AS c, core.statuses AS s
        WHERE c.id = r.category_id AND s.id = r.status
          AND r.published_at IS NULL AND NOT r.abusive
          AND core.publication_due(r.created_at, c.sensitive, NOT s.is_initial, hour_cutoff,
                                   month_cutoff);
        GET DIAGNOSTICS published = ROW_COUNT;
        RETURN published;
    END IF;
    FOR due IN
        SELECT r.id FROM core.reports AS r
        JOIN core.categories AS c ON c.id = r.category_id
        JOIN core.statuses AS s ON s.id = r.status
        WHERE r.published_at IS NULL AND NOT r.abusive
          AND core.publication_due(r.created_at, c.sensitive, NOT s.is_initial, hour_cutoff,
                                   month_cutoff)
        ORDER BY r.id
        FOR UPDATE OF r
    LOOP
        UPDATE core.reports SET published_at = now() WHERE id = due;
        published := published + 1;
    END LOOP;
    RETURN published;
END
$$;

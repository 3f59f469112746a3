-- Totals kept per area, category, status and period (issue 16, point 4; the table and the
-- privacy reasoning: store/migrations/0020_report_totals.sql): the count of public reports for
-- a filter without a small bbox (store/report_totals.py) reads these rows instead of every cell
-- (store/sql/27_cell_counts.sql) or every report. Kept by deltas from statement triggers on
-- open.reports, in the writer's transaction; rebuilt set-based with the cells.
SET LOCAL ROLE threatmap_app;

-- The rows a public report counts in: each of its distinct areas (all of Poland, its county,
-- its voivodeship) by its day, its month and its year.
CREATE OR REPLACE FUNCTION core.report_total_keys(occurred_on date, county_code text,
                                                  voivodeship_code text)
RETURNS TABLE (area_code text, period text, period_start date)
LANGUAGE sql IMMUTABLE AS $$
    SELECT a.code, p.period, p.period_start
    FROM (SELECT DISTINCT code FROM unnest(ARRAY['PL', county_code, voivodeship_code]) AS code
          WHERE code IS NOT NULL) AS a
    CROSS JOIN (VALUES ('day', occurred_on),
                       ('month', date_trunc('month', occurred_on)::date),
                       ('year', date_trunc('year', occurred_on)::date)) AS p (period, period_start)
$$;

-- What core.report_totals should hold, computed from open.reports.
CREATE OR REPLACE VIEW core.report_total_rows AS
    SELECT k.area_code, k.period, k.period_start, r.category_id, r.status, count(*)::integer AS n
    FROM open.reports AS r
    CROSS JOIN LATERAL core.report_total_keys(r.occurred_on, r.county_code, r.voivodeship_code) AS k
    GROUP BY 1, 2, 3, 4, 5;

-- The public totals: as public as open.reports (see the migration), emptied rows hidden.
CREATE OR REPLACE VIEW open.report_totals AS
    SELECT area_code, period, period_start, category_id, status, n
    FROM core.report_totals
    WHERE n > 0;
GRANT SELECT ON open.report_totals TO threatmap_public;

-- Every total again, set-based: at the end of the rebuild of the public layer (which also drops
-- the emptied rows), with the cells. In key order, as the migration's first fill.
CREATE OR REPLACE FUNCTION core.rebuild_report_totals() RETURNS void
LANGUAGE sql AS $$
    DELETE FROM core.report_totals;
    INSERT INTO core.report_totals (area_code, period, period_start, category_id, status, n)
    SELECT area_code, period, period_start, category_id, status, n FROM core.report_total_rows
    ORDER BY 1, 2, 3, 4, 5;
$$;

-- Adds changed public reports to the totals: parallel arrays of their (category, status, day,
-- county, voivodeship) and how many reports of each came (> 0) or left (< 0). Rows are upserted
-- in key order, so concurrent writers lock them in the same order; an upsert adds to the row a
-- concurrent writer committed (ON CONFLICT takes the row lock and reads its latest version), so
-- no change is lost. PL/pgSQL, not SQL: its plan is kept for the session, where a SQL function's
-- INSERT would be planned again on every call (each publication).
CREATE OR REPLACE FUNCTION core.add_to_report_totals(categories text[], statuses text[],
                                                     days date[], counties text[],
                                                     voivodeships text[], deltas integer[])
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO core.report_totals AS t (area_code, period, period_start, category_id, status, n)
    SELECT k.area_code, k.period, k.period_start, c.category_id, c.status, sum(c.delta)::integer
    FROM unnest(categories, statuses, days, counties, voivodeships, deltas)
         AS c (category_id, status, occurred_on, county_code, voivodeship_code, delta)
    CROSS JOIN LATERAL core.report_total_keys(c.occurred_on, c.county_code, c.voivodeship_code) AS k
    GROUP BY 1, 2, 3, 4, 5
    HAVING sum(c.delta) <> 0
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (area_code, period, period_start, category_id, status) DO UPDATE SET n = t.n + excluded.n;
END
$$;

-- After each statement that changed open.reports: the rows it inserted (+1), deleted (-1) or
-- updated (-1 for the old version, +1 for the new: an update of other columns nets to nothing);
-- the same deltas, by public point, go to the squares and their months (29_report_squares.sql).
-- Deferred like the cells while core.rebuild_public_layer runs (it rebuilds both at its end).
CREATE OR REPLACE FUNCTION core.open_reports_totals_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    categories   text[];
    statuses     text[];
    days         date[];
    counties     text[];
    voivodeships text[];
    geoms        geometry[];
    deltas       integer[];
BEGIN
    IF current_setting('threatmap.counts_deferred', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(category_id), array_agg(status), array_agg(occurred_on),
               array_agg(county_code), array_agg(voivodeship_code), array_agg(geom), array_agg(k)
        INTO categories, statuses, days, counties, voivodeships, geoms, deltas
        FROM (SELECT category_id, status, occurred_on, county_code, voivodeship_code, geom,
                     count(*)::integer AS k
              FROM new_rows GROUP BY 1, 2, 3, 4, 5, 6) AS d;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(category_id), array_agg(status), array_agg(occurred_on),
               array_agg(county_code), array_agg(voivodeship_code), array_agg(geom), array_agg(k)
        INTO categories, statuses, days, counties, voivodeships, geoms, deltas
        FROM (SELECT category_id, status, occurred_on, county_code, voivodeship_code, geom,
                     -count(*)::integer AS k
              FROM old_rows GROUP BY 1, 2, 3, 4, 5, 6) AS d;
    ELSE
        SELECT array_agg(category_id), array_agg(status), array_agg(occurred_on),
               array_agg(county_code), array_agg(voivodeship_code), array_agg(geom), array_agg(k)
        INTO categories, statuses, days, counties, voivodeships, geoms, deltas
        FROM (SELECT category_id, status, occurred_on, county_code, voivodeship_code, geom,
                     sum(one)::integer AS k
              FROM (SELECT category_id, status, occurred_on, county_code, voivodeship_code,
                           geom, -1 AS one FROM old_rows
                    UNION ALL
                    SELECT category_id, status, occurred_on, county_code, voivodeship_code,
                           geom, 1 FROM new_rows) AS both_versions
              GROUP BY 1, 2, 3, 4, 5, 6
              HAVING sum(one) <> 0) AS d;
    END IF;
    IF categories IS NOT NULL THEN
        PERFORM core.add_to_report_totals(categories, statuses, days, counties, voivodeships,
                                          deltas);
        -- and to the squares kept per category and status, and per month (29_report_squares.sql)
        PERFORM core.add_to_report_squares(geoms, categories, statuses, deltas);
        PERFORM core.add_to_report_square_months(geoms, categories, statuses, days, deltas);
    END IF;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER open_reports_totals_inserted AFTER INSERT ON open.reports
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.open_reports_totals_changed();
CREATE OR REPLACE TRIGGER open_reports_totals_updated AFTER UPDATE ON open.reports
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.open_reports_totals_changed();
CREATE OR REPLACE TRIGGER open_reports_totals_deleted AFTER DELETE ON open.reports
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.open_reports_totals_changed();

CREATE OR REPLACE FUNCTION core.open_reports_totals_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM core.report_totals;
    DELETE FROM core.report_squares;
    DELETE FROM core.report_square_months;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER open_reports_totals_truncated AFTER TRUNCATE ON open.reports
    FOR EACH STATEMENT EXECUTE FUNCTION core.open_reports_totals_truncated();

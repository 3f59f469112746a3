-- Counts kept per public cell (issue 16, points 4 and 5; the table: store/migrations/
-- 0016_report_cells.sql): open.reports grouped by its public point, with the (category, status,
-- day) groups of each point's reports. totalCount (store/report_cells.py) and the point tiles
-- at z 12-14 (tiles/queries.py) read these rows instead of one row a report: a bbox selects
-- whole cells (every public point is a cell centre), and a tile has at most one feature a cell.
--
-- Privacy: every value here is an aggregate of public columns of open.reports (point, county,
-- voivodeship, date precision, category, status, public day), so it tells nothing open.reports
-- does not. Rows whose reports all left the layer stay (with n = 0) until the next rebuild; the
-- public view hides them, and being a view it shows no system column (xmin would date a change).
SET LOCAL ROLE threatmap_app;

-- What core.report_cells should hold, computed from open.reports. A condition on the point
-- (and the rest of the key) is pushed down to open.reports, so one cell reads only its reports.
-- top: the most frequent (category, status), ties by category then status.
CREATE OR REPLACE VIEW core.report_cell_rows AS
    SELECT c.geom, ST_Transform(c.geom, 3857) AS geom_3857, c.date_precision, c.county_code,
           c.voivodeship_code, c.n, c.categories, c.statuses, c.days, c.counts,
           top.category_id AS top_category, top.status AS top_status, c.last_day
    FROM (SELECT geom, date_precision, county_code, voivodeship_code, sum(k)::integer AS n,
                 array_agg(category_id ORDER BY category_id, status, occurred_on) AS categories,
                 array_agg(status ORDER BY category_id, status, occurred_on) AS statuses,
                 array_agg(occurred_on ORDER BY category_id, status, occurred_on) AS days,
                 array_agg(k ORDER BY category_id, status, occurred_on) AS counts,
                 max(occurred_on) AS last_day
          FROM (SELECT geom, date_precision, county_code, voivodeship_code, category_id, status,
                       occurred_on, count(*)::integer AS k
                FROM open.reports
                GROUP BY 1, 2, 3, 4, 5, 6, 7) AS groups
          GROUP BY 1, 2, 3, 4) AS c
    CROSS JOIN LATERAL (
        SELECT g.category_id, g.status
        FROM unnest(c.categories, c.statuses, c.counts) AS g (category_id, status, k)
        GROUP BY 1, 2
        ORDER BY sum(g.k) DESC, 1, 2
        LIMIT 1) AS top;

-- The public cells: as public as open.reports (see above), emptied cells hidden.
CREATE OR REPLACE VIEW open.report_cells AS
    SELECT geom, geom_3857, date_precision, county_code, voivodeship_code, n, categories,
           statuses, days, counts, top_category, top_status, last_day
    FROM core.report_cells
    WHERE n > 0;
GRANT SELECT ON open.report_cells TO threatmap_public;

-- Every cell again, set-based: after a statement that changed many public reports, and at the
-- end of the rebuild of the public layer (which also drops the emptied cells). Written in
-- spatial order, so that a tile's cells share heap blocks (store/reorder.py).
CREATE OR REPLACE FUNCTION core.rebuild_report_cells() RETURNS void
LANGUAGE sql AS $$
    DELETE FROM core.report_cells;
    INSERT INTO core.report_cells (geom, geom_3857, date_precision, county_code, voivodeship_code,
                                   n, categories, statuses, days, counts, top_category,
                                   top_status, last_day)
    SELECT geom, geom_3857, date_precision, county_code, voivodeship_code, n, categories,
           statuses, days, counts, top_category, top_status, last_day
    FROM core.report_cell_rows
    ORDER BY geom, date_precision, county_code, voivodeship_code;
$$;

-- Recomputes the given cells (parallel arrays: point, date precision, county, voivodeship) from
-- open.reports. Each cell row is locked first, in the order given (sorted by the caller, so
-- concurrent writers lock in the same order), and only then recomputed: the recomputing
-- statement takes its snapshot after the lock, so it sees the reports of every writer that
-- held the cell before (READ COMMITTED), and no change is lost.
CREATE OR REPLACE FUNCTION core.refresh_report_cells(geoms geometry[], precisions text[],
                                                     counties text[], voivodeships text[])
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. coalesce(cardinality(geoms), 0) LOOP
        LOOP  -- a rebuild may delete the row between the insert and the lock: try again
            INSERT INTO core.report_cells (geom, geom_3857, date_precision, county_code,
                                           voivodeship_code, n, categories, statuses, days, counts)
            VALUES (geoms[i], ST_Transform(geoms[i], 3857), precisions[i], counties[i],
                    voivodeships[i], 0, '{}', '{}', '{}', '{}')
            ON CONFLICT DO NOTHING;
            PERFORM FROM core.report_cells AS c
            WHERE c.geom = geoms[i] AND c.date_precision = precisions[i]
              AND c.county_code IS NOT DISTINCT FROM counties[i]
              AND c.voivodeship_code IS NOT DISTINCT FROM voivodeships[i]
            FOR UPDATE;
            EXIT WHEN FOUND;
        END LOOP;
        UPDATE core.report_cells AS c
        SET (n, categories, statuses, days, counts, top_category, top_status, last_day) = (
            SELECT coalesce(v.n, 0), coalesce(v.categories, '{}'), coalesce(v.statuses, '{}'),
                   coalesce(v.days, '{}'), coalesce(v.counts, '{}'), v.top_category,
                   v.top_status, v.last_day
            FROM (SELECT) AS one
            LEFT JOIN core.report_cell_rows AS v
                   ON v.geom ~= geoms[i] AND v.geom = geoms[i] AND v.date_precision = precisions[i]
                  AND v.county_code IS NOT DISTINCT FROM counties[i]
                  AND v.voivodeship_code IS NOT DISTINCT FROM voivodeships[i])
        WHERE c.geom = geoms[i] AND c.date_precision = precisions[i]
          AND c.county_code IS NOT DISTINCT FROM counties[i]
          AND c.voivodeship_code IS NOT DISTINCT FROM voivodeships[i];
    END LOOP;
END
$$;

-- Above this many changed public reports in one statement, every cell is rebuilt set-based.
CREATE OR REPLACE FUNCTION core.report_cells_bulk_rows() RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT 1000::bigint $$;

-- After each statement that changed open.reports: the cells of the rows it inserted, updated
-- (before and after) or deleted (transition tables old_rows and new_rows).
CREATE OR REPLACE FUNCTION core.open_reports_cells_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed      bigint;
    geoms        geometry[];
    precisions   text[];
    counties     text[];
    voivodeships text[];
BEGIN
    IF current_setting('threatmap.counts_deferred', true) = 'on' THEN
        RETURN NULL;  -- core.rebuild_public_layer rebuilds every cell after its statements
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT count(*) INTO changed FROM new_rows;
    ELSE
        SELECT count(*) INTO changed FROM old_rows;
    END IF;
    IF changed > core.report_cells_bulk_rows() THEN
        PERFORM core.rebuild_report_cells();
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(geom ORDER BY geom, date_precision, county_code, voivodeship_code),
               array_agg(date_precision ORDER BY geom, date_precision, county_code, voivodeship_code),
               array_agg(county_code ORDER BY geom, date_precision, county_code, voivodeship_code),
               array_agg(voivodeship_code ORDER BY geom, date_precision, county_code, voivodeship_code)
        INTO geoms, precisions, counties, voivodeships
        FROM (SELECT DISTINCT geom, date_precision, county_code, voivodeship_code FROM new_rows) AS t;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(geom ORDER BY geom, date_precision, county_code, voivodeship_code),
               array_agg(date_precision ORDER BY geom, date_precision, county_code, voivodeship_code),
               array_agg(county_code ORDER BY geom, date_precision, county_code, voivodeship_code),
               array_agg(voivodeship_code ORDER BY geom, date_precision, county_code, voivodeship_code)
        INTO geoms, precisions, counties, voivodeships
        FROM (SELECT DISTINCT geom, date_precision, county_code, voivodeship_code FROM old_rows) AS t;
    ELSE
        SELECT array_agg(geom ORDER BY geom, date_precision, county_code, voivodeship_code),
               array_agg(date_precision ORDER BY geom, date_precision, county_code, voivodeship_code),
               array_agg(county_code ORDER BY geom, date_precision, county_code, voivodeship_code),
               array_agg(voivodeship_code ORDER BY geom, date_precision, county_code, voivodeship_code)
        INTO geoms, precisions, counties, voivodeships
        FROM (SELECT geom, date_precision, county_code, voivodeship_code FROM old_rows
              UNION
              SELECT geom, date_precision, county_code, voivodeship_code FROM new_rows) AS t;
    END IF;
    PERFORM core.refresh_report_cells(geoms, precisions, counties, voivodeships);
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER open_reports_cells_inserted AFTER INSERT ON open.reports
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.open_reports_cells_changed();
CREATE OR REPLACE TRIGGER open_reports_cells_updated AFTER UPDATE ON open.reports
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.open_reports_cells_changed();
CREATE OR REPLACE TRIGGER open_reports_cells_deleted AFTER DELETE ON open.reports
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.open_reports_cells_changed();

CREATE OR REPLACE FUNCTION core.open_reports_cells_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM core.report_cells;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER open_reports_cells_truncated AFTER TRUNCATE ON open.reports
    FOR EACH STATEMENT EXECUTE FUNCTION core.open_reports_cells_truncated();

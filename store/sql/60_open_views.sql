-- The views the public role reads. They run with their owner's rights, so the public role
-- needs no access to core; each exposes only public columns and suppresses counts below k.
-- (open.reports itself is a table, kept by store/sql/30_publication.sql.)
--
-- CREATE OR REPLACE VIEW keeps grants and dependants, and can only append columns: to rename,
-- retype or remove one, drop the view in a migration (store/sql is re-applied right after).
SET LOCAL ROLE threatmap_app;

CREATE OR REPLACE VIEW open.categories AS
    SELECT c.id, c.group_id, g.name_pl AS group_name_pl, g.name_en AS group_name_en,
           c.name_pl, c.name_en, c.colour, c.icon, c.sensitive, c.active, c.sort_order,
           c.description_required
    FROM core.categories AS c JOIN core.category_groups AS g ON g.id = c.group_id;
GRANT SELECT ON open.categories TO threatmap_public;

CREATE OR REPLACE VIEW open.statuses AS
    SELECT id, name_pl, name_en, is_initial, is_closed, sort_order, colour, is_verdict
    FROM core.statuses;
GRANT SELECT ON open.statuses TO threatmap_public;

CREATE OR REPLACE VIEW open.forward_bodies AS
    SELECT id, name_pl, name_en, active, sort_order FROM core.forward_bodies;
GRANT SELECT ON open.forward_bodies TO threatmap_public;

CREATE OR REPLACE VIEW open.status_transitions AS
    SELECT from_status, to_status FROM core.status_transitions;
GRANT SELECT ON open.status_transitions TO threatmap_public;

CREATE OR REPLACE VIEW open.areas AS
    SELECT code, level, name, parent_code, geom, geom_3857 FROM core.areas;
GRANT SELECT ON open.areas TO threatmap_public;

CREATE OR REPLACE VIEW open.police_units AS
    SELECT u.id, u.name, u.level, u.area_code, u.parent_id, a.geom, a.geom_3857
    FROM core.police_units AS u JOIN core.areas AS a ON a.code = u.area_code;
GRANT SELECT ON open.police_units TO threatmap_public;

CREATE OR REPLACE VIEW open.data_version AS
    SELECT version FROM core.data_version;
GRANT SELECT ON open.data_version TO threatmap_public;

CREATE OR REPLACE VIEW open.privacy_policy AS
    SELECT cell_m, sensitive_cell_m, k, density_cell_m FROM core.privacy_policy;
GRANT SELECT ON open.privacy_policy TO threatmap_public;

-- Density per cell, category, status and month: the counts of at least k (the one place of
-- that filter: OGC's open.ogc_report_density is this view with an id, store/sql/70_ogc_views.sql).
-- The cell is LEFT JOINed (every count has its cell: store/sql/25_counts.sql writes the cell
-- first; no row changes) for the plan of the readers that walk the counts in key order: the
-- planner reads the counts in that order and merges the cells in, where an inner join drove it
-- from the cells (it underestimates a join on three columns) and made a deep OGC page walk
-- every cell: 1.8 s at offset 100,000 against 0.35 s. A condition on the cell (a bbox, a tile's
-- envelope) makes it an inner join again, found through the cells' GiST index.
CREATE OR REPLACE VIEW open.report_density AS
    SELECT d.cell_m, d.cx, d.cy, d.category_id, d.status, d.month, d.n AS count,
           c.geom, c.geom_3857, c.centre_3857
    FROM core.density_counts AS d
    LEFT JOIN core.density_cells AS c ON (c.cell_m, c.cx, c.cy) = (d.cell_m, d.cx, d.cy)
    WHERE d.n >= (SELECT k FROM core.privacy_policy);
GRANT SELECT ON open.report_density TO threatmap_public;

-- Density per cell over everything: what a map shows with no filter (each cell carries its
-- total, so this is an indexed read).
CREATE OR REPLACE VIEW open.report_density_totals AS
    SELECT c.cell_m, c.cx, c.cy, c.n AS count, c.geom, c.geom_3857, c.centre_3857
    FROM core.density_cells AS c
    WHERE c.n >= (SELECT k FROM core.privacy_policy);
GRANT SELECT ON open.report_density_totals TO threatmap_public;

CREATE OR REPLACE VIEW open.area_statistics AS
    SELECT a.code AS area_code, a.level, a.name AS area_name, s.category_id, s.status, s.month,
           s.n AS count, a.geom, a.geom_3857
    FROM core.area_counts AS s JOIN core.areas AS a ON a.code = s.area_code
    WHERE s.n >= (SELECT k FROM core.privacy_policy);
GRANT SELECT ON open.area_statistics TO threatmap_public;

CREATE OR REPLACE VIEW open.area_totals AS
    SELECT a.code AS area_code, a.level, a.name AS area_name, t.n AS count, a.geom, a.geom_3857
    FROM (SELECT area_code, sum(n)::integer AS n FROM core.area_counts GROUP BY area_code) AS t
    JOIN core.areas AS a ON a.code = t.area_code
    WHERE t.n >= (SELECT k FROM core.privacy_policy);
GRANT SELECT ON open.area_totals TO threatmap_public;

-- Police statistics (issue 15): counts from 1 to k-1 are left out; the rate per 100,000
-- residents (the area's population of the month's year, else the nearest year imported:
-- store/sql/90_police_stats.sql has the rest of the pillar's views) only beside a published count.
CREATE OR REPLACE VIEW open.police_statistics AS
    SELECT s.area_code, a.level, a.name AS area_name, s.offence, s.month, s.count, a.geom,
           p.residents, round(s.count * 100000.0 / p.residents, 2) AS rate_per_100k
    FROM core.police_statistics AS s JOIN core.areas AS a ON a.code = s.area_code
    LEFT JOIN LATERAL (SELECT q.residents FROM core.area_population AS q
                       WHERE q.area_code = s.area_code
                       ORDER BY abs(q.year - extract(year FROM s.month)), q.year DESC
                       LIMIT 1) AS p ON true
    WHERE s.count = 0 OR s.count >= (SELECT k FROM core.privacy_policy);
GRANT SELECT ON open.police_statistics TO threatmap_public;

-- Report counts for the `stats` door (store/stats.py), summed from the UNSUPPRESSED counts and
-- suppressed below k at their own level: every bucket, and with p_totals every total over any
-- subset of the grouped dimensions (GROUP BY CUBE), is the true number of public reports it
-- covers when that number is at least k, and absent otherwise. Summing open.area_statistics
-- instead would add up cells already cut below k (37 for a voivodeship with 658 public reports).
-- It runs with its owner's rights, so the public role still reads nothing of core itself; only
-- these sums, each of at least k, leave it. p_group_by holds column names (category_id, status,
-- area_code, month); summed_over names the grouped ones a total row adds up over (NULL there).
-- What differencing these totals reveals: README "Privacy", known limits.
CREATE OR REPLACE FUNCTION open.report_count_sums(
    p_level text, p_group_by text[], p_totals boolean DEFAULT false,
    p_categories text[] DEFAULT NULL, p_statuses text[] DEFAULT NULL, p_area text DEFAULT NULL,
    p_month_from date DEFAULT NULL, p_month_to date DEFAULT NULL)
RETURNS TABLE (category_id text, status text, area_code text, area_name text, month date,
               count bigint, summed_over text[])
LANGUAGE plpgsql STABLE SECURITY DEFINER
-- work_mem: a grouping at county level by month and category is some 100,000 groups on 1M
-- reports, hashed and sorted in memory rather than on disk (the public role's statements stop
-- after 5 s). Codes sort bytewise (COLLATE "C"): they are ASCII.
SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' AS $$
DECLARE
    dims    constant text[] := ARRAY['category_id', 'status', 'area_code', 'month'];
    types   constant text[] := ARRAY['text', 'text', 'text', 'date'];
    grouped text[];
    columns text := '';
    summed  text := '''{}''::text[]';
    groups  text;
BEGIN
    IF EXISTS (SELECT FROM unnest(p_group_by) AS d WHERE d IS NULL OR NOT d = ANY(dims)) THEN
        RAISE EXCEPTION 'not a statistics dimension: %', p_group_by
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    grouped := ARRAY(SELECT format('s.%I', d) FROM unnest(dims) AS d WHERE d = ANY(p_group_by));
    FOR i IN 1 .. 4 LOOP
        columns := columns || CASE WHEN dims[i] = ANY(p_group_by) THEN format('s.%I, ', dims[i])
                                   ELSE format('NULL::%s, ', types[i]) END;
        IF dims[i] = 'area_code' THEN   -- the area's name beside its code
            columns := columns || CASE
                WHEN NOT 'area_code' = ANY(p_group_by) THEN 'NULL::text, '
                WHEN p_totals THEN 'CASE WHEN GROUPING(s.area_code) = 0 THEN min(g.name) END, '
                ELSE 'min(g.name), ' END;
        END IF;
    END LOOP;
    IF cardinality(grouped) = 4 AND NOT p_totals THEN
        -- Every dimension: the groups are area_counts' rows (its primary key), no aggregation.
        RETURN QUERY EXECUTE format($q$
            SELECT s.category_id, s.status, s.area_code, g.name, s.month, s.n::bigint, '{}'::text[]
            FROM core.area_counts AS s JOIN core.areas AS g ON g.code = s.area_code
            WHERE g.level = $1
              AND ($2::text[] IS NULL OR s.category_id = ANY($2))
              AND ($3::text[] IS NULL OR s.status = ANY($3))
              AND ($4::text IS NULL OR g.code = $4 OR g.parent_code = $4)
              AND ($5::date IS NULL OR s.month >= $5)
              AND ($6::date IS NULL OR s.month <= $6)
              AND s.n >= (SELECT k FROM core.privacy_policy)
            ORDER BY s.category_id COLLATE "C", s.status COLLATE "C", s.area_code COLLATE "C", s.month
            $q$)
        USING p_level, p_categories, p_statuses, p_area, p_month_from, p_month_to;
        RETURN;
    END IF;
    IF cardinality(grouped) = 0 THEN
        groups := '()';
    ELSIF p_totals THEN
        groups := format('CUBE (%s)', array_to_string(grouped, ', '));
        summed := format('array_remove(ARRAY[%s], NULL)', (
            SELECT string_agg(format('CASE WHEN GROUPING(s.%I) = 1 THEN %L END', d, d), ', ')
            FROM unnest(dims) AS d WHERE d = ANY(p_group_by)));
    ELSE
        groups := array_to_string(grouped, ', ');
    END IF;
    RETURN QUERY EXECUTE format($q$
        SELECT * FROM (
            SELECT %s sum(s.n)::bigint, %s
            FROM core.area_counts AS s JOIN core.areas AS g ON g.code = s.area_code
            WHERE g.level = $1
              AND ($2::text[] IS NULL OR s.category_id = ANY($2))
              AND ($3::text[] IS NULL OR s.status = ANY($3))
              AND ($4::text IS NULL OR g.code = $4 OR g.parent_code = $4)
              AND ($5::date IS NULL OR s.month >= $5)
              AND ($6::date IS NULL OR s.month <= $6)
            GROUP BY %s
            HAVING sum(s.n) >= (SELECT k FROM core.privacy_policy)
        ) AS t (category_id, status, area_code, area_name, month, n, summed_over)
        ORDER BY t.category_id COLLATE "C", t.status COLLATE "C", t.area_code COLLATE "C", t.month
        $q$, columns, summed, groups)
    USING p_level, p_categories, p_statuses, p_area, p_month_from, p_month_to;
END
$$;

-- The density pyramid the tiles read below the switch zoom (tables core.tile_density,
-- core.tile_areas: see the baseline migration), kept in step with core.density_counts /
-- core.area_counts by statement triggers (transition tables, applied as deltas, so a
-- published report costs a few row updates here), and published with counts below k removed.
SET LOCAL ROLE threatmap_app;

-- The counts of at least k.
CREATE OR REPLACE FUNCTION core.suppressed(counts jsonb, k integer) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$  -- plpgsql: plans kept per session
BEGIN
    RETURN (
        SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb)
        FROM jsonb_each(counts) WHERE value::integer >= k
    );
END
$$;

-- The most frequent category (ties: the first id).
CREATE OR REPLACE FUNCTION core.top_category(counts jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$  -- plpgsql: plans kept per session
BEGIN
    RETURN (
        SELECT key FROM jsonb_each(counts) ORDER BY value::integer DESC, key LIMIT 1
    );
END
$$;

-- Sums two {category: n} objects, dropping categories that reach zero.
CREATE OR REPLACE FUNCTION core.jsonb_add(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$  -- plpgsql: plans kept per session
BEGIN
    RETURN (
        SELECT coalesce(jsonb_object_agg(key, n), '{}'::jsonb)
        FROM (SELECT key, sum(value::integer) AS n
              FROM (SELECT * FROM jsonb_each(a) UNION ALL SELECT * FROM jsonb_each(b)) AS e
              GROUP BY key HAVING sum(value::integer) <> 0) AS s
    );
END
$$;

-- a + b per category (zeros dropped), the same with counts below k removed, and the most
-- frequent category of those: what core.jsonb_add, core.suppressed and core.top_category give,
-- in one query (profiled with auto_explain on 100,000 reports: the three nested calls cost six
-- plpgsql calls per changed row).
CREATE OR REPLACE FUNCTION core.merge_counts(a jsonb, b jsonb, k integer,
                                  OUT by_category jsonb, OUT public_by_category jsonb,
                                  OUT public_top text)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$  -- plpgsql: plans kept per session
BEGIN
    SELECT coalesce(jsonb_object_agg(key, n), '{}'::jsonb),
           coalesce(jsonb_object_agg(key, n) FILTER (WHERE n >= k), '{}'::jsonb),
           (array_agg(key ORDER BY n DESC, key) FILTER (WHERE n >= k))[1]
    INTO by_category, public_by_category, public_top
    FROM (SELECT key, sum(value::integer) AS n
          FROM (SELECT * FROM jsonb_each(a) UNION ALL SELECT * FROM jsonb_each(b)) AS e
          GROUP BY key HAVING sum(value::integer) <> 0) AS s;
END
$$;

-- Recomputes the pyramid rows of the given cells from core.density_counts (a backfill).
CREATE OR REPLACE FUNCTION core.refresh_tile_density(cells jsonb) RETURNS void
LANGUAGE sql AS $$
    WITH keys AS (
        SELECT DISTINCT (c->>0)::integer AS cell_m, (c->>1)::integer AS cx, (c->>2)::integer AS cy
        FROM jsonb_array_elements(cells) AS c
    ),
    per_category AS (
        SELECT d.cell_m, d.cx, d.cy, d.category_id, sum(d.n)::integer AS n
        FROM core.density_counts AS d JOIN keys USING (cell_m, cx, cy)
        GROUP BY 1, 2, 3, 4 HAVING sum(d.n) > 0
    ),
    totals AS (
        SELECT cell_m, cx, cy, sum(n)::integer AS n, jsonb_object_agg(category_id, n) AS by_category
        FROM per_category GROUP BY 1, 2, 3
    ),
    gone AS (
        DELETE FROM core.tile_density AS t USING keys AS k
        WHERE (t.cell_m, t.cx, t.cy) = (k.cell_m, k.cx, k.cy)
          AND NOT EXISTS (SELECT FROM totals AS s WHERE (s.cell_m, s.cx, s.cy) = (k.cell_m, k.cx, k.cy))
    )
    INSERT INTO core.tile_density AS t
        (cell_m, cx, cy, n, by_category, public_by_category, public_top, k_applied, centre_3857)
    SELECT s.cell_m, s.cx, s.cy, s.n, s.by_category, pub.counts, core.top_category(pub.counts),
           p.k, c.centre_3857
    FROM totals AS s
    CROSS JOIN core.privacy_policy AS p
    CROSS JOIN LATERAL core.suppressed(s.by_category, p.k) AS pub(counts)
    JOIN core.density_cells AS c ON (c.cell_m, c.cx, c.cy) = (s.cell_m, s.cx, s.cy)
    ORDER BY s.cell_m, s.cx, s.cy
    ON CONFLICT (cell_m, cx, cy) DO UPDATE SET
        n = EXCLUDED.n, by_category = EXCLUDED.by_category,
        public_by_category = EXCLUDED.public_by_category, public_top = EXCLUDED.public_top,
        k_applied = EXCLUDED.k_applied
$$;

CREATE OR REPLACE FUNCTION core.refresh_tile_areas(codes text[]) RETURNS void
LANGUAGE sql AS $$
    WITH keys AS (SELECT DISTINCT unnest(codes) AS area_code),
    per_category AS (
        SELECT a.area_code, a.category_id, sum(a.n)::integer AS n
        FROM core.area_counts AS a JOIN keys USING (area_code)
        GROUP BY 1, 2 HAVING sum(a.n) > 0
    ),
    totals AS (
        SELECT area_code, sum(n)::integer AS n, jsonb_object_agg(category_id, n) AS by_category
        FROM per_category GROUP BY 1
    ),
    gone AS (
        DELETE FROM core.tile_areas AS t USING keys AS k
        WHERE t.area_code = k.area_code
          AND NOT EXISTS (SELECT FROM totals AS s WHERE s.area_code = k.area_code)
    )
    INSERT INTO core.tile_areas AS t (area_code, n, by_category, public_by_category, public_top,
                                      k_applied)
    SELECT s.area_code, s.n, s.by_category, pub.counts, core.top_category(pub.counts), p.k
    FROM totals AS s
    CROSS JOIN core.privacy_policy AS p
    CROSS JOIN LATERAL core.suppressed(s.by_category, p.k) AS pub(counts)
    ON CONFLICT (area_code) DO UPDATE SET
        n = EXCLUDED.n, by_category = EXCLUDED.by_category,
        public_by_category = EXCLUDED.public_by_category, public_top = EXCLUDED.public_top,
        k_applied = EXCLUDED.k_applied
$$;

-- Applies count changes (one element per changed count row, n signed) to the pyramid:
-- a published report changes seven rows here, a bulk rebuild all of them in one pass. Only a
-- removal can empty a cell, so the DELETE runs only for the cells the upsert left at zero.
CREATE OR REPLACE FUNCTION core.add_tile_density(cell_ms integer[], cxs integer[], cys integer[],
                                                 categories text[], deltas integer[]) RETURNS void
LANGUAGE plpgsql AS $$  -- plpgsql, not sql: its plans are kept for the session
DECLARE
    empty_m integer[]; empty_x integer[]; empty_y integer[];
BEGIN
    WITH per_category AS (
        SELECT cell_m, cx, cy, category_id, sum(n)::integer AS n
        FROM unnest(cell_ms, cxs, cys, categories, deltas) AS d(cell_m, cx, cy, category_id, n)
        GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0
    ),
    per_cell AS (
        SELECT cell_m, cx, cy, sum(n)::integer AS n, jsonb_object_agg(category_id, n) AS by_category
        FROM per_category GROUP BY 1, 2, 3
    ),
    changed AS (
        INSERT INTO core.tile_density AS t
            (cell_m, cx, cy, n, by_category, public_by_category, public_top, k_applied, centre_3857)
        SELECT d.cell_m, d.cx, d.cy, d.n, m.by_category, m.public_by_category, m.public_top,
               p.k, core.cell_centre_3857(d.cell_m, d.cx, d.cy)
        FROM per_cell AS d
        CROSS JOIN core.privacy_policy AS p
        CROSS JOIN LATERAL core.merge_counts(d.by_category, '{}'::jsonb, p.k) AS m
        ORDER BY d.cell_m, d.cx, d.cy
        ON CONFLICT (cell_m, cx, cy) DO UPDATE SET
            n = t.n + EXCLUDED.n,
            (by_category, public_by_category, public_top) =
                (SELECT * FROM core.merge_counts(t.by_category, EXCLUDED.by_category,
                                                 EXCLUDED.k_applied)),
            k_applied = EXCLUDED.k_applied
        RETURNING t.cell_m, t.cx, t.cy, t.n
    )
    SELECT array_agg(cell_m), array_agg(cx), array_agg(cy) INTO empty_m, empty_x, empty_y
    FROM changed WHERE n <= 0;
    IF empty_m IS NOT NULL THEN
        DELETE FROM core.tile_density AS t
        USING unnest(empty_m, empty_x, empty_y) AS d(cell_m, cx, cy)
        WHERE (t.cell_m, t.cx, t.cy) = (d.cell_m, d.cx, d.cy) AND t.n <= 0;
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION core.add_tile_areas(codes text[], categories text[], deltas integer[])
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    emptied text[];
BEGIN
    WITH per_category AS (
        SELECT area_code, category_id, sum(n)::integer AS n
        FROM unnest(codes, categories, deltas) AS d(area_code, category_id, n)
        GROUP BY 1, 2 HAVING sum(n) <> 0
    ),
    per_area AS (
        SELECT area_code, sum(n)::integer AS n, jsonb_object_agg(category_id, n) AS by_category
        FROM per_category GROUP BY 1
    ),
    changed AS (
        INSERT INTO core.tile_areas AS t (area_code, n, by_category, public_by_category, public_top,
                                          k_applied)
        SELECT d.area_code, d.n, m.by_category, m.public_by_category, m.public_top, p.k
        FROM per_area AS d
        CROSS JOIN core.privacy_policy AS p
        CROSS JOIN LATERAL core.merge_counts(d.by_category, '{}'::jsonb, p.k) AS m
        ORDER BY d.area_code
        ON CONFLICT (area_code) DO UPDATE SET
            n = t.n + EXCLUDED.n,
            (by_category, public_by_category, public_top) =
                (SELECT * FROM core.merge_counts(t.by_category, EXCLUDED.by_category,
                                                 EXCLUDED.k_applied)),
            k_applied = EXCLUDED.k_applied
        RETURNING t.area_code, t.n
    )
    SELECT array_agg(area_code) INTO emptied FROM changed WHERE n <= 0;
    IF emptied IS NOT NULL THEN
        DELETE FROM core.tile_areas AS t WHERE t.area_code = ANY(emptied) AND t.n <= 0;
    END IF;
END
$$;

-- Statement triggers (transition tables): the changed counts, as signed deltas.
CREATE OR REPLACE FUNCTION core.density_counts_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    m integer[]; x integer[]; y integer[]; c text[]; deltas integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(cell_m), array_agg(cx), array_agg(cy), array_agg(category_id), array_agg(d.n)
        INTO m, x, y, c, deltas FROM new_rows AS d;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(cell_m), array_agg(cx), array_agg(cy), array_agg(category_id), array_agg(d.n)
        INTO m, x, y, c, deltas
        FROM (SELECT r.cell_m, r.cx, r.cy, r.category_id, r.n FROM new_rows AS r
              UNION ALL SELECT o.cell_m, o.cx, o.cy, o.category_id, -o.n FROM old_rows AS o) AS d;
    ELSIF NOT EXISTS (SELECT FROM core.density_counts) THEN
        DELETE FROM core.tile_density;   -- the bulk rebuild empties the counts first
        RETURN NULL;
    ELSE
        SELECT array_agg(cell_m), array_agg(cx), array_agg(cy), array_agg(category_id), array_agg(-d.n)
        INTO m, x, y, c, deltas FROM old_rows AS d;
    END IF;
    IF m IS NOT NULL THEN
        PERFORM core.add_tile_density(m, x, y, c, deltas);
    END IF;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER tile_density_inserted AFTER INSERT ON core.density_counts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.density_counts_changed();
CREATE OR REPLACE TRIGGER tile_density_updated AFTER UPDATE ON core.density_counts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.density_counts_changed();
CREATE OR REPLACE TRIGGER tile_density_deleted AFTER DELETE ON core.density_counts
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.density_counts_changed();

CREATE OR REPLACE FUNCTION core.area_counts_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    a text[]; c text[]; deltas integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(area_code), array_agg(category_id), array_agg(d.n) INTO a, c, deltas
        FROM new_rows AS d;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(area_code), array_agg(category_id), array_agg(d.n) INTO a, c, deltas
        FROM (SELECT r.area_code, r.category_id, r.n FROM new_rows AS r
              UNION ALL SELECT o.area_code, o.category_id, -o.n FROM old_rows AS o) AS d;
    ELSIF NOT EXISTS (SELECT FROM core.area_counts) THEN
        DELETE FROM core.tile_areas;
        RETURN NULL;
    ELSE
        SELECT array_agg(area_code), array_agg(category_id), array_agg(-d.n) INTO a, c, deltas
        FROM old_rows AS d;
    END IF;
    IF a IS NOT NULL THEN
        PERFORM core.add_tile_areas(a, c, deltas);
    END IF;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER tile_areas_inserted AFTER INSERT ON core.area_counts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.area_counts_changed();
CREATE OR REPLACE TRIGGER tile_areas_updated AFTER UPDATE ON core.area_counts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.area_counts_changed();
CREATE OR REPLACE TRIGGER tile_areas_deleted AFTER DELETE ON core.area_counts
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.area_counts_changed();

-- ---------------------------------------------------------------------------------------
-- What the public role reads: counts below k never appear (recomputed under the current k
-- should it differ from the one the row was stored with).
CREATE OR REPLACE VIEW open.tile_density AS
    SELECT t.cell_m, t.cx, t.cy, t.n AS count,
           CASE WHEN t.k_applied = p.k THEN t.public_by_category
                ELSE core.suppressed(t.by_category, p.k) END AS categories,
           CASE WHEN t.k_applied = p.k THEN t.public_top
                ELSE core.top_category(core.suppressed(t.by_category, p.k)) END AS top_category,
           t.centre_3857
    FROM core.tile_density AS t CROSS JOIN core.privacy_policy AS p
    WHERE t.n >= p.k;
GRANT SELECT ON open.tile_density TO threatmap_public;

CREATE OR REPLACE VIEW open.tile_areas AS
    SELECT a.code AS area_code, a.level, a.name AS area_name, t.n AS count,
           CASE WHEN t.k_applied = p.k THEN t.public_by_category
                ELSE core.suppressed(t.by_category, p.k) END AS categories,
           CASE WHEN t.k_applied = p.k THEN t.public_top
                ELSE core.top_category(core.suppressed(t.by_category, p.k)) END AS top_category,
           a.geom_3857
    FROM core.tile_areas AS t
    JOIN core.areas AS a ON a.code = t.area_code
    CROSS JOIN core.privacy_policy AS p
    WHERE t.n >= p.k;
GRANT SELECT ON open.tile_areas TO threatmap_public;

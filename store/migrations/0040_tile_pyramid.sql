-- What the tile endpoint reads below the switch zoom: the density pyramid and area totals,
-- one row per cell (per area) with its total and its counts per category, kept in step with
-- core.density_counts / core.area_counts by statement triggers (transition tables, applied
-- as deltas, so a published report costs a few row updates here), so that
-- a tile reads a few hundred precomputed rows instead of aggregating the counts per request.
--
-- The tables are private (unsuppressed counts, like the counts they derive from); the public
-- role reads them through open.tile_density / open.tile_areas, which suppress counts below k.
-- The per-category counts are stored suppressed under the k they were computed with
-- (k_applied); should k change without a rebuild, the views recompute them.
SET LOCAL ROLE threatmap_app;

-- One partition per density level, so a tile query prunes to one level and its GiST index.
CREATE TABLE core.tile_density (
    cell_m          integer NOT NULL,
    cx              integer NOT NULL,
    cy              integer NOT NULL,
    n               integer NOT NULL,
    by_category     jsonb NOT NULL,          -- unsuppressed {category: n}
    public_by_category jsonb NOT NULL,       -- {category: n} with n >= k_applied only
    public_top      text,                    -- the most frequent category of those
    k_applied       integer NOT NULL,
    centre_3857     geometry(Point, 3857) NOT NULL,
    PRIMARY KEY (cell_m, cx, cy)
) PARTITION BY LIST (cell_m);
CREATE INDEX tile_density_centre ON core.tile_density USING gist (centre_3857);
DO $$
DECLARE
    level_m integer;
BEGIN
    FOREACH level_m IN ARRAY ARRAY[1000, 2000, 4000, 8000, 16000, 32000, 64000] LOOP
        EXECUTE format('CREATE TABLE core.tile_density_%s PARTITION OF core.tile_density '
                       'FOR VALUES IN (%s)', level_m, level_m);
    END LOOP;
END
$$;
CREATE TABLE core.tile_density_other PARTITION OF core.tile_density DEFAULT;

CREATE TABLE core.tile_areas (
    area_code           text PRIMARY KEY REFERENCES core.areas ON DELETE CASCADE,
    n                   integer NOT NULL,
    by_category         jsonb NOT NULL,
    public_by_category  jsonb NOT NULL,
    public_top          text,
    k_applied           integer NOT NULL
);

CREATE FUNCTION core.suppressed(counts jsonb, k integer) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$  -- plpgsql: plans kept per session
BEGIN
    RETURN (
        SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb)
        FROM jsonb_each(counts) WHERE value::integer >= k
    );
END
$$;

CREATE FUNCTION core.top_category(counts jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$  -- plpgsql: plans kept per session
BEGIN
    RETURN (
        SELECT key FROM jsonb_each(counts) ORDER BY value::integer DESC, key LIMIT 1
    );
END
$$;

-- Recomputes the pyramid rows of the given cells from core.density_counts (the backfill).
CREATE FUNCTION core.refresh_tile_density(cells jsonb) RETURNS void
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

CREATE FUNCTION core.refresh_tile_areas(codes text[]) RETURNS void
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

-- The centre of a density cell (as core.density_cells.centre_3857, which the bulk rebuild
-- writes only after the counts).
CREATE FUNCTION core.cell_centre_3857(cell_m integer, cx integer, cy integer) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ST_Transform(ST_SetSRID(ST_MakePoint((cx + 0.5) * cell_m, (cy + 0.5) * cell_m), 2180), 3857)
$$;

-- Sums two {category: n} objects, dropping categories that reach zero.
CREATE FUNCTION core.jsonb_add(a jsonb, b jsonb) RETURNS jsonb
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

-- Applies count changes (one element per changed count row, n signed) to the pyramid:
-- a published report changes seven rows here, a bulk rebuild all of them in one pass.
CREATE FUNCTION core.add_tile_density(cell_ms integer[], cxs integer[], cys integer[],
                                      categories text[], deltas integer[]) RETURNS void
LANGUAGE plpgsql AS $$  -- plpgsql, not sql: its plans are kept for the session
BEGIN
    WITH per_category AS (
        SELECT cell_m, cx, cy, category_id, sum(n)::integer AS n
        FROM unnest(cell_ms, cxs, cys, categories, deltas) AS d(cell_m, cx, cy, category_id, n)
        GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0
    ),
    per_cell AS (
        SELECT cell_m, cx, cy, sum(n)::integer AS n, jsonb_object_agg(category_id, n) AS by_category
        FROM per_category GROUP BY 1, 2, 3
    )
    INSERT INTO core.tile_density AS t
        (cell_m, cx, cy, n, by_category, public_by_category, public_top, k_applied, centre_3857)
    SELECT d.cell_m, d.cx, d.cy, d.n, d.by_category, pub.counts, core.top_category(pub.counts),
           p.k, core.cell_centre_3857(d.cell_m, d.cx, d.cy)
    FROM per_cell AS d
    CROSS JOIN core.privacy_policy AS p
    CROSS JOIN LATERAL core.suppressed(d.by_category, p.k) AS pub(counts)
    ORDER BY d.cell_m, d.cx, d.cy
    ON CONFLICT (cell_m, cx, cy) DO UPDATE SET
        n = t.n + EXCLUDED.n,
        by_category = core.jsonb_add(t.by_category, EXCLUDED.by_category),
        public_by_category = core.suppressed(core.jsonb_add(t.by_category, EXCLUDED.by_category),
                                             EXCLUDED.k_applied),
        public_top = core.top_category(core.suppressed(
            core.jsonb_add(t.by_category, EXCLUDED.by_category), EXCLUDED.k_applied)),
        k_applied = EXCLUDED.k_applied;
    DELETE FROM core.tile_density AS t
    USING unnest(cell_ms, cxs, cys) AS d(cell_m, cx, cy)
    WHERE (t.cell_m, t.cx, t.cy) = (d.cell_m, d.cx, d.cy) AND t.n <= 0;
END
$$;

CREATE FUNCTION core.add_tile_areas(codes text[], categories text[], deltas integer[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    WITH per_category AS (
        SELECT area_code, category_id, sum(n)::integer AS n
        FROM unnest(codes, categories, deltas) AS d(area_code, category_id, n)
        GROUP BY 1, 2 HAVING sum(n) <> 0
    ),
    per_area AS (
        SELECT area_code, sum(n)::integer AS n, jsonb_object_agg(category_id, n) AS by_category
        FROM per_category GROUP BY 1
    )
    INSERT INTO core.tile_areas AS t (area_code, n, by_category, public_by_category, public_top,
                                      k_applied)
    SELECT d.area_code, d.n, d.by_category, pub.counts, core.top_category(pub.counts), p.k
    FROM per_area AS d
    CROSS JOIN core.privacy_policy AS p
    CROSS JOIN LATERAL core.suppressed(d.by_category, p.k) AS pub(counts)
    ON CONFLICT (area_code) DO UPDATE SET
        n = t.n + EXCLUDED.n,
        by_category = core.jsonb_add(t.by_category, EXCLUDED.by_category),
        public_by_category = core.suppressed(core.jsonb_add(t.by_category, EXCLUDED.by_category),
                                             EXCLUDED.k_applied),
        public_top = core.top_category(core.suppressed(
            core.jsonb_add(t.by_category, EXCLUDED.by_category), EXCLUDED.k_applied)),
        k_applied = EXCLUDED.k_applied;
    DELETE FROM core.tile_areas AS t WHERE t.area_code = ANY(codes) AND t.n <= 0;
END
$$;

-- Statement triggers (transition tables): the changed counts, as signed deltas.
CREATE FUNCTION core.density_counts_changed() RETURNS trigger
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
CREATE TRIGGER tile_density_inserted AFTER INSERT ON core.density_counts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.density_counts_changed();
CREATE TRIGGER tile_density_updated AFTER UPDATE ON core.density_counts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.density_counts_changed();
CREATE TRIGGER tile_density_deleted AFTER DELETE ON core.density_counts
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.density_counts_changed();

CREATE FUNCTION core.area_counts_changed() RETURNS trigger
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
CREATE TRIGGER tile_areas_inserted AFTER INSERT ON core.area_counts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.area_counts_changed();
CREATE TRIGGER tile_areas_updated AFTER UPDATE ON core.area_counts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.area_counts_changed();
CREATE TRIGGER tile_areas_deleted AFTER DELETE ON core.area_counts
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.area_counts_changed();

-- A policy change (k) changes what tiles show: caches keyed on the data version must drop.
CREATE TRIGGER privacy_policy_changed AFTER UPDATE ON core.privacy_policy
    FOR EACH STATEMENT EXECUTE FUNCTION core.bump_data_version();

-- Backfill from the counts already there.
SELECT core.refresh_tile_density(
    (SELECT coalesce(jsonb_agg(jsonb_build_array(cell_m, cx, cy)), '[]'::jsonb)
     FROM (SELECT DISTINCT cell_m, cx, cy FROM core.density_counts) AS c));
SELECT core.refresh_tile_areas((SELECT array_agg(DISTINCT area_code) FROM core.area_counts));
ANALYZE core.tile_density;
ANALYZE core.tile_areas;
-- One row, never analysed by autovacuum: unanalysed it is planned as 590 rows, which
-- inflates every plan that joins it (and tips tile queries into JIT compilation).
ANALYZE core.privacy_policy;

-- ---------------------------------------------------------------------------------------
-- What the public role reads.
CREATE VIEW open.tile_density AS
    SELECT t.cell_m, t.cx, t.cy, t.n AS count,
           CASE WHEN t.k_applied = p.k THEN t.public_by_category
                ELSE core.suppressed(t.by_category, p.k) END AS categories,
           CASE WHEN t.k_applied = p.k THEN t.public_top
                ELSE core.top_category(core.suppressed(t.by_category, p.k)) END AS top_category,
           t.centre_3857
    FROM core.tile_density AS t CROSS JOIN core.privacy_policy AS p
    WHERE t.n >= p.k;

CREATE VIEW open.tile_areas AS
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

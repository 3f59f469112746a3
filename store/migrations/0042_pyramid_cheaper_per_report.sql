-- The pyramid's share of a published report, made smaller (profiled with auto_explain
-- log_nested_statements and EXPLAIN ANALYZE on 100,000 reports; figures in bench/RESULTS.md):
-- - a changed cell's counts were merged three times over (core.jsonb_add, then core.suppressed
--   of it, then core.top_category of that), six plpgsql calls per row; core.merge_counts does
--   the merge, the suppression and the top category in one query;
-- - the DELETE of emptied cells ran after every change, though only a removal can empty a
--   cell; now it runs only for the cells the upsert left at zero.
SET LOCAL ROLE threatmap_app;

-- a + b per category (zeros dropped), the same with counts below k removed, and the most
-- frequent category of those: what core.jsonb_add, core.suppressed and core.top_category give.
CREATE FUNCTION core.merge_counts(a jsonb, b jsonb, k integer,
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

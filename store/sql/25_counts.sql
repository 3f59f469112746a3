-- The aggregates of the public layer: unsuppressed counts per density cell (every level of the
-- policy), category, status and month, and per area. Private (core); the open views publish
-- them with counts below k removed (store/sql/60_open_views.sql, 50_tile_pyramid.sql).
SET LOCAL ROLE threatmap_app;

-- Adds (delta = 1) or removes (delta = -1) one public report from the aggregates, with the
-- cells' totals. One statement per table for every density level, not one per level: fewer
-- statements in the writer's transaction, and statement-level triggers on the counts (the
-- tile pyramid keeps its rows that way) fire once per report instead of once per level.
-- Rows are touched in level order, so concurrent writers lock them in the same order.
CREATE OR REPLACE FUNCTION core.count_public_report(p open.reports, in_month date, delta integer)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    levels  integer[];
    xs      integer[];
    ys      integer[];
BEGIN
    SELECT array_agg(level_m ORDER BY level_m), array_agg(i[1] ORDER BY level_m),
           array_agg(i[2] ORDER BY level_m)
    INTO levels, xs, ys
    FROM unnest((SELECT density_cell_m FROM core.privacy_policy)) AS level_m
    CROSS JOIN LATERAL core.cell_index(p.geom, level_m) AS i;

    IF delta > 0 THEN
        INSERT INTO core.density_cells (cell_m, cx, cy, geom, geom_3857, centre_3857)
        SELECT c.cell_m, c.cx, c.cy, poly, ST_Transform(poly, 3857),
               ST_Transform(ST_Centroid(ST_Transform(poly, 2180)), 3857)
        FROM unnest(levels, xs, ys) AS c (cell_m, cx, cy)
        CROSS JOIN LATERAL core.cell_polygon(c.cell_m, c.cx, c.cy) AS poly
        WHERE NOT EXISTS (SELECT FROM core.density_cells AS e
                          WHERE (e.cell_m, e.cx, e.cy) = (c.cell_m, c.cx, c.cy))
        ORDER BY c.cell_m
        ON CONFLICT DO NOTHING;
    END IF;
    UPDATE core.density_cells AS e SET n = e.n + delta
    FROM unnest(levels, xs, ys) AS c (cell_m, cx, cy)
    WHERE (e.cell_m, e.cx, e.cy) = (c.cell_m, c.cx, c.cy);
    INSERT INTO core.density_counts AS d (cell_m, cx, cy, category_id, status, month, n)
    SELECT c.cell_m, c.cx, c.cy, p.category_id, p.status, in_month, greatest(delta, 0)
    FROM unnest(levels, xs, ys) AS c (cell_m, cx, cy)
    ORDER BY c.cell_m
    ON CONFLICT ON CONSTRAINT density_counts_pkey DO UPDATE SET n = d.n + delta;

    INSERT INTO core.area_counts AS a (area_code, category_id, status, month, n)
    SELECT code, p.category_id, p.status, in_month, greatest(delta, 0)
    FROM unnest(ARRAY[p.county_code, p.voivodeship_code]) AS code
    WHERE code IS NOT NULL
    ON CONFLICT ON CONSTRAINT area_counts_pkey DO UPDATE SET n = a.n + delta;
END
$$;

-- Recomputes every density cell's total from the counts (after a bulk rebuild).
CREATE OR REPLACE FUNCTION core.recount_density_cells() RETURNS void
LANGUAGE sql AS $$
    UPDATE core.density_cells SET n = 0 WHERE n <> 0;
    UPDATE core.density_cells AS c SET n = t.n
    FROM (SELECT cell_m, cx, cy, sum(n)::integer AS n FROM core.density_counts
          GROUP BY cell_m, cx, cy) AS t
    WHERE (c.cell_m, c.cx, c.cy) = (t.cell_m, t.cx, t.cy) AND t.n <> 0;
$$;

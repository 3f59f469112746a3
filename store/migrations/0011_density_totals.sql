-- Found measuring 0003 on 1,000,000 reports: open.report_density_totals summed every count of
-- a level before filtering by place (GROUP BY over ~800,000 rows at 4 km: 4.8 s for one
-- bounding box, near the public role's 5 s timeout). Each density cell now carries its
-- unsuppressed total, kept by the same trigger path, so the view is an indexed read.
SET LOCAL ROLE threatmap_app;

ALTER TABLE core.density_cells ADD COLUMN n integer NOT NULL DEFAULT 0 CHECK (n >= 0);

CREATE FUNCTION core.recount_density_cells() RETURNS void
LANGUAGE sql AS $$
    UPDATE core.density_cells SET n = 0 WHERE n <> 0;
    UPDATE core.density_cells AS c SET n = t.n
    FROM (SELECT cell_m, cx, cy, sum(n)::integer AS n FROM core.density_counts
          GROUP BY cell_m, cx, cy) AS t
    WHERE (c.cell_m, c.cx, c.cy) = (t.cell_m, t.cx, t.cy) AND t.n <> 0;
$$;
SELECT core.recount_density_cells();

-- As in 0003, plus the cell's total.
CREATE OR REPLACE FUNCTION core.count_public_report(p open.reports, in_month date, delta integer)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    level_m integer;
    idx     integer[];
BEGIN
    FOREACH level_m IN ARRAY (SELECT density_cell_m FROM core.privacy_policy) LOOP
        idx := core.cell_index(p.geom, level_m);
        IF delta > 0 THEN
            INSERT INTO core.density_cells (cell_m, cx, cy, geom, geom_3857, centre_3857)
            SELECT level_m, idx[1], idx[2], poly, ST_Transform(poly, 3857),
                   ST_Transform(ST_Centroid(ST_Transform(poly, 2180)), 3857)
            FROM core.cell_polygon(level_m, idx[1], idx[2]) AS poly
            ON CONFLICT DO NOTHING;
        END IF;
        UPDATE core.density_cells SET n = n + delta
        WHERE cell_m = level_m AND cx = idx[1] AND cy = idx[2];
        INSERT INTO core.density_counts AS d (cell_m, cx, cy, category_id, status, month, n)
        VALUES (level_m, idx[1], idx[2], p.category_id, p.status, in_month, greatest(delta, 0))
        ON CONFLICT ON CONSTRAINT density_counts_pkey DO UPDATE SET n = d.n + delta;
    END LOOP;
    INSERT INTO core.area_counts AS a (area_code, category_id, status, month, n)
    SELECT code, p.category_id, p.status, in_month, greatest(delta, 0)
    FROM unnest(ARRAY[p.county_code, p.voivodeship_code]) AS code
    WHERE code IS NOT NULL
    ON CONFLICT ON CONSTRAINT area_counts_pkey DO UPDATE SET n = a.n + delta;
END
$$;

-- As in 0005 (one projection per report), plus the cells' totals.
CREATE OR REPLACE FUNCTION core.rebuild_public_layer() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    published bigint;
BEGIN
    UPDATE core.reports AS r
    SET county_code = a.code
    FROM core.areas AS a
    WHERE r.county_code IS NULL AND a.level = 'county' AND ST_Intersects(a.geom, r.geom);

    DELETE FROM open.reports;
    INSERT INTO open.reports
    SELECT p.*
    FROM core.reports AS r
    CROSS JOIN LATERAL core.public_report(r) AS p
    WHERE core.is_public(r);
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
    RETURN published;
END
$$;

CREATE OR REPLACE VIEW open.report_density_totals AS
    SELECT c.cell_m, c.cx, c.cy, c.n AS count, c.geom, c.geom_3857, c.centre_3857
    FROM core.density_cells AS c
    WHERE c.n >= (SELECT k FROM core.privacy_policy);

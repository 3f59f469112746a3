-- The public projection as one view, used both by the per-row trigger and by the set-based
-- rebuild, so the anonymization is written once. The old contribution of a changed report is
-- read back from open.reports (exactly what was counted), so the aggregates stay exact even
-- across a policy change.
SET LOCAL ROLE threatmap_app;

CREATE VIEW core.public_projection AS
SELECT r.id, r.category_id, r.status,
       CASE WHEN c.sensitive THEN date_trunc('month', local.at)::date ELSE local.at::date END
           AS occurred_on,
       CASE WHEN c.sensitive THEN 'month' ELSE 'day' END AS date_precision,
       cell.m AS cell_m,
       coalesce(centre_county.parent_code, own_county.parent_code) AS voivodeship_code,
       coalesce(centre_county.code, own_county.code) AS county_code,
       u.id AS police_unit_id,
       cell.geom,
       ST_Transform(cell.geom, 3857) AS geom_3857
FROM core.reports AS r
JOIN core.categories AS c ON c.id = r.category_id
CROSS JOIN core.privacy_policy AS p
CROSS JOIN LATERAL (SELECT r.occurred_at AT TIME ZONE p.timezone AS at) AS local
CROSS JOIN LATERAL (
    SELECT m, core.cell_centre(r.geom, m) AS geom
    FROM (SELECT CASE WHEN c.sensitive THEN p.sensitive_cell_m ELSE p.cell_m END AS m) AS size
) AS cell
-- Areas of the public point, so that they tell nothing the point does not; at a border where
-- the cell centre falls outside every county, the report's own county is used.
LEFT JOIN LATERAL (
    SELECT a.code, a.parent_code FROM core.areas AS a
    WHERE a.level = 'county' AND ST_Intersects(a.geom, cell.geom)
    ORDER BY a.code LIMIT 1
) AS centre_county ON true
LEFT JOIN core.areas AS own_county ON own_county.code = r.county_code
LEFT JOIN core.police_units AS u ON u.id = r.police_unit_id
WHERE core.is_public(r);

DROP FUNCTION core.public_report(core.reports);

CREATE OR REPLACE FUNCTION core.count_public_report(p open.reports, delta integer)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    level_m   integer;
    idx       integer[];
    in_month  date := date_trunc('month', p.occurred_on)::date;
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
DROP FUNCTION core.count_public_report(open.reports, date, integer);

CREATE OR REPLACE FUNCTION core.sync_public_report() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_public  open.reports;
    new_public  open.reports;
BEGIN
    IF current_setting('threatmap.bulk', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT * INTO old_public FROM open.reports WHERE id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT * INTO new_public FROM core.public_projection WHERE id = NEW.id;
    END IF;
    IF old_public IS NOT DISTINCT FROM new_public THEN
        RETURN NULL;
    END IF;
    IF old_public.id IS NOT NULL THEN
        PERFORM core.count_public_report(old_public, -1);
    END IF;
    IF new_public.id IS NOT NULL THEN
        PERFORM core.count_public_report(new_public, 1);
        INSERT INTO open.reports SELECT new_public.*
        ON CONFLICT (id) DO UPDATE SET
            category_id = EXCLUDED.category_id, status = EXCLUDED.status,
            occurred_on = EXCLUDED.occurred_on, date_precision = EXCLUDED.date_precision,
            cell_m = EXCLUDED.cell_m, voivodeship_code = EXCLUDED.voivodeship_code,
            county_code = EXCLUDED.county_code, police_unit_id = EXCLUDED.police_unit_id,
            geom = EXCLUDED.geom, geom_3857 = EXCLUDED.geom_3857;
    ELSE
        DELETE FROM open.reports WHERE id = OLD.id;
    END IF;
    RETURN NULL;
END
$$;

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
    INSERT INTO open.reports SELECT * FROM core.public_projection;
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
    RETURN published;
END
$$;

DROP FUNCTION core.report_month(core.reports);

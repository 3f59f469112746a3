-- The public place of every report, kept (issue 16, point 4: the work list inside the suite).
-- The work list shows a report not yet public as the public layer would show it
-- (core.public_report), and computing that per row cost ~1.1 ms, nearly all of it finding the
-- county of the public point by ST_Intersects on the county polygons: 30-50 ms of the newest
-- pages, where about 30 % of the reports are not public yet. The place (grid size, cell centre,
-- county and voivodeship of that centre) depends only on the exact point, the category's
-- sensitivity, the policy's grid and the county polygons, so it is computed when a report is
-- written or moved, or its category changes (store/sql/18_report_places.sql keeps it), and
-- core.public_report reads the rest (day, status, police unit) from the report itself.
--
-- Privacy: a core table (the application role only, like core.reports); the place is what
-- open.reports shows of a public report, and of a report not yet public it tells what only the
-- staff see. Nothing on open.
SET LOCAL ROLE threatmap_app;

CREATE TABLE core.report_places (
    report_id        uuid PRIMARY KEY REFERENCES core.reports (id) ON DELETE CASCADE,
    cell_m           integer NOT NULL,             -- the grid of the report's category
    geom             geometry(Point, 4326) NOT NULL, -- the centre of its cell: the public point
    county_code      text,                         -- of the public point (core.public_county)
    voivodeship_code text
);

-- Existing reports, set-based: each report's cell (as core.cell_index), then each distinct cell
-- centre (as core.cell_centre) once, its county as core.public_county finds it (the lowest code
-- among the counties touching it, else the nearest). Written out here because a migration may
-- not call store/sql (tests/test_report_places.py runs this statement against the functions).
INSERT INTO core.report_places (report_id, cell_m, geom, county_code, voivodeship_code)
WITH cells AS MATERIALIZED (
    SELECT r.id, g.cell_m,
           ARRAY[floor(ST_X(g.p) / g.cell_m)::integer, floor(ST_Y(g.p) / g.cell_m)::integer] AS i
    FROM core.reports AS r
    CROSS JOIN core.privacy_policy AS pol
    LEFT JOIN core.categories AS c ON c.id = r.category_id
    CROSS JOIN LATERAL (SELECT CASE WHEN coalesce(c.sensitive, false) THEN pol.sensitive_cell_m
                                    ELSE pol.cell_m END AS cell_m,
                               ST_Transform(r.geom, 2180) AS p) AS g
), centres AS (
    SELECT d.cell_m, d.i, x.centre, coalesce(k.code, n.code) AS county_code,
           CASE WHEN k.code IS NOT NULL THEN k.parent_code ELSE n.parent_code END AS voivodeship_code
    FROM (SELECT DISTINCT cell_m, i FROM cells) AS d
    CROSS JOIN LATERAL (SELECT ST_Transform(ST_SetSRID(ST_MakePoint((d.i[1] + 0.5) * d.cell_m,
                                                                   (d.i[2] + 0.5) * d.cell_m),
                                                       2180), 4326) AS centre) AS x
    LEFT JOIN LATERAL (SELECT a.code, a.parent_code FROM core.areas AS a
                       WHERE a.level = 'county' AND ST_Intersects(a.geom, x.centre)
                       ORDER BY a.code LIMIT 1) AS k ON true
    LEFT JOIN LATERAL (SELECT a.code, a.parent_code FROM core.areas AS a
                       WHERE k.code IS NULL AND a.level = 'county'
                       ORDER BY a.geom <-> x.centre, a.code LIMIT 1) AS n ON true
)
SELECT c.id, c.cell_m, x.centre, x.county_code, x.voivodeship_code
FROM cells AS c JOIN centres AS x USING (cell_m, i);

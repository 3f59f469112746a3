-- Counts kept per public cell (issue 16, points 4 and 5): every public point is the centre of
-- its lattice cell (250 m, 1000 m for sensitive categories), so a bbox selects whole cells and a
-- map tile never needs more features than cells. One row per public point (and per county and
-- voivodeship and date precision, which are functions of that point: kept in the key so that a
-- count stays exact even if they ever differed within a cell) with the number of public reports
-- there and their (category, status, day) groups, enough to answer every public filter exactly.
-- Kept in the writer's transaction by statement triggers on open.reports and rebuilt set-based
-- (store/sql/27_cell_counts.sql); read by the public through open.report_cells, which hides
-- emptied cells (a row whose reports all left the layer tells that one was once there).
SET LOCAL ROLE threatmap_app;

CREATE TABLE core.report_cells (
    geom             geometry(Point, 4326) NOT NULL,   -- the public point (open.reports.geom)
    geom_3857        geometry(Point, 3857) NOT NULL,
    date_precision   text NOT NULL,
    county_code      text,
    voivodeship_code text,
    n                integer NOT NULL,                 -- public reports at this point
    -- the distinct (category, status, day) of those reports with their counts, as parallel
    -- arrays ordered by category, status, day
    categories       text[] NOT NULL,
    statuses         text[] NOT NULL,
    days             date[] NOT NULL,
    counts           integer[] NOT NULL,
    -- what an unfiltered tile shows: the most frequent (category, status), the newest day
    top_category     text,
    top_status       text,
    last_day         date
);
CREATE UNIQUE INDEX report_cells_key ON core.report_cells
    (geom, date_precision, county_code, voivodeship_code) NULLS NOT DISTINCT;
-- n included: a count over a bbox is an index-only scan (once vacuumed)
CREATE INDEX report_cells_geom ON core.report_cells USING gist (geom) INCLUDE (n);
CREATE INDEX report_cells_county ON core.report_cells (county_code);
CREATE INDEX report_cells_voivodeship ON core.report_cells (voivodeship_code);
CREATE INDEX report_cells_geom_3857 ON core.report_cells USING gist (geom_3857);

-- The first fill, from the public layer as it is (the same aggregate as core.report_cell_rows
-- in store/sql/27_cell_counts.sql, which does not exist yet when this runs).
INSERT INTO core.report_cells
SELECT c.geom, ST_Transform(c.geom, 3857), c.date_precision, c.county_code, c.voivodeship_code,
       c.n, c.categories, c.statuses, c.days, c.counts, top.category_id, top.status, c.last_day
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
ANALYZE core.report_cells;

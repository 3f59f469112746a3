-- Counts kept per coarse square and month (issue 16, point 4): the number of public reports of
-- each square of 1, 4, 16 and 64 km of the EPSG:2180 lattice (as core.report_squares, 0021) in
-- each month, with the month's (category, status, day) groups (in the 16 and 64 km squares the
-- (category, status) groups and the day groups apart: a row of tens of groups, not of their
-- product, which each write's merge re-aggregates). A count over a bbox WITH a date
-- range (store/report_squares.py) walks the squares as without one, and takes a square the bbox
-- holds from its month rows: n for the whole months inside the range, the day groups for the
-- (at most two) months the range's ends cut; only the cells along the bbox's edges are read
-- (0016). Before, any bbox with a date filter summed every cell of the bbox (124 ms for a
-- Masovia-sized one at 1,000,000 reports, against a 2.6 ms page).
-- Kept in the writer's transaction by the totals' statement triggers on open.reports (the same
-- deltas as the squares', store/sql/28_report_totals.sql calls core.add_to_report_square_months)
-- and rebuilt set-based with the squares (store/sql/29_report_squares.sql).
--
-- Privacy: a count per square of 1 km or more, month, and (category, status, day) is coarser
-- than the counts per public point and (category, status, day) that open.report_cells already
-- shows (and than open.reports' rows, one a report with its public point and day): a square's
-- month row is a sum of cells' groups, so it tells nothing the public layer does not. Emptied
-- rows (n = 0) stay until the next rebuild, hidden by the public view
-- (open.report_square_months) as the cells', totals' and squares' are: a zero row would tell
-- that a report was there.
SET LOCAL ROLE threatmap_app;

CREATE TABLE core.report_square_months (
    size_m      integer NOT NULL,         -- the square, as core.report_squares' key
    sx          integer NOT NULL,
    sy          integer NOT NULL,
    month       date NOT NULL,            -- the first day of the month of the reports' public day
    n           integer NOT NULL,         -- its public reports of that month
    -- by (category, status, day), ordered so: parallel arrays, as core.report_cells' groups
    categories  text[] NOT NULL,
    statuses    text[] NOT NULL,
    days        date[] NOT NULL,
    counts      integer[] NOT NULL,
    PRIMARY KEY (size_m, sx, sy, month)
) WITH (fillfactor = 80);  -- room on each page: a new count of a row stays on its page (HOT)

-- The first fill, from the public layer as it is (the same as core.report_square_month_rows in
-- store/sql/29_report_squares.sql, which does not exist yet), in key order: a square's months
-- sit on one or two pages.
INSERT INTO core.report_square_months (size_m, sx, sy, month, n, categories, statuses, days,
                                       counts)
SELECT size_m, sx, sy, month, coalesce(sum(k) FILTER (WHERE category_id IS NOT NULL), 0)::integer,
       array_agg(category_id ORDER BY category_id, status, occurred_on),
       array_agg(status ORDER BY category_id, status, occurred_on),
       array_agg(occurred_on ORDER BY category_id, status, occurred_on),
       array_agg(k ORDER BY category_id, status, occurred_on)
FROM (SELECT z.size_m, floor(ST_X(p.g) / z.size_m)::integer AS sx,
             floor(ST_Y(p.g) / z.size_m)::integer AS sy,
             date_trunc('month', p.occurred_on)::date AS month, x.category_id, x.status,
             x.occurred_on, sum(p.k)::integer AS k
      FROM (SELECT ST_Transform(geom, 2180) AS g, category_id, status, occurred_on,
                   count(*) AS k
            FROM open.reports GROUP BY geom, category_id, status, occurred_on) AS p
      CROSS JOIN unnest(ARRAY[1000, 4000, 16000, 64000]) AS z (size_m)
      -- the 1 and 4 km squares by (category, status, day); the 16 and 64 km ones by (category,
      -- status) and by day apart (core.report_square_month_keys in 29_report_squares.sql)
      CROSS JOIN LATERAL (SELECT p.category_id, p.status, p.occurred_on WHERE z.size_m < 16000
                          UNION ALL
                          SELECT p.category_id, p.status, NULL WHERE z.size_m >= 16000
                          UNION ALL
                          SELECT NULL, NULL, p.occurred_on WHERE z.size_m >= 16000)
           AS x (category_id, status, occurred_on)
      GROUP BY 1, 2, 3, 4, 5, 6, 7) AS groups
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4;
ANALYZE core.report_square_months;

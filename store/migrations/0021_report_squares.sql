-- Counts kept per coarse square of the EPSG:2180 lattice (issue 16, point 4): the number of
-- public reports of each square of 1, 4, 16 and 64 km, and by category and status, with a
-- conservative lon/lat extent of the square. A count over a big bbox (store/report_squares.py)
-- adds the squares the bbox holds, skips the ones it misses and splits only the ones its edges
-- cross, down to the cells of core.report_cells (0016) along the edges: its cost grows with the
-- bbox's perimeter, not its area (a Masovia-sized bbox summed 100,000+ cells).
-- Every public point is the centre of a cell of 250 m (1,000 m for sensitive categories) of the
-- same lattice, so it lies strictly inside exactly one square of each size (at least 125 m from
-- every square edge): floor(x / size), floor(y / size) is its square, never ambiguous.
-- Kept in the writer's transaction by the totals' statement triggers on open.reports (deltas,
-- store/sql/28_report_totals.sql calls core.add_to_report_squares) and rebuilt set-based with
-- the cells and totals (store/sql/29_report_squares.sql).
--
-- Privacy: a count per square of 1 km or more, category and status is coarser than the counts
-- per public point open.report_cells already shows (and than open.reports' rows): it tells
-- nothing the public layer does not. Emptied rows (n = 0) stay until the next rebuild, hidden by
-- the public view (open.report_squares) as the cells' and the totals' are.
SET LOCAL ROLE threatmap_app;

CREATE TABLE core.report_squares (
    size_m      integer NOT NULL,         -- the square's side in metres (EPSG:2180)
    sx          integer NOT NULL,         -- its column and row: floor(x / size_m), floor(y / size_m)
    sy          integer NOT NULL,
    -- a lon/lat extent that holds the whole square (its edges segmentized every size_m / 64
    -- before the transform, widened by 1e-5 degrees): a bbox that holds the extent holds every
    -- point of the square, one that misses it misses them all
    west        double precision NOT NULL,
    south       double precision NOT NULL,
    east        double precision NOT NULL,
    north       double precision NOT NULL,
    n           integer NOT NULL,         -- its public reports
    -- by (category, status), ordered so: parallel arrays, as core.report_cells' groups
    categories  text[] NOT NULL,
    statuses    text[] NOT NULL,
    counts      integer[] NOT NULL,
    PRIMARY KEY (size_m, sx, sy)
) WITH (fillfactor = 80);  -- room on each page: a new count of a row stays on its page (HOT)
-- The children of a square of the next size up: one probe for its 16 squares (>> 2 is floor(/ 4)).
CREATE INDEX report_squares_parent ON core.report_squares (size_m, (sx >> 2), (sy >> 2));

-- The first fill, from the public layer as it is (the same as core.report_square_rows in
-- store/sql/29_report_squares.sql, which does not exist yet), in key order.
INSERT INTO core.report_squares (size_m, sx, sy, west, south, east, north, n, categories,
                                 statuses, counts)
SELECT s.size_m, s.sx, s.sy,
       ST_XMin(e) - 1e-5, ST_YMin(e) - 1e-5, ST_XMax(e) + 1e-5, ST_YMax(e) + 1e-5,
       s.n, s.categories, s.statuses, s.counts
FROM (SELECT size_m, sx, sy, sum(k)::integer AS n,
             array_agg(category_id ORDER BY category_id, status) AS categories,
             array_agg(status ORDER BY category_id, status) AS statuses,
             array_agg(k ORDER BY category_id, status) AS counts
      FROM (SELECT z.size_m, floor(ST_X(p.g) / z.size_m)::integer AS sx,
                   floor(ST_Y(p.g) / z.size_m)::integer AS sy, p.category_id, p.status,
                   sum(p.k)::integer AS k
            FROM (SELECT ST_Transform(geom, 2180) AS g, category_id, status, count(*) AS k
                  FROM open.reports GROUP BY geom, category_id, status) AS p
            CROSS JOIN unnest(ARRAY[1000, 4000, 16000, 64000]) AS z (size_m)
            GROUP BY 1, 2, 3, 4, 5) AS groups
      GROUP BY 1, 2, 3) AS s
CROSS JOIN LATERAL ST_Transform(ST_Segmentize(ST_MakeEnvelope(
    s.sx::float8 * s.size_m, s.sy::float8 * s.size_m, (s.sx + 1)::float8 * s.size_m,
    (s.sy + 1)::float8 * s.size_m, 2180), s.size_m / 64.0), 4326) AS e
ORDER BY 1, 2, 3;
ANALYZE core.report_squares;

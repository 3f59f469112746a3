-- Counts kept per coarse square, and by category and status (issue 16, point 4; the table and the
-- privacy reasoning: store/migrations/0021_report_squares.sql): the count of public reports over
-- a big bbox (store/report_squares.py) adds whole squares and splits only those its edges cross.
-- With a date range, a held square counts from its rows per month (core.report_square_months,
-- store/migrations/0024_report_square_months.sql): n for the whole months, the day groups for the
-- months the range's ends cut.
-- Kept by deltas from the totals' statement triggers on open.reports (28_report_totals.sql), in
-- the writer's transaction; rebuilt set-based with the cells and the totals.
SET LOCAL ROLE threatmap_app;

-- The sides of the squares (metres, EPSG:2180), finest first; each divides the next by 4.
-- store/report_squares.py SIZES_M must say the same.
CREATE OR REPLACE FUNCTION core.report_square_sizes() RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ARRAY[1000, 4000, 16000, 64000] $$;

-- A lon/lat extent holding the whole square (see the migration): its edges segmentized every
-- size / 64 metres before the transform, widened by 1e-5 degrees.
CREATE OR REPLACE FUNCTION core.report_square_extent(size_m integer, sx integer, sy integer,
                                                     OUT west float8, OUT south float8,
                                                     OUT east float8, OUT north float8)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ST_XMin(e) - 1e-5, ST_YMin(e) - 1e-5, ST_XMax(e) + 1e-5, ST_YMax(e) + 1e-5
    FROM ST_Transform(ST_Segmentize(ST_MakeEnvelope(
        sx::float8 * size_m, sy::float8 * size_m, (sx + 1)::float8 * size_m,
        (sy + 1)::float8 * size_m, 2180), size_m / 64.0), 4326) AS e
$$;

-- The squares' rows of public reports given as parallel arrays of (point, category, status) and
-- how many reports of each (> 0 came, < 0 left): one row a square of each size, its net count
-- and its (category, status) groups with a net count other than 0. Both the recount and the
-- deltas of the triggers go through it.
CREATE OR REPLACE FUNCTION core.report_square_groups(p_geoms geometry[], p_categories text[],
                                                     p_statuses text[], p_counts integer[])
RETURNS TABLE (size_m integer, sx integer, sy integer, n integer, categories text[],
               statuses text[], counts integer[])
LANGUAGE sql IMMUTABLE AS $$
    SELECT g.size_m, g.sx, g.sy, sum(g.k)::integer,
           array_agg(g.category_id ORDER BY g.category_id, g.status),
           array_agg(g.status ORDER BY g.category_id, g.status),
           array_agg(g.k ORDER BY g.category_id, g.status)
    FROM (SELECT z.size_m, i[1] AS sx, i[2] AS sy, c.category_id, c.status, sum(c.k)::integer AS k
          FROM unnest(p_geoms, p_categories, p_statuses, p_counts) AS c (geom, category_id, status, k)
          CROSS JOIN unnest(core.report_square_sizes()) AS z (size_m)
          CROSS JOIN LATERAL core.cell_index(c.geom, z.size_m) AS i
          GROUP BY 1, 2, 3, 4, 5
          HAVING sum(c.k) <> 0) AS g
    GROUP BY 1, 2, 3
$$;

-- What core.report_squares should hold, computed from open.reports.
CREATE OR REPLACE VIEW core.report_square_rows AS
    SELECT s.size_m, s.sx, s.sy, e.west, e.south, e.east, e.north, s.n, s.categories,
           s.statuses, s.counts
    FROM (SELECT array_agg(geom) AS geoms, array_agg(category_id) AS categories,
                 array_agg(status) AS statuses, array_agg(k) AS counts
          FROM (SELECT geom, category_id, status, count(*)::integer AS k
                FROM open.reports GROUP BY 1, 2, 3) AS p) AS a
    CROSS JOIN LATERAL core.report_square_groups(a.geoms, a.categories, a.statuses, a.counts) AS s
    CROSS JOIN LATERAL core.report_square_extent(s.size_m, s.sx, s.sy) AS e;

-- The public squares: coarser than the public cells (see the migration), emptied rows hidden.
CREATE OR REPLACE VIEW open.report_squares AS
    SELECT size_m, sx, sy, west, south, east, north, n, categories, statuses, counts
    FROM core.report_squares
    WHERE n > 0;
GRANT SELECT ON open.report_squares TO threatmap_public;

-- The group keys a report adds to a square's month row: (category, status, day) in the squares of
-- 1 and 4 km; in the coarser ones (16 and 64 km) (category, status, NULL) and (NULL, NULL, day)
-- instead, so that a row holds at most some dozens of (category, status) groups and 31 days, not
-- their product (a 64 km month held up to 1,488 groups, all re-aggregated by every write's merge).
-- A count with a category or status filter and a month cut by its date range takes a 16 km
-- square's cut months from its 4 km squares and splits a 64 km one (open.report_squares_count).
CREATE OR REPLACE FUNCTION core.report_square_month_keys(size_m integer, category_id text,
                                                         status text, occurred_on date)
RETURNS TABLE (category_id text, status text, occurred_on date)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT category_id, status, occurred_on WHERE size_m < 16000
    UNION ALL
    SELECT category_id, status, NULL WHERE size_m >= 16000
    UNION ALL
    SELECT NULL, NULL, occurred_on WHERE size_m >= 16000
$$;

-- The same by month (core.report_square_months): the rows of public reports given as parallel
-- arrays of (point, category, status, day) and how many of each (> 0 came, < 0 left): one row a
-- square of each size and month, its net count and its (category, status, day) groups with a
-- net count other than 0. The recount and the triggers' deltas go through it.
CREATE OR REPLACE FUNCTION core.report_square_month_groups(p_geoms geometry[], p_categories text[],
                                                           p_statuses text[], p_days date[],
                                                           p_counts integer[])
RETURNS TABLE (size_m integer, sx integer, sy integer, month date, n integer, categories text[],
               statuses text[], days date[], counts integer[])
LANGUAGE sql IMMUTABLE AS $$
    SELECT g.size_m, g.sx, g.sy, g.month,
           coalesce(sum(g.k) FILTER (WHERE g.category_id IS NOT NULL), 0)::integer,
           array_agg(g.category_id ORDER BY g.category_id, g.status, g.occurred_on),
           array_agg(g.status ORDER BY g.category_id, g.status, g.occurred_on),
           array_agg(g.occurred_on ORDER BY g.category_id, g.status, g.occurred_on),
           array_agg(g.k ORDER BY g.category_id, g.status, g.occurred_on)
    FROM (SELECT z.size_m, i[1] AS sx, i[2] AS sy, date_trunc('month', c.occurred_on)::date AS month,
                 x.category_id, x.status, x.occurred_on, sum(c.k)::integer AS k
          FROM unnest(p_geoms, p_categories, p_statuses, p_days, p_counts)
               AS c (geom, category_id, status, occurred_on, k)
          CROSS JOIN unnest(core.report_square_sizes()) AS z (size_m)
          CROSS JOIN LATERAL core.cell_index(c.geom, z.size_m) AS i
          CROSS JOIN LATERAL core.report_square_month_keys(z.size_m, c.category_id, c.status,
                                                           c.occurred_on) AS x
          GROUP BY 1, 2, 3, 4, 5, 6, 7
          HAVING sum(c.k) <> 0) AS g
    GROUP BY 1, 2, 3, 4
$$;

-- What core.report_square_months should hold, computed from open.reports.
CREATE OR REPLACE VIEW core.report_square_month_rows AS
    SELECT s.size_m, s.sx, s.sy, s.month, s.n, s.categories, s.statuses, s.days, s.counts
    FROM (SELECT array_agg(geom) AS geoms, array_agg(category_id) AS categories,
                 array_agg(status) AS statuses, array_agg(occurred_on) AS days,
                 array_agg(k) AS counts
          FROM (SELECT geom, category_id, status, occurred_on, count(*)::integer AS k
                FROM open.reports GROUP BY 1, 2, 3, 4) AS p) AS a
    CROSS JOIN LATERAL core.report_square_month_groups(a.geoms, a.categories, a.statuses, a.days,
                                                       a.counts) AS s;

-- The public months of the squares: coarser than the public cells' (category, status, day)
-- groups (see the migration), emptied rows hidden.
CREATE OR REPLACE VIEW open.report_square_months AS
    SELECT size_m, sx, sy, month, n, categories, statuses, days, counts
    FROM core.report_square_months
    WHERE n > 0;
GRANT SELECT ON open.report_square_months TO threatmap_public;

-- Every square and its months again, set-based: at the end of the rebuild of the public layer
-- (which also drops the emptied rows). In key order, as the migrations' first fills.
CREATE OR REPLACE FUNCTION core.rebuild_report_squares() RETURNS void
LANGUAGE sql AS $$
    DELETE FROM core.report_squares;
    INSERT INTO core.report_squares (size_m, sx, sy, west, south, east, north, n, categories,
                                     statuses, counts)
    SELECT size_m, sx, sy, west, south, east, north, n, categories, statuses, counts
    FROM core.report_square_rows
    ORDER BY 1, 2, 3;
    DELETE FROM core.report_square_months;
    INSERT INTO core.report_square_months (size_m, sx, sy, month, n, categories, statuses, days,
                                           counts)
    SELECT size_m, sx, sy, month, n, categories, statuses, days, counts
    FROM core.report_square_month_rows
    ORDER BY 1, 2, 3, 4;
$$;

-- Adds changed public reports to the squares: parallel arrays of their (point, category,
-- status) and how many reports of each came (> 0) or left (< 0). Upserted in key order, as
-- core.add_to_report_totals does (the same reasoning: no lost change, one lock order); a kept
-- square's groups are merged with the deltas (a group that reaches 0 leaves the arrays); the
-- extent is computed only for a square not kept yet.
CREATE OR REPLACE FUNCTION core.add_to_report_squares(geoms geometry[], categories text[],
                                                      statuses text[], deltas integer[])
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO core.report_squares AS t (size_m, sx, sy, west, south, east, north, n,
                                          categories, statuses, counts)
    SELECT d.size_m, d.sx, d.sy, e.west, e.south, e.east, e.north, d.n, d.categories,
           d.statuses, d.counts
    FROM core.report_square_groups(geoms, categories, statuses, deltas) AS d
    CROSS JOIN LATERAL (
        (SELECT k.west, k.south, k.east, k.north FROM core.report_squares AS k
         WHERE k.size_m = d.size_m AND k.sx = d.sx AND k.sy = d.sy)
        UNION ALL
        (SELECT x.west, x.south, x.east, x.north
         FROM core.report_square_extent(d.size_m, d.sx, d.sy) AS x)
        LIMIT 1) AS e
    ORDER BY 1, 2, 3
    ON CONFLICT (size_m, sx, sy) DO UPDATE
    SET (n, categories, statuses, counts) = (
        SELECT t.n + excluded.n, coalesce(array_agg(m.category_id ORDER BY m.category_id, m.status), '{}'),
               coalesce(array_agg(m.status ORDER BY m.category_id, m.status), '{}'),
               coalesce(array_agg(m.k ORDER BY m.category_id, m.status), '{}')
        FROM (SELECT u.category_id, u.status, sum(u.k)::integer AS k
              FROM (SELECT * FROM unnest(t.categories, t.statuses, t.counts)
                    UNION ALL
                    SELECT * FROM unnest(excluded.categories, excluded.statuses, excluded.counts))
                   AS u (category_id, status, k)
              GROUP BY 1, 2
              HAVING sum(u.k) <> 0) AS m);
END
$$;


-- Adds changed public reports to the squares' months, as core.add_to_report_squares to the
-- squares: parallel arrays of their (point, category, status, day) and how many came (> 0) or
-- left (< 0); upserted in key order; a kept month's groups merged with the deltas (a group
-- that reaches 0 leaves the arrays).
CREATE OR REPLACE FUNCTION core.add_to_report_square_months(geoms geometry[], categories text[],
                                                            statuses text[], days date[],
                                                            deltas integer[])
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO core.report_square_months AS t (size_m, sx, sy, month, n, categories, statuses,
                                                days, counts)
    SELECT d.size_m, d.sx, d.sy, d.month, d.n, d.categories, d.statuses, d.days, d.counts
    FROM core.report_square_month_groups(geoms, categories, statuses, days, deltas) AS d
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (size_m, sx, sy, month) DO UPDATE
    SET (n, categories, statuses, days, counts) = (
        SELECT t.n + excluded.n,
               coalesce(array_agg(m.category_id ORDER BY m.category_id, m.status, m.occurred_on), '{}'),
               coalesce(array_agg(m.status ORDER BY m.category_id, m.status, m.occurred_on), '{}'),
               coalesce(array_agg(m.occurred_on ORDER BY m.category_id, m.status, m.occurred_on), '{}'),
               coalesce(array_agg(m.k ORDER BY m.category_id, m.status, m.occurred_on), '{}')
        FROM (SELECT u.category_id, u.status, u.occurred_on, sum(u.k)::integer AS k
              FROM (SELECT * FROM unnest(t.categories, t.statuses, t.days, t.counts)
                    UNION ALL
                    SELECT * FROM unnest(excluded.categories, excluded.statuses, excluded.days,
                                         excluded.counts))
                   AS u (category_id, status, occurred_on, k)
              GROUP BY 1, 2, 3
              HAVING sum(u.k) <> 0) AS m);
END
$$;

-- The count of public reports within a bbox (and of the given categories and statuses; NULL:
-- any; and of public days from p_from to p_to, both included; NULL: open) from the squares
-- (store/report_squares.py has the reasoning): from the 64 km squares down, a square whose
-- extent lies within the bbox shrunk by `margin` counts whole, one whose extent misses the bbox
-- widened by `margin` is skipped, and one in between is split into its 16 squares of the next
-- size (one probe of report_squares_parent); the finest squares in between are counted from
-- their cells, each cell in its own square only. A cell is in the bbox as the page compares it:
-- `exact_edges` false: `geom && bbox` (GraphQL's public page), true: west <= x <= east and
-- south <= y <= north (OGC's ST_Intersects). With a date range a held square counts from its
-- months (open.report_square_months): n of each month wholly inside the range (unless filtered
-- by category or status), the matching day groups of the months the range's ends cut (the
-- coarse squares keep (category, status) and day groups apart: with a filter and a cut month a
-- 64 km square is split, a 16 km one takes its cut months from its 4 km squares).
-- PL/pgSQL: its statements are planned once a session (planning the same as one statement took
-- 18 ms, more than it runs at 1,000,000 reports). It reads only the public views, with the
-- caller's rights (core is not theirs to read: hence the sizes written out).
DROP FUNCTION IF EXISTS open.report_squares_count(float8, float8, float8, float8, text[], text[],
                                                  boolean, float8);  -- before the date range
CREATE OR REPLACE FUNCTION open.report_squares_count(
    p_west float8, p_south float8, p_east float8, p_north float8, p_categories text[],
    p_statuses text[], p_from date, p_to date, p_exact_edges boolean, p_margin float8)
RETURNS bigint
-- generic plans from the first call: the custom plans of the first five calls (the planner
-- seeing the bbox) took 100-300 ms at 1,000,000 reports, the generic one 13 ms
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    sizes  constant integer[] := ARRAY[1000, 4000, 16000, 64000];  -- core.report_square_sizes()
    ow     constant float8 := p_west - p_margin;
    os     constant float8 := p_south - p_margin;
    oe     constant float8 := p_east + p_margin;
    onn    constant float8 := p_north + p_margin;
    iw     constant float8 := p_west + p_margin;
    isth   constant float8 := p_south + p_margin;
    ie     constant float8 := p_east - p_margin;
    inn    constant float8 := p_north - p_margin;
    filtered constant boolean := p_categories IS NOT NULL OR p_statuses IS NOT NULL;
    dated  constant boolean := p_from IS NOT NULL OR p_to IS NOT NULL;
    day_from constant date := coalesce(p_from, '-infinity'::date);
    day_to   constant date := coalesce(p_to, 'infinity'::date);
    -- the months to read, and those wholly inside the range: [whole_from, whole_to)
    first_month constant date := CASE WHEN p_from IS NULL THEN '-infinity'::date
                                      ELSE date_trunc('month', p_from)::date END;
    last_month  constant date := CASE WHEN p_to IS NULL THEN 'infinity'::date
                                      ELSE date_trunc('month', p_to)::date END;
    whole_from  constant date := CASE WHEN p_from IS NULL THEN '-infinity'::date
                                      ELSE (date_trunc('month', p_from - 1) + interval '1 month')::date END;
    whole_to    constant date := CASE WHEN p_to IS NULL THEN 'infinity'::date
                                      ELSE date_trunc('month', p_to + 1)::date END;
    -- a category or status filter and a month cut by the range: the coarse squares (16, 64 km)
    -- keep no (category, status, day) groups (core.report_square_month_keys): a 64 km square is
    -- split, a 16 km one takes its cut months from its 4 km squares
    coarse_split constant boolean := filtered AND dated
                                     AND (first_month < whole_from OR (p_to IS NOT NULL AND last_month >= whole_to));
    total  bigint := 0;
    part   bigint;
    xs     integer[];
    ys     integer[];
    wests  float8[];
    souths float8[];
    easts  float8[];
    norths float8[];
    strip_w float8;  -- the strips holding the cells of the finest squares left
    strip_e float8;
    strip_s float8;
    strip_n float8;
    edge_squares jsonb;  -- their keys ('sx sy')
BEGIN
    -- the parents of the coarsest squares near the bbox (as if a level above them), so that
    -- every level is the same statement: the children of the squares split above
    SELECT array_agg(p.sx), array_agg(p.sy) INTO xs, ys
    FROM (SELECT DISTINCT q.sx >> 2 AS sx, q.sy >> 2 AS sy
          FROM open.report_squares AS q
          WHERE q.size_m = sizes[cardinality(sizes)]
            AND q.east >= ow AND q.west <= oe AND q.north >= os AND q.south <= onn) AS p;
    -- a square's value is computed only for a held one (CASE WHEN t.held)
    FOR level IN REVERSE cardinality(sizes) .. 1 LOOP
        EXIT WHEN xs IS NULL;
        SELECT coalesce(sum(CASE WHEN t.held THEN t.value END), 0),
               array_agg(t.sx) FILTER (WHERE NOT t.held), array_agg(t.sy) FILTER (WHERE NOT t.held),
               array_agg(t.west) FILTER (WHERE NOT t.held), array_agg(t.south) FILTER (WHERE NOT t.held),
               array_agg(t.east) FILTER (WHERE NOT t.held), array_agg(t.north) FILTER (WHERE NOT t.held)
        INTO part, xs, ys, wests, souths, easts, norths
        FROM (SELECT q.sx, q.sy, q.west, q.south, q.east, q.north,
                     q.west >= iw AND q.east <= ie AND q.south >= isth AND q.north <= inn
                     AND NOT (coarse_split AND q.size_m > 16000) AS held,
                     CASE WHEN dated THEN coalesce((
                              SELECT sum(CASE WHEN NOT filtered AND m.month >= whole_from
                                                   AND m.month < whole_to THEN m.n
                                              -- a whole month: the (category, status) groups (no
                                              -- day in the coarse squares'); a cut one: the days
                                              WHEN m.month >= whole_from AND m.month < whole_to THEN (
                                                    SELECT sum(g.k)
                                                    FROM unnest(m.categories, m.statuses, m.days, m.counts)
                                                         AS g (category_id, status, occurred_on, k)
                                                    WHERE (p_categories IS NULL OR g.category_id = ANY(p_categories))
                                                      AND (p_statuses IS NULL OR g.status = ANY(p_statuses))
                                                      AND (g.occurred_on IS NULL OR m.size_m < 16000))
                                              ELSE (SELECT sum(g.k)
                                                    FROM unnest(m.categories, m.statuses, m.days, m.counts)
                                                         AS g (category_id, status, occurred_on, k)
                                                    WHERE (p_categories IS NULL OR g.category_id = ANY(p_categories))
                                                      AND (p_statuses IS NULL OR g.status = ANY(p_statuses))
                                                      AND g.occurred_on BETWEEN day_from AND day_to) END)
                              FROM open.report_square_months AS m
                              WHERE m.size_m = q.size_m AND m.sx = q.sx AND m.sy = q.sy
                                AND m.month BETWEEN first_month AND last_month), 0)
                          -- a 16 km square's cut months by filter: from its 16 squares of 4 km
                          -- (four probes of the key, one a column); a 64 km one was split
                          + CASE WHEN coarse_split AND q.size_m = 16000 THEN coalesce((
                              SELECT sum((SELECT sum(g.k)
                                          FROM unnest(c.categories, c.statuses, c.days, c.counts)
                                               AS g (category_id, status, occurred_on, k)
                                          WHERE (p_categories IS NULL OR g.category_id = ANY(p_categories))
                                            AND (p_statuses IS NULL OR g.status = ANY(p_statuses))
                                            AND g.occurred_on BETWEEN day_from AND day_to))
                              FROM open.report_square_months AS c
                              WHERE c.size_m = sizes[level - 1]
                                AND c.sx = ANY(ARRAY[q.sx * 4, q.sx * 4 + 1, q.sx * 4 + 2, q.sx * 4 + 3])
                                AND c.sy BETWEEN q.sy * 4 AND q.sy * 4 + 3
                                AND ((c.month = first_month AND first_month < whole_from)
                                     OR (c.month = last_month AND last_month >= whole_to))), 0)
                                 ELSE 0 END
                          WHEN NOT filtered THEN q.n
                          ELSE (SELECT sum(g.k) FROM unnest(q.categories, q.statuses, q.counts)
                                                     AS g (category_id, status, k)
                                WHERE (p_categories IS NULL OR g.category_id = ANY(p_categories))
                                  AND (p_statuses IS NULL OR g.status = ANY(p_statuses))) END AS value
              FROM unnest(xs, ys) AS p (sx, sy)
              JOIN open.report_squares AS q
                ON q.size_m = sizes[level] AND q.sx >> 2 = p.sx AND q.sy >> 2 = p.sy
              WHERE q.east >= ow AND q.west <= oe AND q.north >= os AND q.south <= onn
                AND (p_categories IS NULL OR q.categories && p_categories)
                AND (p_statuses IS NULL OR q.statuses && p_statuses)) AS t;
        total := total + part;
    END LOOP;
    IF xs IS NULL OR wests IS NULL THEN
        RETURN total;
    END IF;
    -- The cells of the finest squares left, in one index pass (before: one probe of the cells'
    -- index a square, 46 ms of a dated Masovia-sized count at 1,000,000 reports): a square left is
    -- not within the shrunk bbox, so it reaches past one of its sides; a strip per side, from the
    -- bbox's edge to the farthest far side of those squares, holds all their cells (a BitmapOr of
    -- at most four GiST scans; a NULL strip matches nothing). The squares' keys as a jsonb
    -- object keep only their cells, each in its own square: a lookup a cell whatever the plan (a
    -- join on unnest(xs, ys), estimated at 10 rows by the generic plan, became a nested loop).
    SELECT max(s.east) FILTER (WHERE s.west < iw), min(s.west) FILTER (WHERE s.east > ie),
           max(s.north) FILTER (WHERE s.south < isth), min(s.south) FILTER (WHERE s.north > inn),
           jsonb_object_agg(s.sx || ' ' || s.sy, 1)
    INTO strip_w, strip_e, strip_s, strip_n, edge_squares
    FROM unnest(xs, ys, wests, souths, easts, norths) AS s (sx, sy, west, south, east, north);
    SELECT coalesce(sum(CASE WHEN NOT filtered AND NOT dated THEN c.n
                             ELSE (SELECT sum(g.k) FROM unnest(c.categories, c.statuses, c.days, c.counts)
                                                        AS g (category_id, status, occurred_on, k)
                                   WHERE (p_categories IS NULL OR g.category_id = ANY(p_categories))
                                     AND (p_statuses IS NULL OR g.status = ANY(p_statuses))
                                     AND g.occurred_on BETWEEN day_from AND day_to) END), 0)
    INTO part
    -- each cell projected once (OFFSET 0: not inlined into both ST_X and ST_Y)
    FROM (SELECT c.n, c.categories, c.statuses, c.days, c.counts, ST_Transform(c.geom, 2180) AS xy
          FROM open.report_cells AS c
          WHERE (c.geom && ST_MakeEnvelope(p_west, p_south, strip_w, p_north, 4326)
                 OR c.geom && ST_MakeEnvelope(strip_e, p_south, p_east, p_north, 4326)
                 OR c.geom && ST_MakeEnvelope(p_west, p_south, p_east, strip_s, 4326)
                 OR c.geom && ST_MakeEnvelope(p_west, strip_n, p_east, p_north, 4326))
            AND c.geom && ST_MakeEnvelope(p_west, p_south, p_east, p_north, 4326)
            AND (NOT p_exact_edges OR (ST_X(c.geom) BETWEEN p_west AND p_east
                                       AND ST_Y(c.geom) BETWEEN p_south AND p_north))
            AND (p_categories IS NULL OR c.categories && p_categories)
            AND (p_statuses IS NULL OR c.statuses && p_statuses)
            AND c.last_day >= day_from
          OFFSET 0) AS c
    WHERE edge_squares ? (floor(ST_X(c.xy) / sizes[1])::integer || ' '
                          || floor(ST_Y(c.xy) / sizes[1])::integer);
    RETURN total + part;
END
$$;

-- Totals kept per area, category, status and period (issue 16, point 4): the number of public
-- reports of all of Poland ('PL'), of each voivodeship and of each county, by category, status
-- and day, and again by month and by year. A count without a bbox (or with one around every
-- public point) reads, for one area, the rows of the whole years in its date range, of the
-- whole months left at its ends and of the days left at their ends (a row per category and
-- status each): its cost no longer grows with the reports, as the sum over every cell of
-- core.report_cells (0016) did for all of Poland. A report counts once under each of its
-- distinct areas, so the rows of area X are the reports whose county or voivodeship is X: the
-- public filter `area` exactly.
-- Kept in the writer's transaction by statement triggers on open.reports (deltas from the
-- transition tables) and rebuilt set-based with the cells (store/sql/28_report_totals.sql).
--
-- Privacy: a total per area, category, status and day is a count of public columns of
-- open.reports (county, voivodeship, category, status, public day), which anyone can already
-- count there row by row (and per public point from open.report_cells): it tells nothing the
-- public layer does not. The statistics door (open.area_statistics) is coarser (month) and hides
-- counts below k because it is the only aggregate of areas without the rows; here the rows are
-- public anyway, so the totals are not suppressed, and they must not be: the count is exact.
-- Emptied rows (n = 0: a group whose reports all left the layer) stay until the next rebuild and
-- the public view (open.report_totals) hides them: a zero row would tell that a report was there.
SET LOCAL ROLE threatmap_app;

CREATE TABLE core.report_totals (
    area_code    text NOT NULL,          -- 'PL' for all of Poland, else a county or voivodeship
    period       text NOT NULL CHECK (period IN ('day', 'month', 'year')),
    period_start date NOT NULL,          -- the day, or the first day of the month or year
    category_id  text NOT NULL,
    status       text NOT NULL,
    n            integer NOT NULL,
    PRIMARY KEY (area_code, period, period_start, category_id, status)
) WITH (fillfactor = 80);  -- room on each page: a new count of a row stays on its page (HOT)

-- The first fill, from the public layer as it is (the same aggregate as
-- core.report_total_rows in store/sql/28_report_totals.sql, which does not exist yet), in key
-- order: the rows a count reads (one area and period) then sit on few pages.
INSERT INTO core.report_totals (area_code, period, period_start, category_id, status, n)
SELECT a.area_code, p.period, p.period_start, r.category_id, r.status, count(*)::integer
FROM open.reports AS r
CROSS JOIN LATERAL (SELECT DISTINCT code FROM unnest(ARRAY['PL', r.county_code,
                                                           r.voivodeship_code]) AS code
                    WHERE code IS NOT NULL) AS a (area_code)
CROSS JOIN LATERAL (VALUES ('day', r.occurred_on),
                           ('month', date_trunc('month', r.occurred_on)::date),
                           ('year', date_trunc('year', r.occurred_on)::date)) AS p (period, period_start)
GROUP BY 1, 2, 3, 4, 5
ORDER BY 1, 2, 3, 4, 5;
ANALYZE core.report_totals;

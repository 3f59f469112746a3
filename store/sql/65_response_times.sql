-- How fast the police react (issue 13, point 4): per responsible police unit and month of
-- submission, the median and 90th percentile of the hours from submission to an officer first
-- opening the report (read) and to the first verdict (verified), and the share within the
-- deadlines (core.workflow_deadlines, from config/statuses.yml). KMZB: read within 2 days,
-- verified within 5.
--
-- Privacy reasoning:
-- - Only months that have ended (in the policy's time zone) are shown: a count of the running
--   month would grow the moment a report is submitted, dating it to the minute whatever the
--   publication delay says. A finished month's counts tell no more than the month.
-- - Every figure needs at least k reports behind it (the policy's k, like every aggregate): the
--   counts, and each median and percentile with its own count (reports read, reports verified).
-- - Reports marked abusive are left out; reports not yet public count (the police's work on them
--   is what is measured), which tells only that a unit had at least k reports that month.
-- - The unit is the responsible unit (assigned from the exact point), but only as a total over
--   at least k reports and a whole month, never of one report.
SET LOCAL ROLE threatmap_app;

CREATE OR REPLACE VIEW open.response_times AS
WITH policy AS (
    SELECT p.k, p.timezone, d.read_within, d.verify_within,
           date_trunc('month', now() AT TIME ZONE p.timezone)::date AS this_month
    FROM core.privacy_policy AS p CROSS JOIN core.workflow_deadlines AS d
    LIMIT 1   -- both are single rows: saying so keeps the planner's estimates (and JIT) sane
), timed AS (
    SELECT r.police_unit_id,
           date_trunc('month', r.created_at AT TIME ZONE policy.timezone)::date AS month,
           extract(epoch FROM r.read_at - r.created_at) / 3600 AS read_hours,
           extract(epoch FROM r.verified_at - r.created_at) / 3600 AS verify_hours,
           r.read_at <= r.created_at + policy.read_within AS read_in_time,
           r.verified_at <= r.created_at + policy.verify_within AS verified_in_time
    FROM core.reports AS r CROSS JOIN policy
    WHERE r.police_unit_id IS NOT NULL AND NOT r.abusive
      AND r.created_at < (policy.this_month::timestamp AT TIME ZONE policy.timezone)
), grouped AS (
    SELECT police_unit_id, month, count(*) AS reports,
           count(read_hours) AS read, count(verify_hours) AS verified,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY read_hours) AS read_median,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY read_hours) AS read_p90,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY verify_hours) AS verify_median,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY verify_hours) AS verify_p90,
           count(*) FILTER (WHERE read_in_time) AS read_in_time,
           count(*) FILTER (WHERE verified_in_time) AS verified_in_time
    FROM timed
    GROUP BY police_unit_id, month
)
SELECT g.police_unit_id, g.month, g.reports,
       CASE WHEN g.read >= policy.k THEN g.read END AS read,
       CASE WHEN g.read >= policy.k THEN round(g.read_median::numeric, 1) END AS read_median_hours,
       CASE WHEN g.read >= policy.k THEN round(g.read_p90::numeric, 1) END AS read_p90_hours,
       CASE WHEN g.read >= policy.k
            THEN round(100.0 * g.read_in_time / g.reports, 1) END AS read_in_time_percent,
       CASE WHEN g.verified >= policy.k THEN g.verified END AS verified,
       CASE WHEN g.verified >= policy.k THEN round(g.verify_median::numeric, 1) END AS verify_median_hours,
       CASE WHEN g.verified >= policy.k THEN round(g.verify_p90::numeric, 1) END AS verify_p90_hours,
       CASE WHEN g.verified >= policy.k
            THEN round(100.0 * g.verified_in_time / g.reports, 1) END AS verified_in_time_percent
FROM grouped AS g CROSS JOIN policy
WHERE g.reports >= policy.k;
GRANT SELECT ON open.response_times TO threatmap_public;

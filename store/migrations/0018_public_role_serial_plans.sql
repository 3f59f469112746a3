-- The public doors' statements run without parallel workers (issue 16, point 5). At 5,000,000
-- reports PostgreSQL starts planning a small viewport's OGC page (a city centre at zoom 15, a few
-- thousand matches) as a parallel bitmap heap scan under Gather Merge; starting the worker costs
-- more than the scan, and under many clients the workers compete for the same cores as the
-- doors: on the 5M benchmark database, 8 clients on the six small viewports of the ogc suite
-- (pgbench, the page statement as the public role) did 78 pages/s with parallel plans and
-- 262-282 with none (bench/RESULTS.md, "Serial plans for the public role"). The doors read pages,
-- tiles and counts kept per cell; a big count that a parallel scan would speed up is answered
-- from core.report_cells or by the planner's estimate. Role settings are cluster-wide like the role
-- (0001), so this needs the migrating user to be allowed to alter roles; where it is not (an owner
-- without CREATEROLE), the database keeps working with parallel plans and says so.
DO $$
BEGIN
    IF (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
        ALTER ROLE threatmap_public SET max_parallel_workers_per_gather = 0;
    ELSE
        RAISE NOTICE 'threatmap_public keeps parallel plans: % may not alter roles; run '
                     '"ALTER ROLE threatmap_public SET max_parallel_workers_per_gather = 0" as a '
                     'superuser', current_user;
    END IF;
END
$$;

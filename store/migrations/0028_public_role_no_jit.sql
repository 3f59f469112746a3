-- The public doors' statements run without JIT compilation (issue 16, point 5). PostgreSQL
-- compiles a statement whose estimated cost passes jit_above_cost (100,000), and inlines and
-- optimises past 500,000: the OGC page of a city box at limit 1000 (ids of open.reports in id
-- order with the box as a filter, estimated 280,000-860,000) spent 100-300 ms compiling (one
-- EXPLAIN: 293 ms of JIT in 3.5 s) for a statement that runs in 20-40 ms at 1,000,000 reports
-- without it, 100-200 ms at 5,000,000 (bench/RESULTS.md, "The OGC small viewport in point
-- order"). The doors read pages, tiles and kept counts under a 5 s statement timeout: nothing
-- they run is long enough to pay for a compilation. As for 0018, role settings are cluster-wide
-- like the role, so this needs the migrating user to be allowed to alter roles; where it is not,
-- the database keeps working with JIT and says so.
DO $$
BEGIN
    IF (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
        ALTER ROLE threatmap_public SET jit = off;
    ELSE
        RAISE NOTICE 'threatmap_public keeps JIT compilation: % may not alter roles; run '
                     '"ALTER ROLE threatmap_public SET jit = off" as a superuser', current_user;
    END IF;
END
$$;

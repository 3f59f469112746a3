-- The public role reads `open` and nothing more (issue 10, point 7). Its sessions are read-only
-- by default (0001), but a caller can `BEGIN READ WRITE`, and PostgreSQL grants every role, through
-- PUBLIC, TEMPORARY on each database (temporary tables, and functions in pg_temp) and, before
-- PostgreSQL 15, CREATE on the schema public. Neither is needed by the public doors; both are
-- taken from PUBLIC. TEMPORARY is given back to the application role, which stages imports in
-- temporary tables (store/areas.py) and is what tipg connects as in the benchmarks (it creates
-- its catalogue functions in pg_temp), and to the migrating role (with DATABASE_URL, the role
-- the application runs as).
-- The database name varies (managed `threatmap`, the tests' `threatmap_test`, DATABASE_URL's).
DO $$ BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO threatmap_app, %I', current_database(),
                   current_user);
    -- CONNECT stays for PUBLIC as PostgreSQL sets it (0001 grants it to both roles explicitly).
END $$;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
-- Nothing of ours lives in `public` but the migration ledger and PostGIS; the public role keeps
-- USAGE there (PostGIS types and functions), never CREATE.
REVOKE ALL ON SCHEMA core FROM threatmap_public;
REVOKE CREATE ON SCHEMA open FROM threatmap_public;

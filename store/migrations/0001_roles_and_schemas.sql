-- Run by the migrating (super)user: extensions, the two roles, the two schemas.
-- Roles are cluster-wide, so they are created only when missing.
CREATE EXTENSION IF NOT EXISTS postgis;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'threatmap_app') THEN
        CREATE ROLE threatmap_app LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'threatmap_public') THEN
        CREATE ROLE threatmap_public LOGIN NOINHERIT;
    END IF;
END
$$;

-- The public doors never write and never run long.
ALTER ROLE threatmap_public SET default_transaction_read_only = on;
ALTER ROLE threatmap_public SET statement_timeout = '5s';

CREATE SCHEMA core AUTHORIZATION threatmap_app;
CREATE SCHEMA open AUTHORIZATION threatmap_app;
REVOKE ALL ON SCHEMA core FROM PUBLIC;

DO $$ BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO threatmap_app, threatmap_public', current_database());
END $$;
GRANT SELECT ON public.threatmap_migrations TO threatmap_app;
GRANT USAGE ON SCHEMA open TO threatmap_public;
ALTER DEFAULT PRIVILEGES FOR ROLE threatmap_app IN SCHEMA open
    GRANT SELECT ON TABLES TO threatmap_public;

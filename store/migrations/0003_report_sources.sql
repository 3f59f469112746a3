-- The sources a report may come from, written once (issue 9, 4): core.report_sources() is read
-- by the reports' CHECK and by the application (store/reference.py), which validates a `source`
-- filter with it. A migration, not store/sql: the CHECK needs the function while migrations run.
SET LOCAL ROLE threatmap_app;

CREATE OR REPLACE FUNCTION core.report_sources() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['citizen', 'local_government', 'ngo', 'police_system', 'partner_platform']
$$;
COMMENT ON FUNCTION core.report_sources() IS 'The sources a report may come from (pillar 2 and 3).';

ALTER TABLE core.reports DROP CONSTRAINT reports_source_check,
    ADD CONSTRAINT reports_source_check CHECK (source = ANY (core.report_sources()));

-- Retention: a reporter's contact is kept only as long as the policy says after the report
-- is closed.
SET LOCAL ROLE threatmap_app;

-- Erases contacts of reports closed longer than the retention period, recording each erasure.
CREATE OR REPLACE FUNCTION core.purge_contacts() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    erased bigint;
BEGIN
    WITH purged AS (
        UPDATE core.reports SET contact = NULL, contact_erased_at = now()
        WHERE contact IS NOT NULL
          AND closed_at < now() - (SELECT contact_retention FROM core.privacy_policy)
        RETURNING id
    )
    INSERT INTO core.report_events (report_id, kind, actor, comment)
    SELECT id, 'contact_erased', 'system:retention', 'contact erased after the retention period'
    FROM purged;
    GET DIAGNOSTICS erased = ROW_COUNT;
    RETURN erased;
END
$$;

-- Retention: a reporter's contact is kept only as long as the policy says after the report
-- is closed.
SET LOCAL ROLE threatmap_app;

-- Whether a report closed at `closed_at` is past the retention period: its contact and its
-- photos (store/sql/80_photos.sql) are then erased. The one definition of the rule.
CREATE OR REPLACE FUNCTION core.retention_ended(closed_at timestamptz) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT closed_at < now() - (SELECT contact_retention FROM core.privacy_policy)
$$;

-- Erases contacts of reports closed longer than the retention period, recording each erasure.
CREATE OR REPLACE FUNCTION core.purge_contacts() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    erased bigint;
BEGIN
    WITH purged AS (
        UPDATE core.reports SET contact = NULL, contact_erased_at = now()
        WHERE contact IS NOT NULL
          AND core.retention_ended(closed_at)
        RETURNING id
    )
    INSERT INTO core.report_events (report_id, kind, actor, comment)
    SELECT id, 'contact_erased', 'system:retention', 'contact erased after the retention period'
    FROM purged;
    GET DIAGNOSTICS erased = ROW_COUNT;
    RETURN erased;
END
$$;

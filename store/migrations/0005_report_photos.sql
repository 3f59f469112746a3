-- Citizens' photos (issue 12, point 5). The bytes live in the photo storage (files under the data
-- folder, or S3: photos/storage.py); a row here names them by their storage key. Private: schema
-- core, never granted to the public role, never in `open`. Erased with the contact when the
-- retention period ends (store/sql/80_photos.sql), which the audit trail records as
-- `photos_erased`.
SET LOCAL ROLE threatmap_app;

CREATE TABLE core.report_photos (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    report_id   uuid NOT NULL REFERENCES core.reports ON DELETE CASCADE,
    position    smallint NOT NULL CHECK (position BETWEEN 0 AND 99),
    storage_key text NOT NULL UNIQUE CHECK (storage_key ~ '^[0-9a-f]{32}\.(jpg|png|webp)$'),
    media_type  text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png', 'image/webp')),
    byte_size   integer NOT NULL CHECK (byte_size > 0),
    width       integer NOT NULL CHECK (width > 0),
    height      integer NOT NULL CHECK (height > 0),
    sha256      bytea NOT NULL CHECK (length(sha256) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (report_id, position)
);
COMMENT ON TABLE core.report_photos IS
    'Photos sent with a report, re-encoded without metadata; private (officers only).';

ALTER TABLE core.report_events DROP CONSTRAINT report_events_kind_check,
    ADD CONSTRAINT report_events_kind_check CHECK (kind IN (
        'created', 'status_changed', 'assigned', 'information_added', 'marked_abusive',
        'contact_erased', 'photos_erased'));
